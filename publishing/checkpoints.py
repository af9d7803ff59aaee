"""Signed checkpoints: the ledger's head anchored outside the database (docs/ledger.md).

Whoever can write to the database can rewrite the whole chain, hashes included, or cut it short and move the
head back; the chain alone cannot tell. A checkpoint can: it is `{seq, hash, at, key_id}` signed with an
Ed25519 key kept in a file (`LEDGER_SIGNING_KEY`), never in the database. One is made with every append, in
the append's own transaction (so it never names an entry that was rolled back), and once that commits it is
copied to `LEDGER_CHECKPOINT_DIR` (`checkpoints.jsonl`, every one; `latest.json`, the highest) and shown on
`/record`, in the feed and in the ledger API. Any copy proves later that the chain still holds that hash at
that seq: a rewritten chain has another hash there, a truncated one ends before it.

Every append, not every N: the stretch an attacker can take back unseen is then no entry at all, and a
signature costs about 0.1 ms against a ledger that grows by tens of entries a day.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from sqlalchemy import select
from sqlalchemy.engine import Connection

from app.extensions import db
from app.timeutil import utcnow
from app.tx import after_commit
from publishing.models import LedgerCheckpoint
from review.models import canonical

log = logging.getLogger(__name__)

#: signed bytes = this prefix + canonical({seq, hash, at, key_id}); the prefix keeps the signature from
#: meaning anything else the key might ever sign
DOMAIN = b"huiying-ledger-checkpoint-v1\n"
LOG_FILE, LATEST_FILE, PINNED_FILE, KEYS_DIR = "checkpoints.jsonl", "latest.json", "pinned.jsonl", "keys"


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    key_id: str
    signature: str  # hex of the 64-byte Ed25519 signature

    def message(self) -> bytes:
        return DOMAIN + canonical({"seq": self.seq, "hash": self.hash, "at": self.at, "key_id": self.key_id})

    def json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Checkpoint:
        """A checkpoint from its JSON form; ValueError when it is not one."""
        try:
            seq, hash_, at = data["seq"], data["hash"], data["at"]
            key_id, signature = data["key_id"], data["signature"]
        except (KeyError, TypeError):
            raise ValueError("not a checkpoint: needs seq, hash, at, key_id and signature") from None
        if not (isinstance(seq, int) and seq >= 0 and all(isinstance(v, str) for v in (hash_, at, key_id, signature))):
            raise ValueError("not a checkpoint: seq must be an integer, the rest strings")
        return cls(seq, hash_, at, key_id, signature)


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of sha256(raw 32-byte public key)."""
    return hashlib.sha256(public_bytes(key)).hexdigest()[:16]


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def sign(private: Ed25519PrivateKey, seq: int, hash_: str, at: str | None = None) -> Checkpoint:
    unsigned = Checkpoint(seq, hash_, at or utcnow().isoformat(), key_id(private.public_key()), "")
    return Checkpoint(**{**unsigned.json(), "signature": private.sign(unsigned.message()).hex()})


def valid(checkpoint: Checkpoint, keys: dict[str, Ed25519PublicKey]) -> bool:
    """The signature holds under the trusted key of that key id."""
    key = keys.get(checkpoint.key_id)
    if key is None:
        return False
    try:
        key.verify(bytes.fromhex(checkpoint.signature), checkpoint.message())
    except (InvalidSignature, ValueError):
        return False
    return True


# --- keys ---------------------------------------------------------------------------------------------------------

_loaded: dict[str, tuple[int, Ed25519PrivateKey]] = {}


