"""The statement ledger (interface §3): append-only, hash-chained, and verifiable by anyone with ten lines.

Entries are appended with `publishing.ledger.append` as every publishing service does; the chain is checked
by `huiying ledger verify`, by `GET /api/v1/ledger/verify`, and by an independent verifier written here from
the contract alone, over the exports an auditor would take home.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from app.extensions import db
from publishing import ledger
from publishing.models import LedgerEntry, LedgerKind
from tests.factories import Api, unit, user
from tests.publishing.workers import huiying

GENESIS = "0" * 64


def independent_verify(entries: list[dict[str, Any]]) -> int | None:
    """interface §3 alone: the first seq whose link does not hold, or None when the whole chain does."""
    prev = GENESIS
    for expected_seq, entry in enumerate(entries, start=1):
        body = {k: v for k, v in entry.items() if k != "hash"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(f"{prev}\n{canonical}".encode()).hexdigest()
        if entry["seq"] != expected_seq or entry["prev_hash"] != prev or entry["hash"] != digest:
            return expected_seq
        prev = entry["hash"]
    return None


def payload(i: int) -> dict[str, Any]:
    """What a real entry carries, plus the characters a careless canonical form would get wrong."""
    return {
        "title": f"关于网传小麦品种问题的回应（{i}）",
        "unit": {"code": "ZBS", "name": "作物设计中心"},
        "speaker": {"username": "drafter1", "name": "李新闻"},
        "approvers": [{"stage": "expert", "username": "expert1"}, {"stage": "leader", "username": "leader1"}],
        "channels": {"portal": {"url": f"http://huiying.test/releases/{i}", "external_id": None}},
        "n": i, "ok": i % 2 == 0, "ratio": 0.5, "big": 2**53 + i,
        "tricky": 'quotes " backslash \\ tab \t line\u2028separator emoji 🌾 <script>&amp;',
    }


def append(app: Flask, count: int, first: int = 1) -> list[int]:
    """Append `count` entries in one transaction, as a service would; their seqs."""
    with app.app_context():
        seqs = [
            ledger.append(LedgerKind.PUBLISHED, first + i, hashlib.sha256(str(first + i).encode()).hexdigest(),
                          payload(first + i)).seq
            for i in range(count)
        ]
        db.session.commit()
    return seqs


def rows(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        return [ledger.entry_json(e) for e in db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))]


def execute(app: Flask, sql: str, **params: Any) -> None:
    """Raw SQL, as someone with database access would tamper."""
    with app.app_context():
        result = db.session.execute(text(sql), params)
        assert result.rowcount == 1
        db.session.commit()


def set_payload(app: Flask, seq: int, value: dict[str, Any], new_hash: str | None = None) -> None:
    with app.app_context():
        cast = "CAST(:p AS JSON)" if db.engine.dialect.name == "postgresql" else ":p"
    raw = json.dumps(value, ensure_ascii=False)
    if new_hash is None:
        execute(app, f"UPDATE ledger_entries SET payload = {cast} WHERE seq = :k", p=raw, k=seq)
    else:
        execute(app, f"UPDATE ledger_entries SET payload = {cast}, hash = :h WHERE seq = :k", p=raw, h=new_hash,
                k=seq)


@pytest.fixture
def reader(app: Flask) -> Api:
    """Any signed-in role may read and verify the ledger."""
    return Api(app, user(app, unit(app, "ZBS"), "expert"))


def api_verify(reader: Api) -> dict[str, Any]:
    resp = reader.get("/ledger/verify")
    assert resp.status_code == 200
    return resp.get_json()


def cli_verify(database_url: str, workdir: Path) -> tuple[int, str]:
    done = huiying(database_url, workdir, "ledger", "verify")
    return done.returncode, done.stdout + done.stderr


# --- an intact chain --------------------------------------------------------------------------------------------


def test_chain_of_many_entries_verifies_everywhere(
    app: Flask, reader: Api, database_url: str, tmp_path: Path
) -> None:
    append(app, 150)
    append(app, 150, first=151)
    entries = rows(app)
    assert [e["seq"] for e in entries] == list(range(1, 301))
    assert entries[0]["prev_hash"] == GENESIS
    assert independent_verify(entries) is None
    head = entries[-1]["hash"]

    assert api_verify(reader) == {"ok": True, "entries": 300, "head": head}
    page = reader.get("/ledger?after=100&limit=1000").get_json()
    assert page["head"] == {"seq": 300, "hash": head} and page["entries"] == entries[100:]
    with app.app_context():
        assert ledger.verify(batch=7) == ledger.Verification(True, 300, head)  # streamed in small batches too

    code, out = cli_verify(database_url, tmp_path)
    assert (code, out.strip()) == (0, f"OK 300 {head}")


def test_empty_ledger_verifies(app: Flask, reader: Api) -> None:
    assert api_verify(reader) == {"ok": True, "entries": 0, "head": GENESIS}


# --- exports an auditor takes home -------------------------------------------------------------------------------


def test_exports_hold_every_entry_and_verify_independently(
    app: Flask, database_url: str, tmp_path: Path
) -> None:
    append(app, 40)
    entries = rows(app)

    done = huiying(database_url, tmp_path, "ledger", "export", "--format", "jsonl")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")  # "\n" only: U+2028 inside a payload is not a line break in JSON Lines
    assert lines[-1] == "" and len(lines) == 41
    exported = [json.loads(line) for line in lines[:-1]]
    assert exported == entries
    assert independent_verify(exported) is None
    exported[16]["payload"]["title"] = "篡改"
    assert independent_verify(exported) == 17  # the verifier above can fail

    done = huiying(database_url, tmp_path, "ledger", "export", "--format", "csv")
    assert done.returncode == 0, done.stderr
    table = list(csv.DictReader(io.StringIO(done.stdout, newline="")))
    assert len(table) == 40
    from_csv = [{**r, "seq": int(r["seq"]), "statement_id": int(r["statement_id"]),
                 "payload": json.loads(r["payload"])} for r in table]
    assert from_csv == entries
    assert independent_verify(from_csv) is None


# --- tampering ---------------------------------------------------------------------------------------------------


def test_edited_payload_is_named_by_cli_and_api(app: Flask, reader: Api, database_url: str, tmp_path: Path) -> None:
    append(app, 12)
    forged = {**payload(7), "title": "关于网传小麦品种问题的回应（已删改）"}
    set_payload(app, 7, forged)

    assert api_verify(reader) == {"ok": False, "first_bad_seq": 7}
    code, out = cli_verify(database_url, tmp_path)
    assert code == 1 and re.search(r"\bseq 7\b", out), out
    assert independent_verify(rows(app)) == 7


def test_deleted_last_entry_is_detected(app: Flask, reader: Api, database_url: str, tmp_path: Path) -> None:
    append(app, 12)
    execute(app, "DELETE FROM ledger_entries WHERE seq = 12")

    result = api_verify(reader)
    assert result["ok"] is False
    code, out = cli_verify(database_url, tmp_path)
    assert code == 1, out
    # the first seq that does not hold is the missing one — seq 11 is intact and verifies
    assert result == {"ok": False, "first_bad_seq": 12}
    assert re.search(r"\bseq 12\b", out), out


@pytest.mark.parametrize("tamper, first_bad", [
    ("edit first", 1),
    ("edit and rehash", 6),  # the entry looks whole; the next one's prev_hash no longer matches it
    ("rewrite last with a fresh hash", 12),  # the chain holds, the head row does not
    ("delete middle", 5),
    ("delete first", 1),
    ("renumber", 5),
    ("forge an entry past the head", 13),  # chain-consistent, but the head row does not account for it
])
def test_tampering_is_located(app: Flask, reader: Api, tamper: str, first_bad: int) -> None:
    append(app, 12)
    entries = rows(app)
    if tamper == "edit first":
        set_payload(app, 1, {**payload(1), "n": 100})
    elif tamper == "edit and rehash":
        body = {**{k: v for k, v in entries[4].items() if k != "hash"}, "payload": {**payload(5), "n": 500}}
        set_payload(app, 5, body["payload"], ledger.entry_hash(body["prev_hash"], body))
    elif tamper == "rewrite last with a fresh hash":
        body = {**{k: v for k, v in entries[11].items() if k != "hash"}, "payload": {**payload(12), "n": 1200}}
        set_payload(app, 12, body["payload"], ledger.entry_hash(body["prev_hash"], body))
    elif tamper == "delete middle":
        execute(app, "DELETE FROM ledger_entries WHERE seq = 5")
    elif tamper == "delete first":
        execute(app, "DELETE FROM ledger_entries WHERE seq = 1")
    elif tamper == "renumber":
        execute(app, "DELETE FROM ledger_entries WHERE seq = 5")
        for seq in range(6, 13):
            execute(app, "UPDATE ledger_entries SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    elif tamper == "forge an entry past the head":
        forged = {"seq": 13, "kind": "published", "statement_id": 13, "revision_hash": GENESIS,
                  "at": entries[11]["at"], "payload": payload(13), "prev_hash": entries[11]["hash"]}
        with app.app_context():
            db.session.add(LedgerEntry(**forged, hash=ledger.entry_hash(forged["prev_hash"], forged)))
            db.session.commit()
        assert independent_verify(rows(app)) is None  # only the head row can tell
    assert api_verify(reader) == {"ok": False, "first_bad_seq": first_bad}


# --- concurrent writers ------------------------------------------------------------------------------------------


def test_concurrent_appends_do_not_fork_the_chain(app: Flask, reader: Api) -> None:
    threads, per_thread = 6, 15
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait(timeout=10)
            for i in range(per_thread):
                with app.app_context():  # each thread its own context, session and connection
                    ledger.append(LedgerKind.PUBLISHED, n * 1000 + i, GENESIS, {"writer": n, "i": i})
                    db.session.commit()
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    pool = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in pool)
    assert not errors, errors

    entries = rows(app)
    total = threads * per_thread
    assert [e["seq"] for e in entries] == list(range(1, total + 1))
    assert len({e["prev_hash"] for e in entries}) == total  # no two entries claim the same predecessor
    assert independent_verify(entries) is None
    assert api_verify(reader) == {"ok": True, "entries": total, "head": entries[-1]["hash"]}
    assert sorted((e["payload"]["writer"], e["payload"]["i"]) for e in entries) == [
        (n, i) for n in range(threads) for i in range(per_thread)]
