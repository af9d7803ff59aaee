"""Database commits per delivery: how many transactions a worker commits to put one statement out on one channel.

Approvals go through the API (so the release step runs as in production); the real `ReleaseWorker` class works
the queues in this process (burst mode, as tests/publishing/helpers.drain does); the WeChat channel talks to the
built-in sandbox served on a loopback port by the same app. An SQLAlchemy `commit` event on every engine counts
each COMMIT the database receives, attributed to the job (or callback) that ran it, and split into commits of
transactions that wrote something and commits that only ended a read.

    .venv/bin/python -m bench.commits [--backend sqlite|postgresql|both] [--count N]

Prints per channel: jobs per delivery, SQL statements per delivery (SELECT/INSERT/UPDATE/DELETE), write commits
per delivery (by the step that committed them), read-only commits per delivery. Asserts nothing.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# first: points HUIYING_INSTANCE at a temporary folder (isort keeps plain imports before from-imports)
import bench.common as common
from tests.live import serving  # the app on a loopback port (the sandbox and the callback), as the tests use it

UNIT = "CMT"
CAST = {"drafter": 1, "expert": 1, "leader": 1}
MIXES = {"portal": ["portal"], "wechat": ["wechat"], "portal+wechat": ["portal", "wechat"]}
WRITES = ("INSERT", "UPDATE", "DELETE")


class Counts:
    """Commits seen by the engine, attributed to the label the current thread runs under."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.lock = threading.Lock()
        #: (label, delivery id) → Counter of "write"/"read" commits and of the step names that wrote
        self.by: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
        self.jobs: Counter[int] = Counter()

    @contextmanager
    def labelled(self, label: str, delivery_id: int) -> Iterator[None]:
        saved = getattr(self.local, "label", None)
        self.local.label = (label, delivery_id)
        try:
            yield
        finally:
            self.local.label = saved

    def step(self, name: str) -> None:
        """The outbox function now running (the commit that follows is counted under its name)."""
        self.local.step = name

    def on_execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        label = getattr(self.local, "label", None)
        if label is not None and statement.lstrip().upper().startswith(("SELECT", *WRITES)):
            with self.lock:
                self.by[label]["statements"] += 1
        if statement.lstrip().upper().startswith(WRITES):
            conn.info["bench_wrote"] = True
            if "INTO renderings" in statement:  # a body's rendering cached on first use (review/render)
                conn.info["bench_step"] = "renderings cache"

    def on_commit(self, conn: Any) -> None:
        label = getattr(self.local, "label", None)
        wrote = conn.info.pop("bench_wrote", False)
        step = conn.info.pop("bench_step", None) or getattr(self.local, "step", "?")
        if label is None:
            return
        with self.lock:
            counter = self.by[label]
            counter["write" if wrote else "read"] += 1
            if wrote:
                counter[f"step:{step}"] += 1

    def on_rollback(self, conn: Any) -> None:
        conn.info.pop("bench_wrote", None)
        conn.info.pop("bench_step", None)