def generate(path: Path) -> Ed25519PrivateKey:
    """A new key in `path` (PKCS#8 PEM, mode 0600); FileExistsError if one is there."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return private


def load_private(path: str | Path) -> Ed25519PrivateKey | None:
    """The signing key in `path`, or None when there is no such file (checkpoints are then off)."""
    path = str(path)
    try:
        mtime = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return None
    cached = _loaded.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    with open(path, "rb") as source:
        private = serialization.load_pem_private_key(source.read(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    _loaded[path] = (mtime, private)
    return private


def load_public(path: str | Path) -> Ed25519PublicKey:
    """A public key from a PEM file (a private key's file gives its public half)."""
    data = Path(path).read_bytes()
    key: Any
    if b"PRIVATE KEY" in data:
        key = serialization.load_pem_private_key(data, password=None).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return key


def signer() -> Ed25519PrivateKey | None:
    """This app's checkpoint key, or None when none is configured."""
    return load_private(current_app.config["LEDGER_SIGNING_KEY"])


def directory() -> Path:
    return Path(current_app.config["LEDGER_CHECKPOINT_DIR"])


def publish_key(folder: Path, key: Ed25519PublicKey) -> None:
    """Keep the public key beside the checkpoints (`keys/<key id>.pub`), so old checkpoints stay checkable after
    the key is rotated."""
    keys = folder / KEYS_DIR
    target = keys / f"{key_id(key)}.pub"
    if not target.exists():
        keys.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(public_pem(key))
        tmp.replace(target)


def trusted_keys(extra: Sequence[Ed25519PublicKey] = ()) -> dict[str, Ed25519PublicKey]:
    """The keys a checkpoint may be signed with: `extra` alone when given (an auditor's pinned keys), else the
    configured key and every public key kept beside the checkpoints."""
    if extra:
        return {key_id(k): k for k in extra}
    keys: dict[str, Ed25519PublicKey] = {}
    folder = directory() / KEYS_DIR
    if folder.is_dir():
        for path in sorted(folder.glob("*.pub")):
            try:
                key = load_public(path)
            except ValueError:
                log.warning("ignoring %s: not an Ed25519 public key", path)
                continue
            keys[key_id(key)] = key
    try:
        private = signer()
    except ValueError:
        private = None
    if private is not None:
        keys[key_id(private.public_key())] = private.public_key()
    return keys


def public_key_info() -> dict[str, str] | None:
    """What /record and the API publish about the current key: its id, the raw key in hex, and its PEM."""
    try:
        private = signer()
    except ValueError:
        log.exception("LEDGER_SIGNING_KEY is not usable")
        return None
    if private is None:
        return None
    public = private.public_key()
    return {"algorithm": "Ed25519", "key_id": key_id(public), "public_key": public_bytes(public).hex(),
            "pem": public_pem(public)}


# --- making them ------------------------------------------------------------------------------------------------


def record(seq: int, hash_: str) -> Checkpoint | None:
    """Sign the head the caller's transaction just wrote; copy it out once that transaction commits.

    A key that cannot be read is logged, never raised: publication goes on, and /record shows the checkpoints
    falling behind the head.
    """
    try:
        private = signer()
    except (OSError, ValueError):
        log.exception("ledger checkpoint key %s is not usable; entry %d is not checkpointed",
                      current_app.config["LEDGER_SIGNING_KEY"], seq)
        return None
    if private is None:
        return None
    checkpoint = sign(private, seq, hash_)
    db.session.add(LedgerCheckpoint(**checkpoint.json()))
    folder, public = directory(), private.public_key()
    after_commit(db.session, lambda: copy_out(folder, checkpoint, public))
    return checkpoint


def copy_out(folder: Path, checkpoint: Checkpoint, public: Ed25519PublicKey | None = None) -> None:
    """Append the checkpoint to `checkpoints.jsonl` and raise `latest.json` to it, under a file lock.

    `latest.json` only ever rises. A checkpoint at or below it comes from a commit whose after-commit step ran
    late (harmless), or from appends after the chain was cut short (a fork): either way the latest one is
    then also kept in `pinned.jsonl`, so that a chain grown back past it cannot bury it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if public is not None:
        publish_key(folder, public)
    with open(folder / LOG_FILE, "a", encoding="utf-8") as out:
        fcntl.flock(out, fcntl.LOCK_EX)
        try:
            out.write(_line(checkpoint))
            out.flush()
            current = read_latest(folder)
            if current is None or checkpoint.seq > current.seq:
                tmp = folder / (LATEST_FILE + ".tmp")
                tmp.write_text(_line(checkpoint), encoding="utf-8")
                tmp.replace(folder / LATEST_FILE)
            elif current != checkpoint:
                with open(folder / PINNED_FILE, "a", encoding="utf-8") as pinned:
                    pinned.write(_line(current))
        finally:
            fcntl.flock(out, fcntl.LOCK_UN)


def _line(checkpoint: Checkpoint) -> str:
    return json.dumps(checkpoint.json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def read_pinned(folder: Path) -> list[Checkpoint]:
    """The distinct checkpoints kept in `pinned.jsonl`."""
    return list(dict.fromkeys(_read_lines(folder / PINNED_FILE)))


def read_latest(folder: Path) -> Checkpoint | None:
    try:
        return Checkpoint.from_json(json.loads((folder / LATEST_FILE).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


def read_file(path: Path) -> list[Checkpoint]:
    """Checkpoints in a file: one JSON object (latest.json, or a copy of the API's `checkpoint`) or JSON Lines
    (checkpoints.jsonl). ValueError when it holds none or something else."""
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        raise ValueError(f"{path} is empty")
    try:
        found = [Checkpoint.from_json(json.loads(text))]
    except json.JSONDecodeError:
        found = [Checkpoint.from_json(json.loads(line)) for line in text.splitlines() if line.strip()]
    return found


def latest_stored(connection: Connection | None = None) -> Checkpoint | None:
    """The highest checkpoint in the database."""
    query = select(LedgerCheckpoint.seq, LedgerCheckpoint.hash, LedgerCheckpoint.at, LedgerCheckpoint.key_id,
                   LedgerCheckpoint.signature).order_by(LedgerCheckpoint.seq.desc()).limit(1)
    row = (connection or db.session).execute(query).first()
    return Checkpoint(*row) if row else None


def stored_after(after: int, limit: int) -> list[Checkpoint]:
    query = select(LedgerCheckpoint.seq, LedgerCheckpoint.hash, LedgerCheckpoint.at, LedgerCheckpoint.key_id,
                   LedgerCheckpoint.signature).where(LedgerCheckpoint.seq > after).order_by(LedgerCheckpoint.seq)
    return [Checkpoint(*row) for row in db.session.execute(query.limit(limit))]


# --- holding the chain to them ------------------------------------------------------------------------------------


def _hash_at(connection: Connection, seq: int) -> str | None:
    from publishing.chain import ENTRIES

    return connection.execute(select(ENTRIES.c.hash).where(ENTRIES.c.seq == seq)).scalar()


@dataclass(frozen=True)
class Breach:
    """The chain does not hold a checkpoint: the first seq that can no longer be trusted, and why."""

    seq: int
    reason: str


def hold(connection: Connection, head_seq: int, anchor: Checkpoint,
         history: Callable[[], Iterable[Checkpoint]] | None = None) -> Breach | None:
    """Does the chain (already found consistent up to `head_seq`, in this snapshot) still hold `anchor`?

    Past the head: the chain was cut short. Another hash at that seq: it was rewritten at or before it; the
    earlier checkpoints of `history` narrow that down (the hash at a seq commits to everything before it, so
    the checkpoints that still agree are a prefix, and a binary search finds where it ends).
    """
    if anchor.seq > head_seq:
        return Breach(head_seq + 1, f"truncated: checkpoint {anchor.seq} ({anchor.at}) is past the head {head_seq}")
    if anchor.seq == 0 or _hash_at(connection, anchor.seq) == anchor.hash:
        return None
    earlier = sorted({c.seq: c for c in (history() if history else ()) if 0 < c.seq < anchor.seq}.values(),
                     key=lambda c: c.seq)
    lo, hi = 0, len(earlier)  # earlier[:lo] agree, earlier[hi:] do not
    while lo < hi:
        mid = (lo + hi) // 2
        if _hash_at(connection, earlier[mid].seq) == earlier[mid].hash:
            lo = mid + 1
        else:
            hi = mid
    first = earlier[lo - 1].seq + 1 if lo else 1
    return Breach(first, f"rewritten: seq {anchor.seq} has another hash than checkpoint {anchor.seq} ({anchor.at})")


def read_log(folder: Path, until: Checkpoint | None = None) -> list[Checkpoint]:
    """The checkpoints copied out, in the order written, up to (not including) `until`: the ones made on the
    same chain as it, which locate a rewrite (a torn last line is skipped)."""
    found = []
    for checkpoint in _read_lines(folder / LOG_FILE):
        if checkpoint == until:
            break
        found.append(checkpoint)
    return found


def _read_lines(path: Path) -> Iterable[Checkpoint]:
    try:
        with open(path, encoding="utf-8") as source:
            for line in source:
                try:
                    yield Checkpoint.from_json(json.loads(line))
                except ValueError:
                    continue
    except FileNotFoundError:
        return


def mismatched_rows(connection: Connection) -> int | None:
    """The lowest seq whose checkpoint row names a hash the chain does not hold there (or an entry that is gone)."""
    from publishing.chain import ENTRIES

    cp = LedgerCheckpoint.__table__
    query = (select(cp.c.seq).select_from(cp.outerjoin(ENTRIES, ENTRIES.c.seq == cp.c.seq))
             .where((ENTRIES.c.hash.is_(None)) | (ENTRIES.c.hash != cp.c.hash)).order_by(cp.c.seq).limit(1))
    return connection.execute(query).scalar()
