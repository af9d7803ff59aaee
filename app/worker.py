"""The RQ worker every queue of Huiying is worked by: jobs run in this process, and stopping never waits.

RQ listens on its command channel (shutdown, stop a job) with redis-py's listener thread, and on teardown
unsubscribes, then stops that thread. redis-py 8.2's `stop()` waits for the thread to end; RQ stops it after
sending the unsubscription, so a thread that read the reply first finds itself subscribed to nothing and waits
for a subscription, the whole poll (RQ's is 60 s), before it looks at its flag: a burst run, a drain in every
test, a deploy's SIGTERM, took a minute now and then on a busy machine.
"""

from __future__ import annotations

from rq import SimpleWorker


class InProcessWorker(SimpleWorker):
    """RQ's in-process worker (no fork per job), leaving its command channel at once."""

    #: How long the listener waits for a command per round: it also bounds a stop when something other than
    #: `unsubscribe` below ended the subscription (a lost connection, a test).
    COMMAND_POLL_SECONDS = 1.0

    def subscribe(self) -> None:
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        # RQ sets the attribute to None unannotated, so mypy takes None for its type; RQ's own subscribe assigns this
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=self.COMMAND_POLL_SECONDS, daemon=True, exception_handler=self._pubsub_exception_handler)

    def unsubscribe(self) -> None:
        """The listener's flag first, then the unsubscription: its reply wakes the listener, which then ends."""
        thread = self.pubsub_thread
        if thread is None or self.pubsub is None:
            return
        thread.stop(timeout=0)  # only lowers the flag: the thread is still reading
        self.pubsub.unsubscribe()
        thread.join(timeout=self.COMMAND_POLL_SECONDS + 1)
        self.pubsub.close()