def instrument(counts: Counts) -> Callable[[], None]:
    """Count commits on every engine; wrap the jobs and the outbox's committing steps. Returns an undo."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from publishing import dispatch, outbox, readback

    event.listen(Engine, "before_cursor_execute", counts.on_execute)
    event.listen(Engine, "commit", counts.on_commit)
    event.listen(Engine, "rollback", counts.on_rollback)
    saved: list[tuple[Any, str, Any]] = []

    def wrap_job(module: Any, name: str, label: str, first_step: str) -> None:
        original = getattr(module, name)

        def job(delivery_id: int, *args: Any, **kwargs: Any) -> Any:
            if label == "delivery":
                counts.jobs[delivery_id] += 1
            with counts.labelled(label, delivery_id):
                counts.step(first_step)
                return original(delivery_id, *args, **kwargs)

        saved.append((module, name, original))
        setattr(module, name, job)

    def wrap_step(name: str) -> None:
        original = getattr(outbox, name)

        def step(*args: Any, **kwargs: Any) -> Any:
            counts.step(name)
            return original(*args, **kwargs)

        saved.append((outbox, name, original))
        setattr(outbox, name, step)

    wrap_job(dispatch, "run", "delivery", "claim")
    wrap_job(dispatch, "stage", "delivery", "claim")
    wrap_job(readback, "run", "read-back", "readback.record")
    wrap_job(outbox, "wake", "callback", "wake (callback)")
    for name in ("claim", "remember", "mark_staged", "release", "begin_publishing", "succeed", "fail"):
        if hasattr(outbox, name):
            wrap_step(name)
    if hasattr(readback, "after_published"):
        original_after = readback.after_published

        def after(delivery_id: int) -> None:
            counts.step("readback.after_published")
            original_after(delivery_id)

        saved.append((readback, "after_published", original_after))
        readback.after_published = after

    def undo() -> None:
        for module, name, original in reversed(saved):
            setattr(module, name, original)
        event.remove(Engine, "before_cursor_execute", counts.on_execute)
        event.remove(Engine, "commit", counts.on_commit)
        event.remove(Engine, "rollback", counts.on_rollback)

    return undo


def deliveries(app: Any) -> list[tuple[int, str, str]]:
    from sqlalchemy import select

    from app.extensions import db
    from publishing.models import Delivery

    with app.app_context():
        rows = db.session.execute(select(Delivery.id, Delivery.channel, Delivery.state)).all()
        db.session.rollback()
    return [tuple(r) for r in rows]


def run_backend(kind: str, count: int) -> list[list[str]]:
    from publishing.worker import ReleaseWorker

    rows: list[list[str]] = []
    common.flush_redis()
    with common.database(kind) as backend:
        app = common.make_app(backend, EXPERT_APPROVALS_REQUIRED=1, WECHAT_SANDBOX_PUBLISH_DELAY=0.3)
        people = common.seed_people(app, [UNIT], CAST)
        unit_id = people.units[UNIT]
        drafter, expert = people.id(people.of(UNIT, "drafter")[0]), people.id(people.of(UNIT, "expert")[0])
        leader = common.token(app, people.of(UNIT, "leader")[0])
        client = app.test_client()
        with serving(app) as origin:
            app.config["WECHAT_SANDBOX_BASE"] = f"{origin}/sandbox/wechat"
            app.config["WECHAT_SANDBOX_CALLBACK_URL"] = f"{origin}/wechat/callback"
            for mix, channels in MIXES.items():
                items = common.insert_statements(app, [
                    common.Seed(unit_id=unit_id, author_id=drafter, status="in_review", pending_stage="leader",
                                channels=channels, approvals=[("expert", expert)]) for _ in range(count)])
                before = {d for d, _, _ in deliveries(app)}
                counts = Counts()
                undo = instrument(counts)
                try:
                    for item in items:
                        resp = client.post(f"/api/v1/statements/{item.statement_id}/reviews", json={
                            "revision_hash": item.hash, "stage": "leader", "decision": "approve"},
                            headers={"Authorization": f"Bearer {leader}"})
                        assert resp.status_code == 201, resp.get_json()
                    deadline = time.monotonic() + 60 + 5 * count
                    while True:
                        ReleaseWorker(app).work(burst=True, with_scheduler=True, logging_level="WARNING")
                        mine = [d for d in deliveries(app) if d[0] not in before]
                        if all(state == "published" for _, _, state in mine):
                            break
                        if time.monotonic() > deadline:
                            raise TimeoutError(f"not published: {[d for d in mine if d[2] != 'published']}")
                        time.sleep(0.2)
                    # the read-backs queued on `low` by the last jobs
                    ReleaseWorker(app).work(burst=True, with_scheduler=False, logging_level="WARNING")
                finally:
                    undo()
                for channel in channels:
                    ids = [d for d, ch, _ in mine if ch == channel]
                    rows.append(summary(kind, mix, channel, ids, counts))
    return rows


def summary(kind: str, mix: str, channel: str, ids: list[int], counts: Counts) -> list[str]:
    n = len(ids)
    total: Counter[str] = Counter()
    for label in ("delivery", "callback"):
        for d in ids:
            total.update(counts.by.get((label, d), Counter()))
    readback: Counter[str] = Counter()
    for d in ids:
        readback.update(counts.by.get(("read-back", d), Counter()))
    jobs = sum(counts.jobs[d] for d in ids)
    steps = sorted(((k[5:], v) for k, v in total.items() if k.startswith("step:")), key=lambda kv: -kv[1])
    return [kind, mix, channel, f"{jobs / n:.1f}", f"{total['statements'] / n:.1f}", f"{total['write'] / n:.2f}",
            f"{total['read'] / n:.2f}",
            ", ".join(f"{name} {v / n:.2f}" for name, v in steps),
            f"{readback['write'] / n:.2f} + {readback['read'] / n:.2f} read-only"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--count", type=int, default=10, help="statements per channel mix")
    args = parser.parse_args(argv)
    kinds = common.BACKENDS if args.backend == "both" else (args.backend,)
    rows: list[list[str]] = []
    with common.redis_to_ourselves():
        for kind in kinds:
            rows += run_backend(kind, args.count)
    print()
    print(f"commits per delivery ({args.count} statements per mix; delivery jobs and WeChat callbacks, "
          "not the approval; the read-back job separately)")
    print(common.table(["backend", "statements", "channel", "jobs", "SQL", "write commits", "read-only commits",
                        "write commits by step", "read-back job"], rows))


if __name__ == "__main__":
    main()
