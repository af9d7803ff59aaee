"""Verifying a large ledger fast (issue 13): a cheaper canonical form that is byte-identical to the contract's,
and ranges checked in parallel processes that join at their seams exactly as one pass would."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, update

from app.extensions import db
from publishing import chain, ledger
from publishing.models import LedgerEntry, LedgerHead
from review.models import canonical
from tests.publishing.test_ledger_snapshot import build_chain

# --- the canonical form -----------------------------------------------------------------------------------------

#: surrogate-free text with the characters a careless encoder gets wrong: astral (🌾, 𠀀), U+2028/9, DEL,
#: controls, quotes and backslashes, non-ASCII keys that sort differently in UTF-16 than in code points
TEXT = st.text(alphabet=st.one_of(
    st.characters(exclude_categories=("Cs",)),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF, exclude_categories=("Cs",)),
    st.sampled_from(list('"\\/\b\f\n\r\t\x00\x1f\x7f\u2028\u2029\ufeff\uffff🌾𠀀中文')),
), max_size=12)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),  # past 64 bits too
    st.integers(min_value=-(2**63), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=1e-12, max_value=1e-3),  # where orjson and repr() write exponents differently
    st.floats(min_value=1e15, max_value=1e21),
    st.sampled_from([0.0, -0.0, 1e-5, 1e-7, 1e16, 5e-324, 1.7976931348623157e308, 2.0**64, 0.1 + 0.2]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=5)), max_leaves=30)
PAYLOADS = st.dictionaries(TEXT, VALUES, max_size=6)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=PAYLOADS, kind=TEXT, at=TEXT, rev=TEXT, prev=TEXT,
       seq=st.integers(min_value=1, max_value=2**62), sid=st.integers(min_value=-(2**62), max_value=2**62),
       ascii_only=st.booleans())
def test_fast_canonical_is_byte_identical_to_json_dumps(payload: dict[str, Any], kind: str, at: str, rev: str,
                                                        prev: str, seq: int, sid: int, ascii_only: bool) -> None:
    stored = json.dumps(payload, ensure_ascii=ascii_only)  # the payload's text as a driver stores it
    expected = canonical({"seq": seq, "kind": kind, "statement_id": sid, "revision_hash": rev, "at": at,
                          "payload": json.loads(stored), "prev_hash": prev})
    assert chain.canonical_body(seq, kind, sid, rev, at, stored, prev) == expected


def test_fast_canonical_takes_the_fast_path_for_real_entries() -> None:
    """The fallback is for odd numbers only: an ordinary payload must not pay for it (else no speed-up)."""
    from tests.publishing.test_ledger import payload

    stored = json.dumps(payload(7))
    body = chain.canonical_body(7, "published", 7, "a" * 64, "2026-11-30T08:00:00.123456+00:00", stored, "b" * 64)
    import orjson

    fast = orjson.dumps({"seq": 7, "kind": "published", "statement_id": 7, "revision_hash": "a" * 64,
                         "at": "2026-11-30T08:00:00.123456+00:00", "payload": orjson.loads(stored),
                         "prev_hash": "b" * 64}, option=orjson.OPT_SORT_KEYS)
    assert body == fast


# --- parallel ranges ------------------------------------------------------------------------------------------

CHAIN = 3_000  # jobs=3 → 12 ranges of 250: seams after 250, 500, …


def _tamper(app: Flask, case: str) -> None:
    with app.app_context():
        entries = {e.seq: ledger.entry_json(e) for e in db.session.scalars(
            db.select(LedgerEntry).where(LedgerEntry.seq.in_([250, 251, 500, 501, 3000])))}
        if case == "edit the first entry of a range":
            db.session.execute(update(LedgerEntry).where(LedgerEntry.seq == 251).values(revision_hash="c" * 64))
        elif case == "edit and rehash the last entry of a range":
            body = {**{k: v for k, v in entries[250].items() if k != "hash"}, "revision_hash": "c" * 64}
            db.session.execute(update(LedgerEntry).where(LedgerEntry.seq == 250).values(
                revision_hash="c" * 64, hash=ledger.entry_hash(body["prev_hash"], body)))
        elif case == "delete the last entry of a range":
            db.session.execute(delete(LedgerEntry).where(LedgerEntry.seq == 500))
        elif case == "delete the first entry of a range":
            db.session.execute(delete(LedgerEntry).where(LedgerEntry.seq == 501))
        elif case == "delete the last entry":
            db.session.execute(delete(LedgerEntry).where(LedgerEntry.seq == 3000))
        elif case == "roll the head back":
            db.session.execute(update(LedgerHead).where(LedgerHead.id == 1).values(
                seq=2999, hash=entries[3000]["prev_hash"]))
        elif case == "forge an entry past the head":
            forged = {"seq": 3001, "kind": "delivery_failed", "statement_id": 3001, "revision_hash": "b" * 64,
                      "at": entries[3000]["at"], "payload": {"n": 3001}, "prev_hash": entries[3000]["hash"]}
            forged["hash"] = ledger.entry_hash(forged["prev_hash"], forged)
            db.session.execute(insert(LedgerEntry), [forged])
        db.session.commit()


@pytest.mark.parametrize("case, first_bad", [
    ("intact", None),
    ("edit the first entry of a range", 251),
    ("edit and rehash the last entry of a range", 251),
    ("delete the last entry of a range", 500),
    ("delete the first entry of a range", 501),
    ("delete the last entry", 3000),
    ("roll the head back", 3000),
    ("forge an entry past the head", 3001),
])
def test_parallel_ranges_find_what_one_pass_finds(app: Flask, database_url: str, case: str,
                                                  first_bad: int | None) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("ranges in parallel need PostgreSQL's exported snapshots; SQLite checks in one pass")
    build_chain(app, CHAIN)
    _tamper(app, case)
    with app.app_context():
        one = ledger.verify(jobs=1)
        three = ledger.verify(jobs=3, batch=100)
    assert one.first_bad_seq == first_bad and one.ok is (first_bad is None), one
    assert (three.ok, three.first_bad_seq, three.entries) == (one.ok, one.first_bad_seq, one.entries)
    if one.ok:
        assert three == one


def test_ranges_cover_the_chain_and_stay_open_at_the_end() -> None:
    assert chain.split(3000, 12)[:2] == [(1, 251), (251, 501)] and chain.split(3000, 12)[-1] == (2751, None)
    assert chain.split(0, 4) == [(1, None)]
    assert chain.split(5, 8) == [(1, 2), (2, 3), (3, 4), (4, 5), (5, None)]
