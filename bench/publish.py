"""Publishing under real `huiying worker` processes (the ReleaseWorker class), Redis database 13, portal
channel only, each figure next to a baseline measured in the same run:

(a) approval → published latency, one approval at a time (`Delivery.published_at - Release.approved_at`),
    against a no-op RQ job on the same queue and worker class (`ended_at - enqueued_at`);
(b) one worker draining N approved statements (statements/s), against the same worker draining N no-op jobs;
(c) urgent approvals while 10,000 low/normal deliveries wait and one worker works through them
    (approval → published p50/p95), against (a)'s idle-queue latency;
(d) moved to `bench/ledger.py` (a million entries written as the app writes them: one `published` entry per
    statement, full and incremental verify);
(e) PostgreSQL only: 1, 2 and 4 workers draining N statements each, against the same workers draining N no-op
    jobs (how throughput scales on this machine, and where it flattens).

Goals (issue 13): (a) p50 ≤ 2× the no-op job's p50 plus the channel's own time (the built-in portal makes no
outside call: 0); (b) a worker's publishing rate ≥ 50 % of its no-op job rate. Timings are printed, never asserted.

    .venv/bin/python -m bench.publish [--quick] [--backend sqlite|postgresql|both] [--parts abce] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# first: points HUIYING_INSTANCE at a temporary folder (isort keeps plain imports before from-imports)
import bench.common as common
from bench.common import Backend, Seed

UNIT = "PUB"
CAST = {"drafter": 1, "expert": 1, "leader": 1}
NOOP = "bench.common.noop"


@dataclass(frozen=True)
class Sizes:
    approvals: int  # (a)
    drain: int  # (b)
    backlog: int  # (c)
    urgent: int  # (c)


FULL = Sizes(approvals=50, drain=1000, backlog=10_000, urgent=20)
QUICK = Sizes(approvals=10, drain=200, backlog=2_000, urgent=10)


# --- workers --------------------------------------------------------------------------------------------------


class Worker:
    """One `huiying worker` process on the bench database and Redis, in its own process group."""

    def __init__(self, backend: Backend, *args: str) -> None:
        self.log = open(backend.workdir / "worker.log", "ab")  # noqa: SIM115 (closed in stop)
        self.started = time.monotonic()
        self.proc = subprocess.Popen([str(common.BIN / "huiying"), "worker", *args], env=backend.env(),
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def ready(self, redis: Any, timeout: float = 60, count: int = 1) -> Worker:
        """Wait until RQ knows the worker (it has loaded the app and listens to its queues); with `count`,
        until that many workers are registered (this one and those started with it)."""
        from rq import Worker as RQWorker

        common.wait_until("the worker to register", lambda: len(RQWorker.all(connection=redis)) >= count
                          or self.proc.poll() is not None, timeout)
        if self.proc.poll() is not None:
            raise RuntimeError(f"huiying worker exited with {self.proc.returncode}")
        return self

    def wait(self, timeout: float) -> float:
        """Wait for a `--burst` worker to finish (stopping it if it does not in time); returns its wall time."""
        try:
            self.proc.wait(timeout=timeout)
        finally:
            self.stop()
        return time.monotonic() - self.started

    def stop(self) -> None:
        common.stop_group(self.proc, signal.SIGTERM, timeout=30)
        self.log.close()


def redis_client() -> Any:
    """A client of the benchmarks' Redis database (13)."""
    import redis

    return redis.Redis.from_url(common.REDIS_URL)


def noop_jobs(redis: Any, count: int) -> list[str]:
    """Queue `count` no-op jobs where normal-priority deliveries go."""
    from rq import Queue

    queue = Queue("normal", connection=redis)
    return [queue.enqueue(NOOP, result_ttl=3600).id for _ in range(count)]


def ended(redis: Any, ids: list[str]) -> list[datetime]:
    """When each finished job of `ids` ended, in order."""
    from rq.job import Job

    out = []
    for start in range(0, len(ids), 500):
        for job in Job.fetch_many(ids[start:start + 500], connection=redis):
            if job is not None and job.ended_at is not None:
                out.append(job.ended_at)
    return sorted(out)


def noop_latencies(redis: Any, count: int) -> list[float]:
    """One no-op job at a time: enqueue → end, ms."""
    from rq.job import Job

    latencies = []
    for _ in range(count):
        job_id = noop_jobs(redis, 1)[0]
        job = common.wait_until("a no-op job", lambda jid=job_id: _finished(Job.fetch(jid, connection=redis)),
                                timeout=30, every=0.005)
        latencies.append((job.ended_at - job.enqueued_at).total_seconds() * 1000)
    return latencies


