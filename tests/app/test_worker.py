"""The in-process worker leaves its command channel at once when it stops, however long its listener polls.

A burst run of RQ's own worker took 60 s now and then on a busy machine (the e-mail tests in CI): redis-py 8.2
waits for the listener thread in `stop()`, and a listener that had read the unsubscription before its flag was
lowered waited a whole poll for a subscription that never came."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from rq import Queue

from app.extensions import get_redis
from app.worker import InProcessWorker


def subscribed(app: Flask, poll: float) -> InProcessWorker:
    with app.app_context():
        connection = get_redis()
    worker = InProcessWorker([Queue("notify", connection=connection)], connection=connection)
    worker.COMMAND_POLL_SECONDS = poll
    worker.subscribe()
    deadline = time.monotonic() + 5
    while not worker.pubsub.subscribed and time.monotonic() < deadline:  # type: ignore[union-attr]
        time.sleep(0.01)
    return worker


def test_stopping_does_not_wait_for_the_listeners_poll(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unsubscription is slow to return (a busy machine: the listener runs first and reads its reply),
    and the listener polls every 30 s: the worker still leaves at once."""
    worker = subscribed(app, poll=30)
    pubsub: Any = worker.pubsub
    send = pubsub.unsubscribe

    def slowly(*args: Any) -> Any:
        sent = send(*args)
        time.sleep(0.5)  # the listener reads the reply meanwhile
        return sent

    monkeypatch.setattr(pubsub, "unsubscribe", slowly)
    started = time.monotonic()
    worker.unsubscribe()
    assert time.monotonic() - started < 5
    assert not worker.pubsub_thread.is_alive()  # type: ignore[union-attr]


def test_a_burst_run_returns_promptly(app: Flask) -> None:
    with app.app_context():
        queue = Queue("notify", connection=get_redis())
        started = time.monotonic()
        assert InProcessWorker([queue], connection=queue.connection).work(burst=True) is False  # nothing to do
    assert time.monotonic() - started < 5
