"""Checking the hash chain over a range of seqs: the inner loop of `ledger verify`.

Each entry carries its predecessor's hash, so a range of entries checks on its own and ranges join at the
seams (one range's last hash must be the next range's first `prev_hash`). That lets `ledger verify` hand
ranges to worker processes; this module is what they import, so it imports neither Flask nor the models.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

GENESIS = "0" * 64

ENTRIES = sa.table(
    "ledger_entries",
    sa.column("seq", sa.Integer), sa.column("kind", sa.String), sa.column("statement_id", sa.Integer),
    sa.column("revision_hash", sa.String), sa.column("at", sa.String), sa.column("payload", sa.JSON),
    sa.column("prev_hash", sa.String), sa.column("hash", sa.String),
)
#: the payload as its stored JSON text, parsed here: the drivers' own JSON loaders cost three times as much
COLUMNS = (
    ENTRIES.c.seq, ENTRIES.c.kind, ENTRIES.c.statement_id, ENTRIES.c.revision_hash, ENTRIES.c.at,
    sa.cast(ENTRIES.c.payload, sa.Text), ENTRIES.c.prev_hash, ENTRIES.c.hash,
)

_SORT = orjson.OPT_SORT_KEYS


def canonical_body(seq: int, kind: str, statement_id: int, revision_hash: str, at: str, payload_text: str,
                   prev_hash: str) -> bytes:
    """canonical(entry without "hash") from the payload's stored JSON text (interface §3).

    orjson does it six times faster and writes the same bytes as `json.dumps(sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)` except for floats below 1e-4 (`1e-7` for `1e-07`,
    `0.00001` for `1e-05`) and integers past 64 bits (parsed as floats, written `…e+19`); NaN and lone
    surrogates it refuses. Output holding `e-`, `e+` or `0.0000` anywhere, and every refusal, is redone
    with the standard library, so the result is always json.dumps's (tests/publishing/test_ledger_scale.py
    proves it over generated payloads).
    """
    try:
        out = orjson.dumps({
            "seq": seq, "kind": kind, "statement_id": statement_id, "revision_hash": revision_hash, "at": at,
            "payload": orjson.loads(payload_text), "prev_hash": prev_hash,
        }, option=_SORT)
        if b"e-" not in out and b"e+" not in out and b"0.0000" not in out:
            return out
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, TypeError):
        pass
    return json.dumps({
        "seq": seq, "kind": kind, "statement_id": statement_id, "revision_hash": revision_hash, "at": at,
        "payload": json.loads(payload_text), "prev_hash": prev_hash,
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Stretch:
    """What one range of seqs showed: where it starts and ends in the chain, and its first bad seq."""

    lo: int
    first_prev: str | None  # the first row's prev_hash: the seam with the range before
    last_hash: str | None  # the last row that held
    count: int  # rows that held, from `lo` on, before the first bad one
    bad: int | None = None


def check_rows(rows: Iterable[Any], lo: int, hi: int | None) -> Stretch:
    """Check rows of seqs [lo, hi) (hi None: to the end), in seq order: numbering, links and hashes.

    A missing seq is bad at that seq; an entry whose own hash does not recompute, or whose prev_hash is not
    the hash before it, is bad at its seq. The first row's prev_hash is left for the seam check.
    """
    expected, prev, first_prev, count = lo, None, None, 0
    sha256 = hashlib.sha256
    for seq, kind, statement_id, rev_hash, at, payload, prev_hash, hash_ in rows:
        if seq != expected:
            return Stretch(lo, first_prev, prev, count, expected)
        if prev is None:
            first_prev = prev_hash
        elif prev_hash != prev:
            return Stretch(lo, first_prev, prev, count, seq)
        body = canonical_body(seq, kind, statement_id, rev_hash, at, payload, prev_hash)
        if sha256(prev_hash.encode() + b"\n" + body).hexdigest() != hash_:
            return Stretch(lo, first_prev, prev, count, seq)
        prev, count, expected = hash_, count + 1, expected + 1
    if hi is not None and expected != hi:
        return Stretch(lo, first_prev, prev, count, expected)  # the range ends early: seq `expected` is gone
    return Stretch(lo, first_prev, prev, count)


def range_query(lo: int, hi: int | None) -> sa.Select[Any]:
    query = sa.select(*COLUMNS).where(ENTRIES.c.seq >= lo)
    if hi is not None:
        query = query.where(ENTRIES.c.seq < hi)
    return query.order_by(ENTRIES.c.seq)


@dataclass(frozen=True)
class Joined:
    ok: bool
    count: int
    last_hash: str
    bad: int | None = None


def join(stretches: Iterable[Stretch]) -> Joined:
    """The stretches in seq order, joined at their seams: the whole chain's count, head and first bad seq."""
    prev, total = GENESIS, 0
    for part in stretches:
        if part.first_prev is not None and part.first_prev != prev:
            return Joined(False, total, prev, part.lo)
        if part.bad is not None:
            return Joined(False, total + part.count, part.last_hash or prev, part.bad)
        if part.count:
            prev, total = part.last_hash or prev, total + part.count
    return Joined(True, total, prev)


def split(last_seq: int, parts: int) -> list[tuple[int, int | None]]:
    """[lo, hi) ranges covering 1..last_seq, the last one open so that rows past the head are seen too."""
    size = max(1, -(-last_seq // max(1, parts)))
    bounds: list[tuple[int, int | None]] = [(lo, lo + size) for lo in range(1, last_seq + 1, size)]
    if not bounds:
        return [(1, None)]
    bounds[-1] = (bounds[-1][0], None)
    return bounds


# --- in a worker process ----------------------------------------------------------------------------------------

_conninfo: str | None = None


def open_worker(url: str) -> None:
    """Pool initializer: where this worker process connects (a libpq URL of the app's PostgreSQL database)."""
    global _conninfo
    _conninfo = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def check_range(snapshot: str, lo: int, hi: int | None, batch: int) -> Stretch:
    """One range, read in the coordinator's exported snapshot with a server-side cursor.

    The Core query runs on psycopg's own named cursor: SQLAlchemy's row objects would cost a fifth of the time.
    """
    import psycopg

    assert _conninfo is not None, "open_worker() first"
    if not snapshot.replace("-", "").isalnum():
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    sql = str(range_query(lo, hi).compile(dialect=_PG, compile_kwargs={"literal_binds": True}))
    with psycopg.connect(_conninfo) as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # the transaction's first statement
        with connection.cursor(name=f"ledger_{lo}") as cursor:
            cursor.itersize = batch
            cursor.execute(sql)
            return check_rows(cursor, lo, hi)


_PG = postgresql.psycopg.dialect()