def _finished(job: Any) -> Any:
    return job if job.ended_at is not None else None


# --- statements -----------------------------------------------------------------------------------------------


@dataclass
class Setup:
    app: Any
    people: common.People
    leader_token: str

    @property
    def unit_id(self) -> int:
        return self.people.units[UNIT]

    def person(self, role: str) -> int:
        return self.people.id(self.people.of(UNIT, role)[0])


def at_leader_stage(setup: Setup, count: int, priority: str) -> list[common.Inserted]:
    """Statements an expert has approved, waiting on the leader (the licence is one call away)."""
    return common.insert_statements(setup.app, [
        Seed(unit_id=setup.unit_id, author_id=setup.person("drafter"), status="in_review", pending_stage="leader",
             priority=priority, approvals=[("expert", setup.person("expert"))]) for _ in range(count)
    ])


def released(setup: Setup, priorities: list[str]) -> list[tuple[int, str, str]]:
    """Approved statements with their release and a pending portal delivery each, queued as the app does."""
    from publishing import queues

    inserted = common.insert_statements(setup.app, [
        Seed(unit_id=setup.unit_id, author_id=setup.person("drafter"), status="approved", priority=p,
             approvals=[("expert", setup.person("expert")), ("leader", setup.person("leader"))])
        for p in priorities
    ])
    plan = common.release_all(setup.app, inserted, priorities, setup.person("leader"))
    with setup.app.app_context():
        for delivery_id, priority, key in plan:
            queues.enqueue(delivery_id, priority, key=key)
    return plan


def approve(setup: Setup, client: Any, item: common.Inserted) -> None:
    """The leader's approval, through the API: commits the release and queues its delivery."""
    resp = client.post(f"/api/v1/statements/{item.statement_id}/reviews", json={
        "revision_hash": item.hash, "stage": "leader", "decision": "approve"},
        headers={"Authorization": f"Bearer {setup.leader_token}"})
    assert resp.status_code == 201, resp.get_json()


def published_latency(setup: Setup, statement_id: int, timeout: float = 60) -> float:
    """Wait until the statement's portal delivery is published; approved_at → published_at in ms."""
    from sqlalchemy import select

    from app.extensions import db
    from publishing.models import Delivery, Release

    def done() -> float | None:
        with setup.app.app_context():
            row = db.session.execute(
                select(Release.approved_at, Delivery.published_at, Delivery.state)
                .join(Delivery, Delivery.release_id == Release.id).where(Release.statement_id == statement_id)
            ).first()
            db.session.rollback()
        if row is None or row.published_at is None:
            if row is not None and row.state == "failed":
                raise RuntimeError(f"delivery of statement {statement_id} failed")
            return None
        return (row.published_at - row.approved_at).total_seconds() * 1000

    # the latency comes from the stored times, so polling gently costs no precision and leaves the CPU to the worker
    return common.wait_until(f"statement {statement_id} to be published", done, timeout, every=0.02)


def published_span(setup: Setup, delivery_ids: list[int]) -> tuple[int, float]:
    """How many of these deliveries are published, and seconds from the first to the last."""
    from sqlalchemy import func, select

    from app.extensions import db
    from publishing.models import Delivery

    with setup.app.app_context():
        n, first, last = db.session.execute(
            select(func.count(), func.min(Delivery.published_at), func.max(Delivery.published_at))
            .where(Delivery.id.in_(delivery_ids), Delivery.state == "published")
        ).one()
        db.session.rollback()
    return n, ((last - first).total_seconds() if n > 1 else float("nan"))


def published_count(setup: Setup) -> int:
    from sqlalchemy import func, select

    from app.extensions import db
    from publishing.models import Delivery

    with setup.app.app_context():
        n = db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.state == "published"))
        db.session.rollback()
    return n or 0


# --- (a) (b) (c) ----------------------------------------------------------------------------------------------


def bench_latency(backend: Backend, setup: Setup, sizes: Sizes, redis: Any) -> dict[str, list[float]]:
    """(a): one approval at a time with an idle worker; then one no-op job at a time."""
    items = at_leader_stage(setup, sizes.approvals, "normal")
    client = setup.app.test_client()
    worker = Worker(backend).ready(redis)
    try:
        approve(setup, client, at_leader_stage(setup, 1, "normal")[0])  # warm the worker's caches
        latencies = []
        for item in items:
            approve(setup, client, item)
            latencies.append(published_latency(setup, item.statement_id))
        noop_latencies(redis, 5)
        baseline = noop_latencies(redis, sizes.approvals)
    finally:
        worker.stop()
    return {"publish": latencies, "noop": baseline}


