"""`ledger verify` while publishing runs: a busy ledger must never look tampered with.

Before, the entries were streamed in one snapshot and the head read in another; with appends every
10 ms, verification answered `ok: false` on an untampered chain (4 of 4 on PostgreSQL). Now the head
is read first and the entries up to it in the same snapshot, and appends made meanwhile are not seen.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, insert, select, update

from app.extensions import db
from publishing import ledger
from publishing.models import LedgerEntry, LedgerHead
from tests.factories import Api, unit, user
from tests.publishing.workers import TEST_REDIS_URL

CHAIN = 50_000
GENESIS = "0" * 64

APPENDER = """
import sys, time
from pathlib import Path
from app import create_app
from app.extensions import db
from app.tx import begin_write
from publishing import ledger
from publishing.models import LedgerKind

stop = Path(sys.argv[1])
app = create_app()
with app.app_context():
    i = 0
    while not stop.exists():
        i += 1
        begin_write()
        ledger.append(LedgerKind.DELIVERY_FAILED, 900000 + i, "a" * 64, {"n": i, "note": "并发追加"})
        db.session.commit()
        print(i, flush=True)
        time.sleep(0.01)
"""


def build_chain(app: Flask, count: int) -> None:
    """A valid chain of `count` entries, written in bulk (ledger.append one by one would take minutes)."""
    rows: list[dict[str, Any]] = []
    prev = GENESIS
    for seq in range(1, count + 1):
        body = {"seq": seq, "kind": "delivery_failed", "statement_id": seq, "revision_hash": "b" * 64,
                "at": f"2026-11-30T08:00:{seq % 60:02d}.{seq:06d}+00:00",
                "payload": {"channel": "portal", "reason": f"第 {seq} 次：HTTP 503 🌾", "n": seq},
                "prev_hash": prev}
        digest = ledger.entry_hash(prev, body)
        rows.append({**body, "hash": digest})
        prev = digest
    with app.app_context():
        for start in range(0, count, 5000):
            db.session.execute(insert(LedgerEntry.__table__), rows[start:start + 5000])
        db.session.execute(update(LedgerHead).where(LedgerHead.id == 1).values(seq=count, hash=prev))
        db.session.commit()


def test_verify_never_cries_tamper_while_entries_are_appended(
    app: Flask, database_url: str, tmp_path: Path
) -> None:
    build_chain(app, CHAIN)
    reader = Api(app, user(app, unit(app, "LEDG"), "drafter"))
    stop = tmp_path / "stop"
    instance = tmp_path / "instance"
    instance.mkdir()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": TEST_REDIS_URL,
           "HUIYING_INSTANCE": str(instance), "SECRET_KEY": "test", "PUBLIC_BASE_URL": "http://huiying.test"}
    appender = subprocess.Popen([sys.executable, "-c", APPENDER, str(stop)], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        assert appender.stdout is not None
        appender.stdout.readline()  # it is appending
        results = []
        for _ in range(3):
            with app.app_context():
                results.append(ledger.verify())
        resp = reader.get("/ledger/verify")
        assert resp.status_code == 200
        api_answer = resp.get_json()
        with app.app_context():
            appended_meanwhile = db.session.scalar(select(func.count()).select_from(LedgerEntry)) - CHAIN
    finally:
        stop.touch()
        try:
            appender.wait(timeout=30)
        finally:
            appender.kill()
    assert appender.returncode == 0, appender.stderr.read() if appender.stderr else ""
    assert appended_meanwhile > 0, "nothing was appended while verifying: the test proved nothing"
    assert all(r.ok for r in results), results
    assert all(r.entries >= CHAIN for r in results)
    assert api_answer["ok"] is True, api_answer
    with app.app_context():
        final = ledger.verify()
        total = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    assert final.ok and final.entries == total > CHAIN


def test_verify_still_finds_a_rewritten_entry(app: Flask) -> None:
    """One snapshot must not blind it: an entry edited in place is named by its seq."""
    build_chain(app, 2_000)
    with app.app_context():
        db.session.execute(update(LedgerEntry).where(LedgerEntry.seq == 1234).values(revision_hash="c" * 64))
        db.session.commit()
        result = ledger.verify()
    assert not result.ok and result.first_bad_seq == 1234
