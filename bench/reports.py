"""The reports summary (interface §12) for a year of a 100,000-case register, on SQLite and on PostgreSQL.

The register is bench/cases.py's: 20 units, 100,000 cases over two years (10 % open), their clocks, counted
responses and the open cases' timelines (the summary reads no events, so closed cases' timelines are left
out), plus `--statements` published statements (release, portal and WeChat deliveries, ledger entries of
which some retractions and corrections) spread over the same two years.

Measured, p50/p95 over `--runs` runs, each in a fresh session: `reports.summary.summary(year, None)` (the
office), the same for the busiest unit, and the per-unit assessment table, next to a plain
`SELECT COUNT(*) FROM cases WHERE discovered_at` in the year in the same run. Goal: p95 < 300 ms on
PostgreSQL. Timings are printed, never asserted. `--quick` uses ten times fewer rows.

    .venv/bin/python bench/reports.py [--quick] [--backend sqlite|postgresql|both] [--runs 50]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)  # see bench/cases.py: `cases` must be the package

import bench.cases as register  # noqa: E402  (sets HUIYING_INSTANCE before any app exists)
import bench.common as common  # noqa: E402

GOAL_MS = 300.0
STATEMENTS = 20_000


def seed_statements(app: Any, people: register.People, total: int, rng: random.Random, now: datetime) -> None:
    """`total` published statements with their release, two deliveries and ledger entries (Core inserts)."""
    from sqlalchemy import insert, text, update

    from app.extensions import db
    from publishing.models import Delivery, LedgerEntry, LedgerHead, Release
    from review.models import Revision, Statement

    units = [people.units[code] for code in register.UNITS]
    author = people.users["u01-drafter1"]
    leader = people.users["u01-leader1"]
    statements, revisions, releases, deliveries, entries = [], [], [], [], []
    seq = 0
    for sid in range(1, total + 1):
        live = now - timedelta(days=rng.uniform(0, 730))
        approved = live - timedelta(minutes=rng.uniform(0.5, 30))
        submitted = approved - timedelta(hours=rng.uniform(0.5, 48))
        statements.append({"id": sid, "unit_id": rng.choice(units), "author_id": author, "priority": "normal",
                           "priority_rank": 2, "channels": ["portal", "wechat"], "agencies": [], "case_ids": [],
                           "status": "published", "version": 5, "review_round": 1, "submitted_at": submitted,
                           "created_at": submitted, "updated_at": live})
        revisions.append({"id": sid, "statement_id": sid, "number": 1, "title": f"关于第{sid}号舆情的情况说明",
                          "digest": "", "body": "经核实，网传信息不实。", "hash": uuid.uuid4().hex * 2,
                          "author_id": author, "created_at": submitted})
        seq += 1
        releases.append({"id": sid, "statement_id": sid, "revision_id": sid, "revision_hash": "0" * 64,
                         "approved_by_id": leader, "approved_at": approved, "go_live_at": approved,
                         "published_at": live, "ledger_seq": seq})
        for n, channel in enumerate(("portal", "wechat")):
            deliveries.append({"id": sid * 2 - 1 + n, "release_id": sid, "statement_id": sid, "channel": channel,
                               "action": "publish", "state": "published", "version": 3, "priority": "normal",
                               "due_at": approved, "attempts": 1, "delivery_key": str(uuid.uuid4()),
                               "published_at": live, "data": {}, "updated_at": live})
        entries.append({"seq": seq, "kind": "published", "statement_id": sid, "revision_hash": "0" * 64,
                        "at": live.astimezone(UTC).isoformat(), "payload": {}, "prev_hash": "0" * 64,
                        "hash": uuid.uuid4().hex * 2})
        if rng.random() < 0.03:
            seq += 1
            kind = rng.choice(("retracted", "corrected"))
            entries.append({"seq": seq, "kind": kind, "statement_id": sid, "revision_hash": "0" * 64,
                            "at": (live + timedelta(days=1)).astimezone(UTC).isoformat(), "payload": {},
                            "prev_hash": "0" * 64, "hash": uuid.uuid4().hex * 2})
    with app.app_context():
        for table, rows in ((Statement.__table__, statements), (Revision.__table__, revisions),
                            (Release.__table__, releases), (Delivery.__table__, deliveries),
                            (LedgerEntry.__table__, entries)):
            for start in range(0, len(rows), 10_000):
                db.session.execute(insert(table), rows[start:start + 10_000])
        db.session.execute(update(LedgerHead.__table__).values(seq=seq))
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            for name in ("statements", "revisions", "releases", "deliveries", "ledger_entries"):
                db.session.execute(text(f"ANALYZE {name}"))
            db.session.commit()


def timed(app: Any, calls: dict[str, Any], runs: int) -> dict[str, list[float]]:
    """Each call `runs` times, interleaved, each in a fresh session; milliseconds."""
    from app.extensions import db

    times: dict[str, list[float]] = {label: [] for label in calls}
    with app.app_context():
        for call in calls.values():  # warm-up
            call()
            db.session.remove()
        for _ in range(runs):
            for label, call in calls.items():
                t0 = time.perf_counter()
                call()
                times[label].append((time.perf_counter() - t0) * 1000)
                db.session.rollback()
                db.session.remove()
    return times


def run_backend(kind: str, args: argparse.Namespace) -> list[list[str]]:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Unit
    from cases.models import Case
    from reports import summary
    from reports.period import Period

    scale = 10 if args.quick else 1
    try:
        with register.database(kind) as app:
            rng = random.Random(12)
            now = datetime.now(UTC)
            people = register.seed_people(app)
            t0 = time.perf_counter()
            with app.app_context():
                register.write(register.register_rows(people, register.CASES // scale, rng, now))
            seed_statements(app, people, STATEMENTS // scale, rng, now)
            print(f"[{kind}] seeded in {time.perf_counter() - t0:.0f} s", flush=True)
            today = now.date()
            year = Period(today - timedelta(days=364), today)
            with app.app_context():
                busiest = db.session.scalar(select(Case.lead_unit_id).group_by(Case.lead_unit_id)
                                            .order_by(func.count().desc()).limit(1))
                unit_code = db.session.get(Unit, busiest).code
                in_year = db.session.scalar(select(func.count()).select_from(Case).where(
                    Case.discovered_at >= year.lo, Case.discovered_at < year.hi))

            def count() -> int:
                return db.session.scalar(select(func.count()).select_from(Case).where(
                    Case.discovered_at >= year.lo, Case.discovered_at < year.hi)) or 0

            calls = {
                "COUNT(*) of the year's cases (baseline)": count,
                "summary, a year, every unit": lambda: summary.summary(year, None),
                "summary, a year, the busiest unit": lambda: summary.summary(year, Unit.by_code(unit_code)),
                "assessment table, a year": lambda: summary.assessment(year, None),
            }
            times = timed(app, calls, args.runs)
            base = common.percentile(times["COUNT(*) of the year's cases (baseline)"], 95)
            rows = []
            for label, values in times.items():
                p50, p95 = common.percentile(values, 50), common.percentile(values, 95)
                is_goal = label.startswith("summary")
                rows.append([kind, label, f"{p50:.1f} / {p95:.1f} ms", f"{base:.1f} ms", f"{p95 / base:.1f}×",
                             f"p95 < {GOAL_MS:.0f} ms" if is_goal else "",
                             f"{in_year:,} cases in the year" if label.startswith("COUNT") else
                             ("met" if p95 < GOAL_MS else "missed") if is_goal else ""])
            return rows
    except register.Unreachable as exc:
        print(f"[{kind}] skipped: PostgreSQL unreachable ({exc})", flush=True)
        return [[kind, "skipped: server unreachable", "", "", "", "", ""]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="ten times fewer rows")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args(argv)
    kinds = common.BACKENDS if args.backend == "both" else (args.backend,)
    rows: list[list[str]] = []
    for kind in kinds:
        rows += run_backend(kind, args)
    scale = 10 if args.quick else 1
    print(f"\n{register.CASES // scale:,} cases over two years, {STATEMENTS // scale:,} statements; p50 / p95 over "
          f"{args.runs} runs in this process; ratio = p95 / the COUNT(*)'s p95")
    print(common.table(["backend", "measurement", "p50 / p95", "baseline p95", "ratio", "goal", "notes"], rows))


if __name__ == "__main__":
    main()