def bench_drain(backend: Backend, setup: Setup, sizes: Sizes, redis: Any) -> dict[str, float]:
    """(b): one burst worker draining N approved statements, then N no-op jobs."""
    plan = released(setup, ["normal"] * sizes.drain)
    Worker(backend, "--burst").wait(timeout=60 + sizes.drain)
    n, span = published_span(setup, [d for d, _, _ in plan])
    ids = noop_jobs(redis, sizes.drain)
    Worker(backend, "--burst").wait(timeout=60 + sizes.drain / 10)
    ends = ended(redis, ids)
    noop_span = (ends[-1] - ends[0]).total_seconds() if len(ends) > 1 else float("nan")
    # first to last completion on both sides: the worker's start-up counts for neither
    return {
        "published": n, "publish_rate": (n - 1) / span if n > 1 else float("nan"),
        "noops": len(ends), "noop_rate": (len(ends) - 1) / noop_span if len(ends) > 1 else float("nan"),
    }


def bench_urgent(backend: Backend, setup: Setup, sizes: Sizes, redis: Any) -> dict[str, Any]:
    """(c): urgent approvals while a backlog of low/normal deliveries is being worked by one worker."""
    rng = random.Random(7)
    urgent = at_leader_stage(setup, sizes.urgent, "urgent")
    t0 = time.monotonic()
    released(setup, [rng.choice(["low", "normal"]) for _ in range(sizes.backlog)])
    queued_in = time.monotonic() - t0
    client = setup.app.test_client()
    before = published_count(setup)
    worker = Worker(backend).ready(redis)
    try:
        common.wait_until("the backlog to be worked on", lambda: published_count(setup) >= before + 20, timeout=120)
        started, backlog_before = time.monotonic(), published_count(setup)
        latencies = []
        for item in urgent:
            approve(setup, client, item)
            latencies.append(published_latency(setup, item.statement_id))
            time.sleep(rng.uniform(0.0, 0.2))
        elapsed, backlog_done = time.monotonic() - started, published_count(setup) - backlog_before - len(urgent)
    finally:
        worker.stop()
    from publishing.queues import depths

    with setup.app.app_context():
        waiting = depths()
    return {"latencies": latencies, "backlog_rate": backlog_done / elapsed, "waiting": waiting,
            "queued_in": queued_in}


def bench_scaling(backend: Backend, setup: Setup, sizes: Sizes, redis: Any, counts: list[int]) -> list[dict[str, Any]]:
    """(e): k long-running workers, all registered before any job is queued; N statements, then N no-op jobs.

    Rates are first to last completion (published_at, RQ's ended_at), so no worker's start-up counts.
    """
    out = []
    for k in counts:
        common.flush_redis()
        workers = [Worker(backend) for _ in range(k)]
        try:
            workers[-1].ready(redis, count=k)
            for w in workers:
                if w.proc.poll() is not None:
                    raise RuntimeError("a worker exited")
            t0 = time.monotonic()
            plan = released(setup, ["normal"] * sizes.drain)
            ids = [d for d, _, _ in plan]
            common.wait_until(f"{k} workers to publish {sizes.drain}",
                              lambda ids=ids: published_span(setup, ids)[0] >= len(ids), timeout=120 + sizes.drain)
            wall = time.monotonic() - t0
            n, span = published_span(setup, ids)
            jobs = noop_jobs(redis, sizes.drain)
            common.wait_until("the no-op jobs", lambda jobs=jobs: len(ended(redis, jobs)) >= len(jobs),
                              timeout=60 + sizes.drain / 10, every=0.2)
            ends = ended(redis, jobs)
        finally:
            for w in workers:
                w.stop()
        noop_span = (ends[-1] - ends[0]).total_seconds() if len(ends) > 1 else float("nan")
        out.append({"workers": k, "publish_rate": (n - 1) / span if n > 1 else float("nan"),
                    "noop_rate": (len(ends) - 1) / noop_span if len(ends) > 1 else float("nan"), "wall": wall})
    return out


def ms(values: list[float]) -> str:
    """p50 / p95 of latencies in ms."""
    return f"{common.percentile(values, 50):.1f} / {common.percentile(values, 95):.1f} ms"


