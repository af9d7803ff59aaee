"""The release worker: RQ on urgent > high > normal > low, the app loaded once, the sweeper in its loop."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from rq import Queue
from rq.job import Job

from app import periodic
from app.extensions import db, get_redis
from app.notifications import outgoing
from app.worker import InProcessWorker
from publishing.queues import JOB_TIMEOUT, QUEUE_NAMES

log = logging.getLogger(__name__)


class ReleaseWorker(InProcessWorker):
    """Runs jobs in-process (no fork per job) inside the preloaded app's context.

    Every ~30 s, and at start, the sweeper re-enqueues deliveries whose job RQ lost: the outbox rows,
    not the queues, are the truth.
    """

    def __init__(self, app: Flask, **kwargs: Any) -> None:
        self.app = app
        with app.app_context():
            connection = get_redis()
        interval = int(app.config["SWEEP_INTERVAL_SECONDS"])
        # the release queues first, then notification copies (e-mail, webhook): a statement never waits on mail
        queues = [Queue(name, connection=connection, default_timeout=JOB_TIMEOUT)
                  for name in (*QUEUE_NAMES, outgoing.QUEUE_NAME)]
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
        """Every periodic step the packages declared (app.periodic: outbox, read-back, case clocks,
        notification copies, reports), each on its own, so one failing (the database or Redis briefly
        away) never stops the others; the next round tries again."""
        found = 0
        for name, step in periodic.steps(self.app):
            with self.app.app_context():
                try:
                    found += step() or 0
                except Exception:
                    log.exception("%s sweep failed", name)
                finally:
                    db.session.remove()
        return found


def run_worker(app: Flask, *, burst: bool = False) -> bool:
    """`huiying worker [--burst]`: sweep once, then work with the scheduler until stopped (or empty)."""
    worker = ReleaseWorker(app)
    worker.sweep()
    return worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
