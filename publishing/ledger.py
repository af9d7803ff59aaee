"""The statement ledger: append-only, hash-chained, verifiable with ten lines of code elsewhere.

Each append is signed (publishing/checkpoints.py), so that the chain is also held to something outside the
database; verification checks ranges of the chain in parallel (publishing/chain.py) and holds the result to
the signed checkpoints. docs/ledger.md describes it all for the people who check it.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from app.extensions import db
from app.timeutil import utcnow
from app.tx import begin_write
from publishing import chain, checkpoints
from publishing.checkpoints import Checkpoint
from publishing.models import LedgerCheckpoint, LedgerEntry, LedgerHead, LedgerKind, Release
from review.models import canonical, revision_hash

GENESIS = chain.GENESIS
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
    checkpoints.record(seq, entry.hash)
    db.session.flush()
    return entry


def checkpoint_head() -> Checkpoint | None:
    """Sign the current head now, under the append lock (once per head and key); None without a key."""
    private = checkpoints.signer()
    if private is None:
        return None
    begin_write()
    db.session.execute(update(LedgerHead).where(LedgerHead.id == HEAD_ID).values(seq=LedgerHead.seq))
    seq, hash_ = db.session.execute(select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.id == HEAD_ID)).one()
    existing = db.session.get(LedgerCheckpoint, (seq, checkpoints.key_id(private.public_key())))
    if existing is not None:
        db.session.rollback()
        signed = Checkpoint(existing.seq, existing.hash, existing.at, existing.key_id, existing.signature)
        checkpoints.copy_out(checkpoints.directory(), signed, private.public_key())
        return signed
    made = checkpoints.record(seq, hash_)
    db.session.commit()
    return made


def entry_json(entry: LedgerEntry) -> dict[str, Any]:
    return {**entry.body(), "hash": entry.hash}


def head() -> dict[str, Any]:
    seq, hash_ = db.session.execute(select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.id == HEAD_ID)).one()
    return {"seq": seq, "hash": hash_}


def window(*, before: int | None, after: int | None, size: int) -> list[LedgerEntry]:
    """`size` entries, newest first: just above `after`, else just below `before`, else the newest. Each is
    a range read on the primary key, so a page deep in a million entries costs what the first one does."""
    if after is not None:
        upward = select(LedgerEntry).where(LedgerEntry.seq > after).order_by(LedgerEntry.seq).limit(size)
        return list(reversed(db.session.scalars(upward).all()))
    query = select(LedgerEntry)
    if before is not None:
        query = query.where(LedgerEntry.seq < before)
    return list(db.session.scalars(query.order_by(LedgerEntry.seq.desc()).limit(size)))


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    head: str
    first_bad_seq: int | None = None
    #: the highest signed checkpoint the chain was held to and holds (None: none was at hand)
    checkpoint: Checkpoint | None = None
    #: why a checkpoint says the chain is not the one it signed (None for a chain that breaks by itself)
    reason: str | None = None


#: below this many entries one process checks the chain faster than starting others would
PARALLEL_FROM = 200_000


@contextmanager
def _snapshot() -> Iterator[Connection]:
    """One consistent view of the ledger, on a connection of its own.

    PostgreSQL: a REPEATABLE READ transaction (every statement sees the snapshot of the first; worker
    processes import it with SET TRANSACTION SNAPSHOT); SQLite: one read transaction (WAL keeps the
    snapshot of its first read until it ends). Entries appended meanwhile are simply not seen, so a busy
    ledger never looks tampered with.
    """
    connection = db.engine.connect()
    try:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection
    finally:
        connection.close()


def _read_head(connection: Connection) -> tuple[int, str]:
    seq, hash_ = connection.execute(select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.id == HEAD_ID)).one()
    return seq, hash_


def _jobs(connection: Connection, entries: int, jobs: int | None) -> int:
    if connection.dialect.name != "postgresql":
        return 1  # SQLite cannot hand its snapshot to another process
    if jobs is None:
        jobs = min(os.cpu_count() or 1, 8) if entries >= PARALLEL_FROM else 1
    return max(1, jobs)


def _stretches(connection: Connection, recorded_seq: int, batch: int, jobs: int) -> list[chain.Stretch]:
    """The chain checked in `jobs` processes over seq ranges, each in this connection's snapshot."""
    if jobs == 1:
        rows = connection.execution_options(stream_results=True, yield_per=batch).execute(chain.range_query(1, None))
        try:
            return [chain.check_rows(rows, 1, None)]
        finally:
            rows.close()
    snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
    url = db.engine.url.render_as_string(hide_password=False)
    ranges = chain.split(recorded_seq, jobs * 4)  # several ranges per process: the slowest one sets the pace
    # fork only a single-threaded process (the CLI): forking a threaded server could copy a held lock
    context = multiprocessing.get_context("fork" if threading.active_count() == 1 else "spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=chain.open_worker, initargs=(url,)) as pool:
        futures = [pool.submit(chain.check_range, snapshot, lo, hi, batch) for lo, hi in ranges]
        return [future.result() for future in futures]


def verify(batch: int = 20_000, jobs: int | None = None, anchors: Sequence[Checkpoint] = (),
           keys: dict[str, Ed25519PublicKey] | None = None) -> Verification:
    """Recompute the chain from the first entry; name the first seq that does not hold.

    The head and the entries are read in one snapshot, the head first. On PostgreSQL a large ledger is
    checked in `jobs` processes (default: one per core from PARALLEL_FROM entries on). Then the chain is held
    to the signed checkpoints: `anchors` (an auditor's copies) and, with checkpoints in use, the latest one
    in the database and the latest one copied to LEDGER_CHECKPOINT_DIR; `keys` are the keys trusted to sign
    them (default: checkpoints.trusted_keys()).
    """
    with _snapshot() as connection:
        recorded_seq, recorded_hash = _read_head(connection)
        joined = chain.join(_stretches(connection, recorded_seq, batch, _jobs(connection, recorded_seq, jobs)))
        if not joined.ok:
            return Verification(False, joined.count, joined.last_hash, first_bad_seq=joined.bad)
        count, prev = joined.count, joined.last_hash
        if recorded_seq != count or recorded_hash != prev:
            # the last entry rewritten with a fresh hash (that entry); entries deleted from the end or forged
            # past the head (the first seq the head and the rows disagree on)
            bad = count if recorded_seq == count else min(count, recorded_seq) + 1
            return Verification(False, count, prev, first_bad_seq=bad or 1)
        return _held(connection, Verification(True, count, prev), anchors, keys)


def verify_from(anchor: Checkpoint, batch: int = 20_000, keys: dict[str, Ed25519PublicKey] | None = None,
                ) -> Verification:
    """Incremental: the chain from a signed checkpoint on — the checkpoint's entry still has its hash, every
    entry after it links and recomputes, and the head is the last. Entries before the checkpoint are taken
    as the checkpoint vouches for them (their hash); a full `verify` re-reads those too."""
    keys = checkpoints.trusted_keys() if keys is None else keys
    with _snapshot() as connection:
        recorded_seq, recorded_hash = _read_head(connection)
        if not checkpoints.valid(anchor, keys):
            return Verification(False, 0, recorded_hash, first_bad_seq=anchor.seq,
                                reason=_bad_signature(anchor, keys))
        breach = checkpoints.hold(connection, recorded_seq, anchor)
        if breach is not None:
            return Verification(False, min(anchor.seq, recorded_seq), recorded_hash, breach.seq, reason=breach.reason)
        rows = connection.execution_options(stream_results=True, yield_per=batch).execute(
            chain.range_query(anchor.seq + 1, None))
        part = chain.check_rows(rows, anchor.seq + 1, None)
        rows.close()
        joined = chain.join([chain.Stretch(anchor.seq, None, anchor.hash, anchor.seq), part])
        if not joined.ok:
            return Verification(False, joined.count, joined.last_hash, first_bad_seq=joined.bad)
        if recorded_seq != joined.count or recorded_hash != joined.last_hash:
            bad = joined.count if recorded_seq == joined.count else min(joined.count, recorded_seq) + 1
            return Verification(False, joined.count, joined.last_hash, first_bad_seq=bad or 1)
        return Verification(True, joined.count, joined.last_hash, checkpoint=anchor)


def verify_after(seq: int, hash_: str, batch: int = 20_000) -> Verification | None:
    """Incremental from a head an earlier verification found sound (the public endpoint's kept verdict): that
    entry still has its hash, every entry after it links and recomputes, the head is the last, and the chain
    holds the signed checkpoints as `verify` holds it. None when that entry is gone or changed: only a full
    `verify` can then say where the chain breaks. Entries before it are not read again."""
    with _snapshot() as connection:
        recorded_seq, recorded_hash = _read_head(connection)
        if seq > recorded_seq:
            return None
        found = connection.execute(select(chain.ENTRIES.c.hash).where(chain.ENTRIES.c.seq == seq)).scalar()
        if (found if seq else GENESIS) != hash_:
            return None
        rows = connection.execution_options(stream_results=True, yield_per=batch).execute(
            chain.range_query(seq + 1, None))
        try:
            part = chain.check_rows(rows, seq + 1, None)
        finally:
            rows.close()
        joined = chain.join([chain.Stretch(seq, None, hash_, seq), part])
        if not joined.ok:
            return Verification(False, joined.count, joined.last_hash, first_bad_seq=joined.bad)
        if recorded_seq != joined.count or recorded_hash != joined.last_hash:
            bad = joined.count if recorded_seq == joined.count else min(joined.count, recorded_seq) + 1
            return Verification(False, joined.count, joined.last_hash, first_bad_seq=bad or 1)
        return _held(connection, Verification(True, joined.count, joined.last_hash), (), None)


def _bad_signature(anchor: Checkpoint, keys: dict[str, Ed25519PublicKey]) -> str:
    if anchor.key_id not in keys:
        return f"checkpoint {anchor.seq} is signed with key {anchor.key_id}, which is not a trusted key"
    return f"checkpoint {anchor.seq} does not carry a valid signature of key {anchor.key_id}"


def _held(connection: Connection, result: Verification, anchors: Sequence[Checkpoint],
          keys: dict[str, Ed25519PublicKey] | None) -> Verification:
    """A whole chain held to its checkpoints: each anchor must be validly signed and still in the chain."""
    keys = checkpoints.trusted_keys() if keys is None else keys
    folder = checkpoints.directory()
    candidates: list[tuple[Checkpoint, Callable[[], Iterable[Checkpoint]]]] = []
    if anchors:
        top = max(anchors, key=lambda c: c.seq)
        candidates.append((top, lambda: anchors))
    copied = checkpoints.read_latest(folder)
    for kept in ([copied] if copied else []) + checkpoints.read_pinned(folder):
        candidates.append((kept, partial(checkpoints.read_log, folder, until=kept)))
    stored = checkpoints.latest_stored(connection)
    if stored is not None:
        candidates.append((stored, lambda: _stored_history(connection)))
    breaches: list[tuple[int, str]] = []
    held: Checkpoint | None = None
    for anchor, history in candidates:
        if not checkpoints.valid(anchor, keys):
            breaches.append((min(anchor.seq, result.entries + 1), _bad_signature(anchor, keys)))
            continue
        breach = checkpoints.hold(connection, result.entries, anchor, history)
        if breach is not None:
            breaches.append((breach.seq, breach.reason))
        elif held is None or anchor.seq > held.seq:
            held = anchor
    if breaches:
        seq, reason = min(breaches)
        return Verification(False, result.entries, result.head, first_bad_seq=seq, reason=reason)
    return Verification(True, result.entries, result.head, checkpoint=held)


def _stored_history(connection: Connection) -> list[Checkpoint]:
    """The checkpoint rows whose hash the chain still holds, up to the first one it does not (a rewrite's floor)."""
    first_bad = checkpoints.mismatched_rows(connection)
    if first_bad is None:
        return []
    row = LedgerCheckpoint
    found = connection.execute(select(row.seq, row.hash, row.at, row.key_id, row.signature)
                               .where(row.seq <= first_bad).order_by(row.seq.desc()).limit(2)).all()
    return [Checkpoint(*row) for row in found]


def releases_on_record(releases: Iterable[Release]) -> set[int]:
    """The ids of the releases whose stored text still is what the record says was published.

    The text must hash to the release's revision hash, and once the `published` entry exists, to that
    entry's; the entry must recompute to its own hash and be the one its successor (or the head) links to.
    A row changed in the database fails here, and its page says so instead of serving it. Three queries for
    any number of releases.
    """
    releases = list(releases)
    # the head first: an entry appended after it is read shows up below as a successor, never as a gap
    head_seq, head_hash = db.session.execute(
        select(LedgerHead.seq, LedgerHead.hash).where(LedgerHead.id == HEAD_ID)).one()
    seqs = {rel.ledger_seq for rel in releases if rel.ledger_seq is not None}
    entries: dict[int, LedgerEntry] = {}
    if seqs:
        wanted = seqs | {seq + 1 for seq in seqs}
        entries = {e.seq: e for e in db.session.scalars(select(LedgerEntry).where(LedgerEntry.seq.in_(wanted)))}
    held = set()
    for rel in releases:
        revision = rel.revision
        text_hash = revision_hash(revision.title, revision.digest, revision.body)
        if text_hash != rel.revision_hash:
            continue
        if rel.ledger_seq is not None:
            entry, after = entries.get(rel.ledger_seq), entries.get(rel.ledger_seq + 1)
            if (entry is None or entry.kind != LedgerKind.PUBLISHED or entry.statement_id != rel.statement_id
                    or entry.revision_hash != text_hash or entry_hash(entry.prev_hash, entry.body()) != entry.hash):
                continue
            linked = after.prev_hash if after is not None else (head_hash if head_seq == entry.seq else None)
            if linked != entry.hash:
                continue
        held.add(rel.id)
    return held


def entries_after(after: int, limit: int) -> list[LedgerEntry]:
    return list(db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.seq > after).order_by(LedgerEntry.seq).limit(limit)
    ))
