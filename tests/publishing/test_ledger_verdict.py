"""Issue 28 #4: `GET /api/v1/ledger/verify` is public; it was unlimited and recomputed the whole chain on every
call (60 anonymous calls in a row all answered; at a million entries each cost ~9 s of CPU). Now it is
rate-limited like `/api/v1/public/verify`, answers an unchanged head from the verdict kept in Redis, extends a
sound verdict over the entries appended since, and the worker re-reads the whole chain on a schedule.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from app import limits
from app.extensions import db
from app.periodic import steps
from publishing import chain, ledger, ledger_verdict
from publishing.worker import ReleaseWorker
from tests.publishing.test_ledger import append, cli_verify, payload, rows, set_payload

PATH = "/api/v1/ledger/verify"


def verify(app: Flask) -> dict[str, Any]:
    resp = app.test_client().get(PATH)  # no sign-in: the public record
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


@contextmanager
def ledger_reads(app: Flask) -> Iterator[list[str]]:
    """The SQL statements that read ledger entries while the block runs (every connection of the app)."""
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "ledger_entries" in statement:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


@pytest.fixture
def ranges(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The first seq of every stretch of the chain that is re-read and recomputed."""
    seen: list[int] = []
    check_rows = chain.check_rows

    def spy(rows: Any, lo: int, hi: int | None) -> chain.Stretch:
        seen.append(lo)
        return check_rows(rows, lo, hi)

    monkeypatch.setattr(chain, "check_rows", spy)
    return seen


def test_anonymous_calls_are_rate_limited_like_the_public_verify(app: Flask) -> None:
    append(app, 3)
    web = app.test_client()
    answers = [web.get(PATH) for _ in range(limits.PER_MINUTE)]
    assert all(r.status_code == 200 and r.get_json()["ok"] is True for r in answers)
    refused = web.get(PATH)
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["error"]["code"] == "rate_limited" and body["error"]["message"], body
    assert set(body) == {"error"}


def test_the_verdict_of_an_unchanged_head_is_reused(app: Flask, ranges: list[int]) -> None:
    append(app, 12)
    head = rows(app)[-1]["hash"]
    assert verify(app) == {"ok": True, "entries": 12, "head": head}
    assert ranges == [1]
    with ledger_reads(app) as reads:
        for _ in range(5):
            assert verify(app) == {"ok": True, "entries": 12, "head": head}
    assert reads == [] and ranges == [1]  # five answers, not one entry read again


def test_appended_entries_are_checked_from_the_verified_head(app: Flask, ranges: list[int]) -> None:
    append(app, 12)
    assert verify(app)["entries"] == 12
    append(app, 5, first=13)
    assert verify(app) == {"ok": True, "entries": 17, "head": rows(app)[-1]["hash"]}
    assert ranges == [1, 13]  # only the five new entries were recomputed


def test_a_tampered_entry_after_the_verified_head_is_detected(app: Flask, ranges: list[int]) -> None:
    append(app, 12)
    assert verify(app)["ok"] is True
    append(app, 5, first=13)
    set_payload(app, 15, {**payload(15), "title": "篡改后的标题"})
    assert verify(app) == {"ok": False, "first_bad_seq": 15}
    assert ranges == [1, 13]
    assert verify(app) == {"ok": False, "first_bad_seq": 15}  # and the bad verdict is kept for that head
    assert ranges == [1, 13]


def test_a_rewritten_verified_head_makes_it_recompute_everything(app: Flask, ranges: list[int]) -> None:
    append(app, 12)
    assert verify(app)["ok"] is True
    append(app, 3, first=13)
    entry = rows(app)[11]  # the head that was verified, rewritten with a hash of its own
    body = {**{k: v for k, v in entry.items() if k != "hash"}, "payload": {**payload(12), "n": 1200}}
    set_payload(app, 12, body["payload"], ledger.entry_hash(body["prev_hash"], body))
    assert verify(app) == {"ok": False, "first_bad_seq": 13}
    assert ranges == [1, 1]  # not extended from a head that is no longer in the chain


def test_the_worker_re_reads_the_whole_chain_on_schedule(
    app: Flask, ranges: list[int], monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    assert "ledger check" in [name for name, _ in steps(app)]
    append(app, 12)
    assert verify(app)["ok"] is True
    set_payload(app, 3, {**payload(3), "title": "悄悄改过的旧条目"})  # an old row edited in place, head unchanged

    # operators' command always recomputes everything
    code, out = cli_verify(database_url, tmp_path)
    assert code == 1 and "seq 3" in out, out
    # the public endpoint answers the unchanged head from its verdict until the next full check ...
    assert verify(app)["ok"] is True
    worker = ReleaseWorker(app)
    worker.sweep()
    assert ranges == [1]  # ... which is not due yet (the last one ran a moment ago)
    monkeypatch.setattr(ledger_verdict, "FULL_EVERY", 0)
    worker.sweep()
    assert ranges == [1, 1]
    assert verify(app) == {"ok": False, "first_bad_seq": 3}
