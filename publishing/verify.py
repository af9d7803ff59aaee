"""Is this text what the institution published? (CONTRACT §10 authenticity)

Every statement gets, in the transaction that writes its `published` ledger entry, a normalized copy of its
body and a sample of that copy's character 4-gram shingles (those whose hash is 0 mod `SAMPLE`; a short
body keeps them all). A pasted text is normalized the same way; its own sampled shingles pick a handful
of candidates from the inverted index with one grouped query, and only those are compared in full
(containment, then rapidfuzz similarity), so a query costs the same against ten statements or 100,000.
"""

from __future__ import annotations

import enum
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from html import unescape
from typing import Any

from flask import current_app
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel
from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, event, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.extensions import db
from app.timeutil import iso
from publishing.models import LedgerEntry, LedgerKind, Release
from review.models import Channel, Revision
from review.render import to_safe_html

K, SAMPLE, MIN_SAMPLED, QUERY_SHINGLES, CANDIDATES = 4, 4, 8, 3000, 8
MODIFIED_AT = 60.0  # per cent similarity (CONTRACT §10)


class VerifyText(db.Model):
    """A published statement's body, normalized: what a pasted text is compared with."""

    __tablename__ = "verify_texts"
    __table_args__ = (Index("ix_verify_texts_hash", "revision_hash"),)

    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), primary_key=True)
    revision_hash: Mapped[str] = mapped_column(String(64))
    normalized: Mapped[str] = mapped_column(Text)


class VerifyShingle(db.Model):
    """The inverted index: a sampled shingle → the statements whose normalized body has it."""

    __tablename__ = "verify_shingles"

    shingle: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    statement_id: Mapped[int] = mapped_column(Integer, ForeignKey("statements.id"), primary_key=True)


_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
#: Punctuation NFKC leaves alone but a retyped or OCR'd copy often changes: folded to one form.
_FOLD = str.maketrans({"。": ".", "、": ",", "“": '"', "”": '"', "「": '"', "」": '"', "‘": "'", "’": "'",
                       "『": '"', "』": '"', "—": "-", "–": "-", "…": "...", "·": "."})


#: A list item's marker at the start of a line: the page shows it (or not), a copy may keep it (or not).
_MARKER = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,3}[.、)）])[ \t]*", re.MULTILINE)


def normalize(text: str) -> str:
    """CONTRACT §10's normal form: Markdown markup gone (rendered, tags dropped; list markers too, which a
    copy from a page keeps or drops at random), NFKC, no whitespace."""
    plain = unescape(_TAG.sub(" ", to_safe_html(_MARKER.sub("", text.replace("\r\n", "\n")))))
    return _SPACE.sub("", unicodedata.normalize("NFKC", plain).translate(_FOLD))


def _hash(gram: str) -> int:
    return int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "big", signed=True)


def shingles(normalized: str, *, keep_all: bool = False) -> set[int]:
    """The sampled 4-gram hashes of a normalized text (all of them when few survive the sample)."""
    every = {_hash(normalized[i:i + K]) for i in range(max(0, len(normalized) - K + 1))}
    sampled = {h for h in every if h % SAMPLE == 0}
    return every if keep_all or len(sampled) < MIN_SAMPLED else sampled


def index_statement(session: Session, statement_id: int, revision_hash: str, body: str) -> None:
    """Add one published statement to the index, in the caller's transaction."""
    normalized = normalize(body)
    session.add(VerifyText(statement_id=statement_id, revision_hash=revision_hash, normalized=normalized))
    session.add_all(VerifyShingle(shingle=h, statement_id=statement_id) for h in shingles(normalized))


@event.listens_for(Session, "before_flush")
def _index_published(session: Session, _context: Any, _instances: Any) -> None:
    """A `published` ledger entry brings its statement into the index in the same transaction."""
    for obj in list(session.new):
        if isinstance(obj, LedgerEntry) and obj.kind == LedgerKind.PUBLISHED:
            with session.no_autoflush:
                body = session.scalar(select(Revision.body).where(
                    Revision.statement_id == obj.statement_id, Revision.hash == obj.revision_hash))
                known = session.get(VerifyText, obj.statement_id)
            if body is not None and known is None:
                index_statement(session, obj.statement_id, obj.revision_hash, body)


def reindex() -> int:
    """Index every published statement the index lacks (those published before it existed)."""
    rows = db.session.execute(
        select(LedgerEntry.statement_id, LedgerEntry.revision_hash, Revision.body)
        .join(Revision, (Revision.statement_id == LedgerEntry.statement_id)
              & (Revision.hash == LedgerEntry.revision_hash))
        .outerjoin(VerifyText, VerifyText.statement_id == LedgerEntry.statement_id)
        .where(LedgerEntry.kind == LedgerKind.PUBLISHED, VerifyText.statement_id.is_(None))
    ).all()
    for statement_id, revision_hash, body in rows:
        index_statement(db.session, statement_id, revision_hash, body)
    db.session.commit()
    return len(rows)


