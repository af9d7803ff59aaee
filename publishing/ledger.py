"""The statement ledger: append-only, hash-chained, verifiable with ten lines of code elsewhere."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, cast, select, update
from sqlalchemy.engine import Connection

from app.extensions import db
from app.timeutil import utcnow
from publishing.models import LedgerEntry, LedgerHead, LedgerKind
from review.models import canonical

GENESIS = "0" * 64
HEAD_ID = 1


def entry_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """sha256_hex(prev_hash + "\\n" + canonical(entry without "hash"))."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(body)).hexdigest()


def append(kind: LedgerKind, statement_id: int, revision_hash: str, payload: dict[str, Any]) -> LedgerEntry:
    """Add an entry in the caller's transaction; the head row's lock serializes every writer."""
    # The UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite) before we read the head.
    db.session.execute(update(LedgerHead).where(LedgerHead.id == HEAD_ID).values(seq=LedgerHead.seq + 1))
    seq, prev_hash = db.session.execute(
        select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.id == HEAD_ID)
    ).one()
    entry = LedgerEntry(
        seq=seq, kind=kind.value, statement_id=statement_id, revision_hash=revision_hash,
        at=utcnow().isoformat(), payload=payload, prev_hash=prev_hash,
    )
    entry.hash = entry_hash(prev_hash, entry.body())
    db.session.add(entry)
    db.session.execute(update(LedgerHead).where(LedgerHead.id == HEAD_ID).values(hash=entry.hash))
    db.session.flush()
    return entry


def entry_json(entry: LedgerEntry) -> dict[str, Any]:
    return {**entry.body(), "hash": entry.hash}


def head() -> dict[str, Any]:
    seq, hash_ = db.session.execute(select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.id == HEAD_ID)).one()
    return {"seq": seq, "hash": hash_}


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    head: str
    first_bad_seq: int | None = None


_TABLE = LedgerEntry.__table__
_COLUMNS = (
    _TABLE.c.seq, _TABLE.c.kind, _TABLE.c.statement_id, _TABLE.c.revision_hash, _TABLE.c.at,
    # the JSON as text, parsed here: the drivers' own JSON loaders cost three times as much
    cast(_TABLE.c.payload, Text), _TABLE.c.prev_hash, _TABLE.c.hash,
)


@contextmanager
def _snapshot() -> Iterator[Connection]:
    """One consistent view of the ledger, on a connection of its own.

    PostgreSQL: a REPEATABLE READ transaction (every statement sees the snapshot of the first);
    SQLite: one read transaction (WAL keeps the snapshot of its first read until it ends). Entries
    appended meanwhile are simply not seen, so a busy ledger never looks tampered with.
    """
    connection = db.engine.connect()
    try:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection
    finally:
        connection.close()


def verify(batch: int = 20_000) -> Verification:
    """Recompute the chain from the first entry; name the first seq that does not hold.

    The head and the entries are read in one snapshot, the head first.
    """
    with _snapshot() as connection:
        recorded_seq, recorded_hash = connection.execute(
            select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.id == HEAD_ID)
        ).one()
        rows = connection.execution_options(stream_results=True, yield_per=batch).execute(
            select(*_COLUMNS).order_by(_TABLE.c.seq)
        )
        prev, count, expected_seq = GENESIS, 0, 1
        for seq, kind, statement_id, rev_hash, at, payload, prev_hash, hash_ in rows:
            body = {"seq": seq, "kind": kind, "statement_id": statement_id, "revision_hash": rev_hash,
                    "at": at, "payload": json.loads(payload), "prev_hash": prev_hash}
            if seq != expected_seq or prev_hash != prev or entry_hash(prev, body) != hash_:
                rows.close()
                return Verification(False, count, prev, first_bad_seq=expected_seq if seq != expected_seq else seq)
            prev, count, expected_seq = hash_, count + 1, expected_seq + 1
    if recorded_seq != count or recorded_hash != prev:
        # the last entry rewritten with a fresh hash (that entry); entries deleted from the end or forged
        # past the head (the first seq the head and the rows disagree on)
        bad = count if recorded_seq == count else min(count, recorded_seq) + 1
        return Verification(False, count, prev, first_bad_seq=bad or 1)
    return Verification(True, count, prev)


def entries_after(after: int, limit: int) -> list[LedgerEntry]:
    return list(db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.seq > after).order_by(LedgerEntry.seq).limit(limit)
    ))