def run_backend(kind: str, sizes: Sizes, parts: str = "abce", scaling: tuple[int, ...] = (1, 2, 4)
                ) -> list[list[str]]:
    """(a)–(e) on one backend (those named in `parts`), as table rows."""
    rows: list[list[str]] = []
    redis = redis_client()
    common.flush_redis()
    p95 = float("nan")
    with common.database(kind) as backend:
        app = common.make_app(backend, EXPERT_APPROVALS_REQUIRED=1)
        people = common.seed_people(app, [UNIT], CAST)
        setup = Setup(app, people, common.token(app, people.of(UNIT, "leader")[0]))

        if "a" in parts:
            print(f"[{kind}] (a) {sizes.approvals} approvals, one at a time …", flush=True)
            a = bench_latency(backend, setup, sizes, redis)
            p50, p95 = common.percentile(a["publish"], 50), common.percentile(a["publish"], 95)
            base50, base95 = common.percentile(a["noop"], 50), common.percentile(a["noop"], 95)
            rows.append([kind, "(a) approval → published p50/p95", ms(a["publish"]), f"no-op job {ms(a['noop'])}",
                         f"{common.ratio(p50, base50):.1f}× (p50), {common.ratio(p95, base95):.1f}× (p95)",
                         "p50 ≤ 2× + channel (0)", f"{len(a['publish'])} approvals; channel: built-in portal, "
                         f"no outside call; p50 is {common.ratio(p50, 2 * base50):.1f}× the goal"])

        if "b" in parts:
            print(f"[{kind}] (b) one worker draining {sizes.drain} statements …", flush=True)
            b = bench_drain(backend, setup, sizes, redis)
            rows.append([kind, "(b) publishing throughput, 1 worker", f"{b['publish_rate']:.0f} statements/s",
                         f"{b['noop_rate']:.0f} no-op jobs/s",
                         f"{common.ratio(b['publish_rate'], b['noop_rate']):.0%}",
                         "≥ 50 %", f"published {b['published']}/{sizes.drain}, no-ops {b['noops']}"])

        if "c" in parts:
            print(f"[{kind}] (c) {sizes.urgent} urgent approvals behind {sizes.backlog:,} queued deliveries …",
                  flush=True)
            c = bench_urgent(backend, setup, sizes, redis)
            p95c = common.percentile(c["latencies"], 95)
            rows.append([kind, "(c) urgent approval → published p50/p95", ms(c["latencies"]),
                         f"idle (a) p95 {p95:.1f} ms", f"{common.ratio(p95c, p95):.1f}×", "p95 ≤ 100 ms",
                         f"max {max(c['latencies']):.0f} ms; backlog {c['backlog_rate']:.0f}/s meanwhile, "
                         f"still queued {c['waiting']}; queued {sizes.backlog:,} in {c['queued_in']:.1f} s"])

        if "e" in parts and kind == "postgresql":
            print(f"[{kind}] (e) {sizes.drain} statements with {', '.join(map(str, scaling))} workers …", flush=True)
            e = bench_scaling(backend, setup, sizes, redis, list(scaling))
            one = e[0]["publish_rate"] if e else float("nan")
            for r in e:
                rows.append([kind, f"(e) throughput, {r['workers']} worker(s)", f"{r['publish_rate']:.0f} statements/s",
                             f"{r['noop_rate']:.0f} no-op jobs/s",
                             f"{common.ratio(r['publish_rate'], r['noop_rate']):.0%}",
                             f"{common.ratio(r['publish_rate'], one):.2f}× of {e[0]['workers']} worker",
                             f"{sizes.drain} each; {os.cpu_count()} cores; first → last completion"])
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()
    redis.close()

    common.flush_redis()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller N everywhere (a smoke run)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--parts", default="abce", help="which measurements: any of a b c e (default all)")
    parser.add_argument("--workers", default="1,2,4", help="worker counts of (e), comma-separated")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    kinds = common.BACKENDS if args.backend == "both" else (args.backend,)
    scaling = tuple(int(n) for n in args.workers.split(",") if n.strip())
    rows: list[list[str]] = []
    with common.redis_to_ourselves():
        for kind in kinds:
            rows += run_backend(kind, sizes, args.parts, scaling)
    print()
    print(f"portal channel only, real `huiying worker` processes (ReleaseWorker), Redis db 13; sizes {sizes}")
    print(common.table(["backend", "measurement", "value", "baseline", "ratio", "goal", "notes"], rows))


if __name__ == "__main__":
    main()
