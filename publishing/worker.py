"""The release worker: RQ on urgent > high > normal > low, the app loaded once, the sweeper in its loop."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from rq import Queue, SimpleWorker
from rq.job import Job

from app.extensions import db, get_redis
from publishing import outbox
from publishing.queues import JOB_TIMEOUT, QUEUE_NAMES

log = logging.getLogger(__name__)



class ReleaseWorker(SimpleWorker):
    """Runs jobs in-process (no fork per job) inside the preloaded app's context.

    Every ~30 s, and at start, the sweeper re-enqueues deliveries whose job RQ lost: the outbox rows,
    not the queues, are the truth.
    """

    def __init__(self, app: Flask, **kwargs: Any) -> None:
        self.app = app
        with app.app_context():
            connection = get_redis()
        interval = int(app.config["SWEEP_INTERVAL_SECONDS"])
        queues = [Queue(name, connection=connection, default_timeout=JOB_TIMEOUT) for name in QUEUE_NAMES]
        # dequeue blocks for worker_ttl - 15 s, so maintenance (and the sweep) runs every `interval` s
        super().__init__(queues, connection=connection, maintenance_interval=interval,
                         worker_ttl=interval + 15, **kwargs)

    def execute_job(self, job: Job, queue: Queue) -> None:
        with self.app.app_context():
            try:
                super().execute_job(job, queue)
            finally:
                db.session.remove()

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        self.sweep()

    def sweep(self) -> int:
        with self.app.app_context():
            try:
                return outbox.sweep()
            except Exception:  # the database or Redis may be briefly away: the next sweep tries again
                log.exception("sweep failed")
                return 0
            finally:
                db.session.remove()


def run_worker(app: Flask, *, burst: bool = False) -> bool:
    """`huiying worker [--burst]`: sweep once, then work with the scheduler until stopped (or empty)."""
    worker = ReleaseWorker(app)
    worker.sweep()
    return worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
