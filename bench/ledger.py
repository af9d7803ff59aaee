"""Verifying a large ledger (issue 13): a fresh PostgreSQL database holding N entries (default 1,000,000),
written with COPY and hashes computed here, never through the app. Each figure
next to a baseline measured in the same run, on the same rows:

  full     `ledger.verify()` (ranges in parallel processes, orjson canonical form) and the `huiying ledger
           verify` command (wall, start-up included), against a plain `SELECT count(*)` and against the
           previous algorithm (one pass, json.loads + json.dumps + sha256 per row);
  one pass `ledger.verify(jobs=1)`: the cheaper canonical form alone;
  incremental  `ledger.verify_from(checkpoint)` from a signed checkpoint 1,000 entries below the head, and
           `huiying ledger verify --incremental --checkpoint FILE`, against the full check.

Goals (issue 13): full < 10 s, incremental < 100 ms. Timings are printed, never asserted.

    .venv/bin/python -m bench.ledger [N]
"""

from __future__ import annotations

import hashlib
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

# first: points HUIYING_INSTANCE at a temporary folder (isort keeps plain imports before from-imports)
import bench.common as common

TAIL = 1_000  # entries after the checkpoint in the incremental check
COLUMNS = "seq, kind, statement_id, revision_hash, at, payload, prev_hash, hash"


def payload(kind: str, sid: str, at: str) -> dict[str, Any]:
    """What a `published` (or `retracted`) entry carries, with placeholders for the varying parts."""
    if kind == "retracted":
        return {"reason": "信息有误", "title": f"关于网传第{sid}号情况的回应", "unit": "U01",
                "published_ledger_seq": None}
    return {
        "title": f"关于网传第{sid}号情况的回应", "digest": "情况说明", "unit": {"code": "U01", "name": "单位U01"},
        "speaker": {"username": "u01-drafter1", "name": "李新闻"},
        "approvers": [{"stage": "expert", "username": "u01-expert1", "name": "王专家", "at": at},
                      {"stage": "leader", "username": "u01-leader1", "name": "张领导", "at": at}],
        "agencies": [], "priority": "normal", "approved_at": at, "published_at": at, "corrects": None,
        "channels": {"portal": {"url": f"https://xxgk.example.gov.cn/releases/{sid}", "external_id": None,
                                "published_at": at}},
    }


def chain_rows(count: int, batch: int = 50_000) -> Iterator[tuple[list[tuple[Any, ...]], str]]:
    """A valid chain of `count` entries in batches of rows ready for COPY: every 50th retracts the one before.

    The canonical text of each entry is filled into a template (keys already in sorted order) instead of
    dumping a dict a million times; the first hundred are checked against `ledger.entry_hash` itself.
    """
    from publishing.ledger import GENESIS, entry_hash
    from review.models import canonical

    templates = {kind: canonical(payload(kind, "@SID@", "@AT@")).decode() for kind in ("published", "retracted")}
    start = datetime(2025, 1, 1, tzinfo=UTC)
    prev, rows = GENESIS, []
    for seq in range(1, count + 1):
        kind = "published" if seq % 50 else "retracted"
        sid = seq if kind == "published" else seq - 1  # one `published` entry per statement (a unique index)
        rev = hashlib.sha256(str(sid).encode()).hexdigest()
        at = (start + timedelta(seconds=seq * 7)).isoformat()
        text = templates[kind].replace("@SID@", str(sid)).replace("@AT@", at)
        body = (f'{{"at":"{at}","kind":"{kind}","payload":{text},"prev_hash":"{prev}",'
                f'"revision_hash":"{rev}","seq":{seq},"statement_id":{sid}}}')
        hash_ = hashlib.sha256(prev.encode() + b"\n" + body.encode()).hexdigest()
        if seq <= 100:
            assert hash_ == entry_hash(prev, {
                "seq": seq, "kind": kind, "statement_id": sid, "revision_hash": rev, "at": at,
                "payload": json.loads(text), "prev_hash": prev}), "the template drifted from canonical()"
        rows.append((seq, kind, sid, rev, at, text, prev, hash_))
        prev = hash_
        if len(rows) >= batch:
            yield rows, prev
            rows = []
    if rows:
        yield rows, prev


