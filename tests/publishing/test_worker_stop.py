"""A release worker stops promptly (a deploy's SIGTERM, every burst run of the tests).

RQ listens on its command channel with redis-py's `run_in_thread(sleep_time=60)`; once the worker has
unsubscribed, that thread waits up to `sleep_time` for a subscription before it sees it was asked to stop,
and RQ joins it on teardown. Seen as a burst worker taking 60 s to return under load.
"""

from __future__ import annotations

import time

from flask import Flask

from publishing.worker import ReleaseWorker


def test_a_worker_leaves_its_command_channel_within_seconds(app: Flask) -> None:
    worker = ReleaseWorker(app)
    worker.subscribe()
    deadline = time.monotonic() + 5
    while not worker.pubsub.subscribed and time.monotonic() < deadline:  # type: ignore[union-attr]
        time.sleep(0.01)
    # the unsubscription is read by the listener thread first, as happens when teardown is slow to join
    worker.pubsub.unsubscribe()  # type: ignore[union-attr]
    time.sleep(0.5)
    started = time.monotonic()
    worker.unsubscribe()
    assert time.monotonic() - started < 3
