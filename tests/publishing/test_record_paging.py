"""The public record (`/record`) pages by key: `?before=<seq>` older, `?after=<seq>` newer, old `?page=N` links
sent to the same entries, and a page deep in 100,000 entries read through the primary key, never by OFFSET."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, insert, update

from app.extensions import db
from publishing.models import LedgerEntry, LedgerHead

SEQ = re.compile(r"记录第 (\d+) 号")


def fill(app: Flask, n: int) -> None:
    """`n` entries (seq 1…n) straight into the table: the pages read rows, not the chain."""
    rows = [{"seq": s, "kind": "published", "statement_id": s, "revision_hash": "0" * 64,
             "at": "2026-03-01T09:00:00+08:00", "payload": {"title": f"回应 {s}"}, "prev_hash": "0" * 64,
             "hash": hashlib.sha256(str(s).encode()).hexdigest()} for s in range(1, n + 1)]
    with app.app_context():
        for lo in range(0, n, 10_000):
            db.session.execute(insert(LedgerEntry), rows[lo:lo + 10_000])
        db.session.execute(update(LedgerHead).values(seq=n, hash=rows[-1]["hash"]))
        db.session.commit()


def shown(resp: Any) -> list[int]:
    assert resp.status_code == 200, resp.status_code
    return [int(s) for s in SEQ.findall(resp.get_data(as_text=True))]


def link(resp: Any, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', resp.get_data(as_text=True))
    return found.group(1).replace("&amp;", "&") if found else None


def test_walking_the_record_by_key(app: Flask) -> None:
    fill(app, 45)
    web = app.test_client()
    first = web.get("/record")
    assert shown(first) == list(range(45, 25, -1)) and link(first, "prev") is None
    assert "第 45–26 号，共 45 条" in first.get_data(as_text=True)
    second = web.get(link(first, "next"))
    assert link(first, "next") == "/record?before=26" and shown(second) == list(range(25, 5, -1))
    last = web.get(link(second, "next"))
    assert shown(last) == [5, 4, 3, 2, 1] and link(last, "next") is None
    back = web.get(link(last, "prev"))
    assert link(last, "prev") == "/record?after=5" and shown(back) == list(range(25, 5, -1))
    assert shown(web.get(link(back, "prev"))) == list(range(45, 25, -1))


def test_old_page_links_land_on_the_same_entries(app: Flask) -> None:
    fill(app, 45)
    web = app.test_client()
    assert web.get("/record?page=1").headers["Location"] == "/record"
    moved = web.get("/record?page=2")
    assert moved.status_code == 301 and moved.headers["Location"] == "/record?before=26"
    assert shown(web.get("/record?page=2", follow_redirects=True)) == list(range(25, 5, -1))
    beyond = web.get("/record?page=99", follow_redirects=True)  # past the end: the oldest entries, not nothing
    assert shown(beyond) == list(range(20, 0, -1))
    assert web.get("/record?page=abc").headers["Location"] == "/record"  # unreadable old links: the first page


def test_the_ends_and_bad_keys(app: Flask) -> None:
    fill(app, 3)
    web = app.test_client()
    assert shown(web.get("/record?before=1")) == [] and shown(web.get("/record?after=3")) == []
    assert link(web.get("/record?before=1"), "prev") == "/record?after=0"
    assert link(web.get("/record?after=3"), "next") == "/record?before=4"
    for bad in ("before=0", "before=abc", "after=-1", "before=99999999999", "after=²"):
        assert web.get(f"/record?{bad}").status_code == 400, bad


@pytest.mark.parametrize("depth", ["before=50000", "after=50000", ""])
def test_a_deep_page_reads_the_primary_key_not_the_whole_table(app: Flask, depth: str) -> None:
    fill(app, 100_000)
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "ledger_entries" in statement:
            statements.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        page = app.test_client().get(f"/record?{depth}")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(shown(page)) == 20
    assert statements and not any("count(" in s.lower() for s, _p in statements)  # the head says how many
    with app.app_context(), engine.connect() as conn:
        for statement, parameters in statements:
            if engine.dialect.name == "sqlite":
                plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                                          parameters))
                # in key order (no sort of the table), and a range of the key where there is a bound
                assert "TEMP B-TREE" not in plan, plan
                assert "WHERE" not in statement or "SEARCH ledger_entries USING INTEGER PRIMARY KEY" in plan, plan
            else:
                plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
                assert "Index Scan" in plan and "ledger_entries_pkey" in plan and "Seq Scan" not in plan, plan
