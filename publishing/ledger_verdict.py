"""The public ledger verdict, kept in Redis per head: what `GET /api/v1/ledger/verify` answers (issue 28 #4).

Anyone may ask, so a question must not cost a recomputation of the whole chain (~9 s of CPU at a million
entries). A verdict names the head it vouches for (seq and hash). The same head is answered from Redis; a head
grown from a sound one is checked from there on (`ledger.verify_after`: that entry still has its hash, each
later one links and recomputes, the signed checkpoints hold); anything else — no verdict yet, a bad one, a head
that moved back or changed its hash — is a full recomputation. An old row edited in place leaves the head as it
was: the worker's `ledger check` step recomputes the whole chain at most every FULL_EVERY seconds for that.
Redis, not process memory: every gunicorn worker and every release worker share one verdict and one lock.
docs/ledger.md says what the endpoint guarantees; `huiying ledger verify` always recomputes everything.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from redis.exceptions import LockError

from app.errors import Busy
from app.extensions import get_redis
from publishing import ledger
from publishing.checkpoints import Checkpoint

log = logging.getLogger(__name__)

KEY = "huiying:ledger:verdict"
LOCK = "huiying:ledger:verdict:lock"
#: the longest an old row edited in place goes unseen by the public endpoint (seconds)
FULL_EVERY = 15 * 60
#: a verifier that died holding the lock frees it after this long; far above a full check of a million entries
LOCK_SECONDS = 600
#: how long a request waits for another process's verification before answering without it
WAIT_SECONDS = 30


@dataclass(frozen=True)
class Verdict:
    """A verification and the head it was made for; `full_at` is when the whole chain was last recomputed."""

    seq: int
    hash: str
    result: ledger.Verification
    full_at: float

    def json(self) -> str:
        r = self.result
        return json.dumps({"seq": self.seq, "hash": self.hash, "full_at": self.full_at, "ok": r.ok,
                           "entries": r.entries, "head": r.head, "first_bad_seq": r.first_bad_seq,
                           "reason": r.reason, "checkpoint": r.checkpoint.json() if r.checkpoint else None})

    @classmethod
    def parse(cls, raw: bytes | str) -> Verdict:
        data: dict[str, Any] = json.loads(raw)
        checkpoint = Checkpoint.from_json(data["checkpoint"]) if data["checkpoint"] else None
        result = ledger.Verification(data["ok"], data["entries"], data["head"], data["first_bad_seq"],
                                     checkpoint, data["reason"])
        return cls(data["seq"], data["hash"], result, data["full_at"])


def _load() -> Verdict | None:
    raw = get_redis().get(KEY)
    return Verdict.parse(raw) if raw else None


def _head() -> tuple[int, str]:
    head = ledger.head()
    return head["seq"], head["hash"]


def current() -> ledger.Verification:
    """The verdict on the current head: kept, extended over new entries, or (rarely) recomputed in full."""
    cached = _load()
    if cached is not None and (cached.seq, cached.hash) == _head():
        return cached.result
    lock = get_redis().lock(LOCK, timeout=LOCK_SECONDS, blocking_timeout=WAIT_SECONDS)
    if not lock.acquire():
        if cached is not None:
            return cached.result  # still true of the head it names, which the answer gives
        raise Busy(_("正在核验账本，请稍后再试"))
    try:
        return _refresh(_load(), full=False).result  # what another process stored while this one waited
    finally:
        _release(lock)


def _refresh(cached: Verdict | None, *, full: bool) -> Verdict:
    """Under the lock: the verdict on the head now, from `cached` when it can be extended, and stored."""
    seq, hash_ = _head()
    if not full and cached is not None:
        if (cached.seq, cached.hash) == (seq, hash_):
            return cached
        if cached.result.ok and cached.seq < seq:
            extended = ledger.verify_after(cached.seq, cached.hash)
            if extended is not None:
                return _store(extended, seq, hash_, cached.full_at)
    started = time.time()
    return _store(ledger.verify(), seq, hash_, started)


def _store(result: ledger.Verification, seq: int, hash_: str, full_at: float) -> Verdict:
    """Keep `result` for the head it verified (a sound chain names it; a bad one is kept for the head read
    before, so that any later head is looked at afresh)."""
    verdict = Verdict(result.entries, result.head, result, full_at) if result.ok else Verdict(seq, hash_, result,
                                                                                             full_at)
    get_redis().set(KEY, verdict.json())
    if not result.ok:
        log.error("the ledger does not hold from seq %s: %s", result.first_bad_seq, result.reason or "chain broken")
    return verdict


def _release(lock: Any) -> None:
    try:
        lock.release()
    except LockError:
        pass  # it expired (LOCK_SECONDS) and may already be someone else's


def sweep() -> None:
    """The worker's `ledger check`: the whole chain recomputed once the last full check is FULL_EVERY old."""
    cached = _load()
    if cached is not None and time.time() - cached.full_at < FULL_EVERY:
        return
    lock = get_redis().lock(LOCK, timeout=LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        return  # another worker or a request is verifying now; the next sweep looks again
    try:
        cached = _load()
        if cached is None or time.time() - cached.full_at >= FULL_EVERY:
            _refresh(cached, full=True)
    finally:
        _release(lock)
