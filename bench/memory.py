"""Memory of a web worker and a release worker over many publications, and whether it grows (a leak test).

One gunicorn worker process (gthread, 4 threads) serves the API and the public pages; one `huiying worker`
publishes. N statements waiting for the leader are approved through the API by four client threads; every
approved statement is read back as a client would (`GET /api/v1/statements/{id}`, and every tenth
`GET /releases/{id}`), so the web worker renders what it publishes. The resident set size (VmRSS) of both
processes is sampled every second together with how many statements are published by then.

Goals (issue 13): after 10,000 publications the web worker < 200 MB and the release worker < 150 MB, and no
growth over time: the slope of RSS against publications after the first fifth (warm-up: imports, caches,
connection pools) should be about zero. Printed, never asserted.

    .venv/bin/python -m bench.memory [--count 10000] [--backend postgresql|sqlite]
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any

# first: points HUIYING_INSTANCE at a temporary folder (isort keeps plain imports before from-imports)
import bench.common as common

UNIT = "MEM"
CAST = {"drafter": 1, "expert": 1, "leader": 1}
CLIENTS = 4


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB (VmRSS), or nan once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


@dataclass
class Sample:
    t: float
    published: int
    web: float
    worker: float


def published_count(app: Any) -> int:
    from sqlalchemy import func, select

    from app.extensions import db
    from publishing.models import Delivery

    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.state == "published"))
        db.session.rollback()
    return n or 0


def slope_per_1000(samples: list[Sample], attr: str) -> float:
    """Least-squares slope of RSS (MB) against publications, per 1,000 publications."""
    xs = [s.published for s in samples]
    ys = [getattr(s, attr) for s in samples]
    if len(xs) < 2 or max(xs) == min(xs):
        return float("nan")
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 1000 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


def run(kind: str, count: int) -> None:
    common.flush_redis()
    with common.database(kind) as backend:
        app = common.make_app(backend, EXPERT_APPROVALS_REQUIRED=1)
        people = common.seed_people(app, [UNIT], CAST)
        leader = common.token(app, people.of(UNIT, "leader")[0])
        reader = common.token(app, people.of(UNIT, "drafter")[0])
        print(f"[{kind}] inserting {count:,} statements waiting for the leader …", flush=True)
        items = common.insert_statements(app, [
            common.Seed(unit_id=people.units[UNIT], author_id=people.id(people.of(UNIT, "drafter")[0]),
                        status="in_review", pending_stage="leader",
                        approvals=[("expert", people.id(people.of(UNIT, "expert")[0]))]) for _ in range(count)])
        with common.gunicorn(backend, workers=1, threads=CLIENTS) as (host, port):
            conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.request("GET", "/bench/pid")
            web_pid = int(conn.getresponse().read())
            conn.close()
            log = open(backend.workdir / "worker.log", "ab")  # noqa: SIM115 (closed below)
            worker = subprocess.Popen([str(common.BIN / "huiying"), "worker"], env=backend.env(), stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
            samples: list[Sample] = []
            done = threading.Event()
            t0 = time.monotonic()

            def sample() -> None:
                while not done.wait(1.0):
                    samples.append(Sample(time.monotonic() - t0, published_count(app), rss_mb(web_pid),
                                          rss_mb(worker.pid)))

            sampler = threading.Thread(target=sample, daemon=True)
            errors: list[str] = []
            try:
                time.sleep(3)  # the worker loads the app
                start = Sample(0.0, 0, rss_mb(web_pid), rss_mb(worker.pid))
                sampler.start()
                print(f"[{kind}] approving {count:,} through the API ({CLIENTS} clients) …", flush=True)
                threads = [threading.Thread(target=_client, args=(host, port, items[i::CLIENTS], leader, reader,
                                                                   errors), daemon=True) for i in range(CLIENTS)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(timeout=3600)
                common.wait_until("every statement to be published", lambda: published_count(app) >= count,
                                  timeout=600 + count / 10, every=0.5)
                time.sleep(3)  # the read-backs queued last, and one more sample at rest
            finally:
                done.set()
                sampler.join(timeout=10)
                end = Sample(time.monotonic() - t0, published_count(app), rss_mb(web_pid), rss_mb(worker.pid))
                common.stop_group(worker, 15, timeout=30)
                log.close()
    report(kind, count, start, samples, end, errors)


def _client(host: str, port: int, items: list[common.Inserted], leader: str, reader: str, errors: list[str]) -> None:
    """Approve each statement, then read it as its readers would."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    approve = {"Authorization": f"Bearer {leader}", "Content-Type": "application/json"}
    read = {"Authorization": f"Bearer {reader}"}
    for n, item in enumerate(items):
        body = json.dumps({"revision_hash": item.hash, "stage": "leader", "decision": "approve"})
        for method, path, data, headers in (
            ("POST", f"/api/v1/statements/{item.statement_id}/reviews", body, approve),
            ("GET", f"/api/v1/statements/{item.statement_id}", None, read),
            *((("GET", f"/releases/{item.statement_id}", None, {}),) if n % 10 == 0 else ()),
        ):
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status >= 400 and not (method == "GET" and path.startswith("/releases") and resp.status == 404):
                    errors.append(f"{method} {path} → {resp.status}")
            except (OSError, http.client.HTTPException) as error:
                errors.append(f"{method} {path}: {error}")
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.close()


def report(kind: str, count: int, start: Sample, samples: list[Sample], end: Sample, errors: list[str]) -> None:
    series = [s for s in samples if s.published > 0] + [end]
    warm = [s for s in series if s.published >= count / 5]
    rows = []
    for fraction in (0.05, 0.2, 0.4, 0.6, 0.8, 1.0):
        s = next((x for x in series if x.published >= fraction * count), end)
        rows.append([kind, f"{s.published:,} published", f"{s.t:.0f} s", f"{s.web:.0f} MB", f"{s.worker:.0f} MB"])
    print()
    print(f"RSS over {count:,} publications (sampled every second; at start web {start.web:.0f} MB, "
          f"worker {start.worker:.0f} MB)")
    print(common.table(["backend", "after", "time", "web worker (gunicorn)", "release worker"], rows))
    print()
    peak_web = max([s.web for s in series] + [start.web])
    peak_worker = max([s.worker for s in series] + [start.worker])
    print(common.table(["backend", "process", "end", "peak", "goal", "slope after warm-up", "verdict"], [
        [kind, "web worker", f"{end.web:.0f} MB", f"{peak_web:.0f} MB", "< 200 MB",
         f"{slope_per_1000(warm, 'web'):+.2f} MB / 1,000", "met" if peak_web < 200 else "missed"],
        [kind, "release worker", f"{end.worker:.0f} MB", f"{peak_worker:.0f} MB", "< 150 MB",
         f"{slope_per_1000(warm, 'worker'):+.2f} MB / 1,000", "met" if peak_worker < 150 else "missed"],
    ]))
    if errors:
        print(f"{len(errors)} request errors, e.g. {errors[:3]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="publications (default 10,000)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    args = parser.parse_args(argv)
    with common.redis_to_ourselves():
        run(args.backend, args.count)


if __name__ == "__main__":
    main()