def write_ledger(app: Any, count: int) -> tuple[float, str]:
    """COPY a valid chain of `count` entries into ledger_entries and move the head to it: seconds, head hash."""
    from sqlalchemy import text

    from app.extensions import db

    t0 = time.perf_counter()
    head = "0" * 64
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            conn = raw.driver_connection
            for rows, last in chain_rows(count):
                head = last
                with conn.cursor() as cur, cur.copy(f"COPY ledger_entries ({COLUMNS}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            raw.commit()
        finally:
            raw.close()
        db.session.execute(text("UPDATE ledger_head SET seq = :seq, hash = :hash WHERE id = 1"),
                           {"seq": count, "hash": head})
        db.session.commit()
        db.session.execute(text("ANALYZE ledger_entries"))
        db.session.commit()
    return time.perf_counter() - t0, head


def previous_algorithm(app: Any) -> tuple[float, bool]:
    """The ledger check as it was: one stream, the standard library's JSON both ways, sha256 — seconds, ok."""
    from sqlalchemy import Text, cast, select

    from app.extensions import db
    from publishing.models import LedgerEntry
    from review.models import canonical

    table = LedgerEntry.__table__
    columns = [table.c.seq, table.c.kind, table.c.statement_id, table.c.revision_hash, table.c.at,
               cast(table.c.payload, Text), table.c.prev_hash, table.c.hash]
    with app.app_context():
        t0 = time.perf_counter()
        prev, ok = "0" * 64, True
        with db.engine.connect() as connection:
            rows = connection.execution_options(stream_results=True, yield_per=20_000).execute(
                select(*columns).order_by(table.c.seq))
            for seq, kind, sid, rev, at, payload, prev_hash, hash_ in rows:
                body = {"seq": seq, "kind": kind, "statement_id": sid, "revision_hash": rev, "at": at,
                        "payload": json.loads(payload), "prev_hash": prev_hash}
                if prev_hash != prev or hashlib.sha256(prev.encode() + b"\n" + canonical(body)).hexdigest() != hash_:
                    ok = False
                    break
                prev = hash_
        return time.perf_counter() - t0, ok


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the verifier's worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    from sqlalchemy import text

    from app.extensions import db
    from publishing import checkpoints, ledger
    from publishing.models import LedgerCheckpoint

    with common.database("postgresql") as backend:
        key, folder = backend.workdir / "ledger.pem", backend.workdir / "checkpoints"
        private = checkpoints.generate(key)
        settings = {"LEDGER_SIGNING_KEY": str(key), "LEDGER_CHECKPOINT_DIR": str(folder)}
        app = common.make_app(backend, **settings)
        print(f"writing {count:,} ledger entries (COPY) …", flush=True)
        written, head = write_ledger(app, count)
        with app.app_context():
            anchor_seq = max(0, count - TAIL)
            anchor_hash = db.session.execute(text("SELECT hash FROM ledger_entries WHERE seq = :s"),
                                             {"s": anchor_seq}).scalar() or "0" * 64
            anchor = checkpoints.sign(private, anchor_seq, anchor_hash)
            db.session.add(LedgerCheckpoint(**anchor.json()))
            db.session.commit()
            checkpoints.copy_out(folder, anchor, private.public_key())
            saved = backend.workdir / "auditor-checkpoint.json"
            saved.write_text(json.dumps(anchor.json()))

            print("measuring …", flush=True)
            count_s, _ = timed(lambda: db.session.execute(text("SELECT count(*) FROM ledger_entries")).scalar())
            db.session.rollback()
            cpu0 = cpu_seconds()
            full_s, full = timed(ledger.verify)
            full_cpu = cpu_seconds() - cpu0
            load = common.os.getloadavg()[0]  # other work on the machine slows every figure alike; ratios stand
            one_s, one = timed(lambda: ledger.verify(jobs=1))
            incr = []
            for _ in range(5):
                seconds, result = timed(lambda: ledger.verify_from(anchor))
                incr.append(seconds)
            db.engine.dispose()
        previous_s, previous_ok = previous_algorithm(app)
        env = backend.env(**settings)
        huiying = str(common.BIN / "huiying")
        startup_s, _ = timed(lambda: subprocess.run([huiying, "--help"], env=env, capture_output=True, check=True))
        cli_s, cli = timed(lambda: subprocess.run([huiying, "ledger", "verify"], env=env, capture_output=True,
                                                  text=True, timeout=1800))
        cli_incr_s, cli_incr = timed(lambda: subprocess.run(
            [huiying, "ledger", "verify", "--incremental", "--checkpoint", str(saved)], env=env,
            capture_output=True, text=True, timeout=600))

    expected = f"OK {count} {head}"
    incr_best = min(incr)
    rows = [
        ["full, ledger.verify() (parallel)", f"{full_s:.2f} s", f"previous algorithm {previous_s:.2f} s",
         f"{common.ratio(full_s, previous_s):.2f}×", "< 10 s",
         f"ok={full.ok} checkpoint={bool(full.checkpoint)}; client CPU {full_cpu:.1f} s; load {load:.1f}"],
        ["full, same, vs SELECT count(*)", f"{full_s:.2f} s", f"count(*) {count_s:.2f} s",
         f"{common.ratio(full_s, count_s):.1f}×", "", ""],
        ["full, one pass (orjson only)", f"{one_s:.2f} s", f"previous algorithm {previous_s:.2f} s",
         f"{common.ratio(one_s, previous_s):.2f}×", "", f"ok={one.ok}; previous ok={previous_ok}"],
        ["full, huiying ledger verify (wall)", f"{cli_s:.2f} s", f"previous algorithm {previous_s:.2f} s",
         f"{common.ratio(cli_s, previous_s):.2f}×", "< 10 s",
         f"says {'OK' if cli.stdout.strip() == expected else cli.stdout.strip()[:40]}; start-up {startup_s:.1f} s"],
        [f"incremental, last {TAIL:,}, verify_from()", f"{incr_best * 1000:.0f} ms", f"full {full_s:.2f} s",
         f"{common.ratio(incr_best, full_s):.4f}×", "< 100 ms",
         f"best of 5 (worst {max(incr) * 1000:.0f} ms); ok={result.ok}"],
        ["incremental, CLI (wall)", f"{cli_incr_s * 1000:.0f} ms", f"CLI start-up {startup_s * 1000:.0f} ms",
         f"{common.ratio(cli_incr_s, startup_s):.2f}×", "",
         f"says {'OK' if cli_incr.stdout.strip() == expected else cli_incr.stdout.strip()[:40]}"],
    ]
    print(f"\nledger verify, {count:,} entries on PostgreSQL (written in {written:.0f} s); "
          f"{common.os.cpu_count()} cores")
    print(common.table(["what", "time", "baseline (same run)", "ratio", "goal", "notes"], rows))


if __name__ == "__main__":
    main()