class Verdict(enum.StrEnum):
    AUTHENTIC = "authentic"
    MODIFIED = "modified"
    RETRACTED = "retracted"
    NOT_FOUND = "not_found"


@dataclass
class Answer:
    """What `POST /api/v1/public/verify` answers (CONTRACT §10), plus the retraction notice."""

    verdict: Verdict
    similarity: float = 0.0
    release: Release | None = None
    differences: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        rel = self.release
        out: dict[str, Any] = {
            "verdict": self.verdict.value, "statement_id": None, "title": None, "unit": None,
            "published_at": None, "url": None, "similarity": round(self.similarity, 3), "ledger_seq": None,
            "differences": self.differences,
        }
        if rel is not None:
            out.update(statement_id=rel.statement_id, title=rel.revision.title, unit=rel.statement.unit.name,
                       published_at=iso(rel.published_at), url=release_url(rel), ledger_seq=rel.ledger_seq,
                       revision_hash=rel.revision_hash)
            if rel.retracted_at is not None:
                out["retraction"] = {"at": iso(rel.retracted_at), "reason": rel.retraction_reason}
        return out


def release_url(rel: Release) -> str:
    """Where the public reads it: the portal delivery's URL (a CMS may have answered its own)."""
    portal = next((d for d in rel.deliveries if d.channel == Channel.PORTAL), None)
    if portal is not None and portal.url:
        return portal.url
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/releases/{rel.statement_id}"


def differences(published: str, pasted: str) -> list[dict[str, str]]:
    """The spans the pasted text deleted from, or inserted into, the published one (normalized)."""
    out = []
    for op in Indel.opcodes(published, pasted):
        if op.tag == "delete":
            out.append({"type": "deleted", "text": published[op.src_start:op.src_end]})
        elif op.tag == "insert":
            out.append({"type": "inserted", "text": pasted[op.dest_start:op.dest_end]})
    return out[:200]


def _candidates(query: str) -> list[VerifyText]:
    grams = shingles(query)
    if not grams:
        return []
    # the sample is deterministic: a long query's shingles in its sample are also in the document's
    picked = sorted(grams)[:QUERY_SHINGLES]
    hits = func.count().label("hits")
    ids = [row[0] for row in db.session.execute(
        select(VerifyShingle.statement_id, hits).where(VerifyShingle.shingle.in_(picked))
        .group_by(VerifyShingle.statement_id).order_by(hits.desc(), VerifyShingle.statement_id.desc())
        .limit(CANDIDATES)
    )]
    if not ids:
        return []
    return list(db.session.scalars(select(VerifyText).where(VerifyText.statement_id.in_(ids))))


def best_match(query: str) -> tuple[float, bool, VerifyText] | None:
    """The indexed text that best explains a normalized query: one contained whole (the longest), else the
    most similar; with its similarity in per cent."""
    best: tuple[float, bool, VerifyText] | None = None
    for doc in _candidates(query):
        whole = bool(doc.normalized) and doc.normalized in query
        score = 100.0 if whole else fuzz.ratio(doc.normalized, query)
        if best is None or (whole, score, len(doc.normalized)) > (best[1], best[0], len(best[2].normalized)):
            best = (score, whole, doc)
    return best


def check(text: str) -> Answer:
    """The verdict for a pasted text: authentic, modified, retracted or not found."""
    query = normalize(text)
    best = best_match(query) if query else None
    if best is None or (not best[1] and best[0] < MODIFIED_AT):
        return Answer(Verdict.NOT_FOUND, similarity=(best[0] / 100 if best else 0.0))
    score, whole, doc = best
    rel = db.session.scalar(select(Release).where(Release.statement_id == doc.statement_id))
    assert rel is not None
    diffs = [] if whole else differences(doc.normalized, query)
    if rel.retracted_at is not None:
        return Answer(Verdict.RETRACTED, score / 100, rel, diffs)
    return Answer(Verdict.AUTHENTIC if whole else Verdict.MODIFIED, score / 100, rel, diffs)


def by_hash(revision_hash: str) -> Release | None:
    """The published release of this revision hash (the QR code's `/verify?h=`)."""
    return db.session.scalar(
        select(Release).join(VerifyText, VerifyText.statement_id == Release.statement_id)
        .where(VerifyText.revision_hash == revision_hash)
    )

