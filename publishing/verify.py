"""Is this text what the institution published? (interface §10 authenticity, as amended by §20)

Every statement gets, in the transaction that writes its `published` ledger entry, its **reader's form**: the
text as a reader sees it on the page (Markdown rendered, tags and link targets dropped, NFKC, no whitespace),
in which the two things a faithful copy may or may not carry are delimited: a list item's marker (a page shows
"1." or "•", a copy keeps or drops it) and an image's alt text (a copy may include it or not). Everything else
is text a reader reads, so it must be there, character for character.

A pasted text is read as plain text, what a reader copies from a page: normalized the same way, nothing dropped
but whitespace (never digits, punctuation, a link-reference line or an HTML comment: a reader reads those). A
drafter or an integrator may paste the Markdown source instead: that counts when it equals the statement's source
up to whitespace. The verdict (§20): `authentic` only when the text *equals* a statement's form (its markers and
alt texts there or not, optionally preceded by its title) or its source; `excerpt` when a text of at least 20
characters appears whole inside one; `modified` when it holds a statement plus anything else, or is at least 60 %
similar to one; `retracted` when the match is a retracted statement; else `not_found`.

Candidates come from an inverted index of each body's character 4-gram shingles (those whose hash is 0 mod
`SAMPLE`; a short body keeps them all): one grouped query picks a handful, and only those are compared in full,
so a query costs the same against ten statements or 100,000.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from flask import current_app
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel
from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, event, select
from sqlalchemy import func as sql_func
from sqlalchemy.orm import Mapped, Session, mapped_column, scoped_session

from app.extensions import Model, db
from app.timeutil import iso
from publishing.models import LedgerEntry, LedgerKind, Release
from review import renderings
from review.models import Channel, Revision
from review.render import to_safe_html

K, SAMPLE, MIN_SAMPLED, QUERY_SHINGLES, CANDIDATES = 4, 4, 8, 3000, 8
MODIFIED_AT = 60.0  # per cent similarity (interface §10)
EXCERPT_MIN = 20  # normalized characters a quote needs (interface §20)
CONTEXT = 10  # characters of context on each side of a difference (interface §20)


class VerifyText(Model):
    """A published statement's body in its reader's form: what a pasted text is compared with."""

    __tablename__ = "verify_texts"
    __table_args__ = (Index("ix_verify_texts_hash", "revision_hash"),)

    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), primary_key=True)
    revision_hash: Mapped[str] = mapped_column(String(64))
    normalized: Mapped[str] = mapped_column(Text)


class VerifyShingle(Model):
    """The inverted index: a sampled shingle → the statements whose normalized body has it."""

    __tablename__ = "verify_shingles"

    shingle: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    statement_id: Mapped[int] = mapped_column(Integer, ForeignKey("statements.id"), primary_key=True)


# --- normal forms ---------------------------------------------------------------------------------------------

_SPACE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
#: Punctuation NFKC leaves alone but a retyped or OCR'd copy often changes: folded to one form (never dropped).
_FOLD = str.maketrans({"。": ".", "、": ",", "“": '"', "”": '"', "「": '"', "」": '"', "‘": "'", "’": "'",
                       "『": '"', "』": '"', "—": "-", "–": "-", "…": "...", "·": "."})
#: Delimiters (Unicode private use) around what a faithful copy may carry or not: `m` a list item's marker, `a` an
#: image's alt text. They exist only in forms made from rendered HTML; a pasted text's own are removed.
OPEN, CLOSE = "\ue000", "\ue001"
_SEGMENT = re.compile("\ue000([ma])([^\ue001]*)\ue001")
_DELIMITERS = str.maketrans("", "", OPEN + CLOSE)


def normalize(text: str) -> str:
    """A plain text's normal form: NFKC, punctuation variants folded, no whitespace — nothing else dropped."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text).translate(_FOLD))


class _Reader(HTMLParser):
    """The text of sanitized HTML as a reader sees it, with list markers and alt texts delimited."""

    def __init__(self, alt: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.alt, self.hidden = alt, 0
        self.parts: list[str] = []
        self.lists: list[int | None] = []  # the open lists: the next item's number, or None for bullets

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag == "ol":
            start = dict(attrs).get("start") or "1"
            self.lists.append(int(start) if start.isascii() and start.isdigit() and len(start) < 10 else 1)
        elif tag == "ul":
            self.lists.append(None)
        elif tag == "li":
            number = self.lists[-1] if self.lists else None
            if number is not None:
                self.lists[-1] = number + 1
            self.parts.append(f"{OPEN}m{'•' if number is None else f'{number}.'}{CLOSE}")
        elif tag == "img" and self.alt:
            alt = (dict(attrs).get("alt") or "").translate(_DELIMITERS)
            if alt.strip():
                self.parts.append(f"{OPEN}a{alt}{CLOSE}")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden = max(0, self.hidden - 1)
        elif tag in ("ol", "ul") and self.lists:
            self.lists.pop()

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data.translate(_DELIMITERS))


def reader_form(html: str, *, alt: bool = True) -> str:
    """What a reader reads in this HTML, normalized, with list markers (and alt texts) delimited."""
    reader = _Reader(alt)
    reader.feed(html)
    reader.close()
    return normalize("".join(reader.parts))


def statement_form(body: str) -> str:
    """A statement body's reader's form, from the current portal renderer (for a body never stored)."""
    return reader_form(to_safe_html(body))


def bare(form: str) -> str:
    """A form without its optional parts: the text every faithful copy has."""
    return _SEGMENT.sub("", form)


def full(form: str) -> str:
    """A form with all its optional parts: a copy that kept every marker and alt text (as WeChat shows lists)."""
    return _SEGMENT.sub(r"\2", form)


#: How a copy may write a bullet (`·` arrives folded to `.`).
_BULLETS = "(?:[-*+•.▪◦●○■□])?"


@functools.lru_cache(maxsize=64)
def _pattern(form: str, title: str) -> re.Pattern[str]:
    """The texts that are exactly this statement: its title or not, each marker and alt text there or not."""
    out, pos = [re.escape(title).join(("(?:", ")?")) if title else ""], 0
    for m in _SEGMENT.finditer(form):
        out.append(re.escape(form[pos:m.start()]))
        kind, content = m.groups()
        if kind == "a":
            out.append(f"(?:{re.escape(content)})?")
        elif content == "•":
            out.append(_BULLETS)
        else:
            out.append(f"(?:{re.escape(content[:-1])}[.,)])?")
        pos = m.end()
    out.append(re.escape(form[pos:]))
    return re.compile("".join(out), re.DOTALL)


# --- the index ----------------------------------------------------------------------------------------------------


def _hash(gram: str) -> int:
    return int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "big", signed=True)


def shingles(normalized: str, *, keep_all: bool = False) -> set[int]:
    """The sampled 4-gram hashes of a normalized text (all of them when few survive the sample)."""
    every = {_hash(normalized[i:i + K]) for i in range(max(0, len(normalized) - K + 1))}
    sampled = {h for h in every if h % SAMPLE == 0}
    return every if keep_all or len(sampled) < MIN_SAMPLED else sampled


def index_statement(session: Session | scoped_session[Any], statement_id: int, revision_hash: str, body: str) -> None:
    """Add one published statement to the index, in the caller's transaction.

    From the stored portal rendering, the one its page shows: a body rendered by an older renderer version keeps
    that rendering, so its form here is the form of its page (the index is never rebuilt)."""
    form = reader_form(renderings.html("portal", body, store=False))
    session.add(VerifyText(statement_id=statement_id, revision_hash=revision_hash, normalized=form))
    session.add_all(VerifyShingle(shingle=h, statement_id=statement_id) for h in shingles(bare(form)))


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


# --- the verdict --------------------------------------------------------------------------------------------------


class Verdict(enum.StrEnum):
    AUTHENTIC = "authentic"
    EXCERPT = "excerpt"
    MODIFIED = "modified"
    RETRACTED = "retracted"
    NOT_FOUND = "not_found"


@dataclass
class Answer:
    """What `POST /api/v1/public/verify` answers (interface §10, §20), plus the retraction notice."""

    verdict: Verdict
    similarity: float = 0.0
    release: Release | None = None
    differences: list[dict[str, str]] = field(default_factory=list)
    #: How the pasted text relates to the statement it matched: `exact`, `excerpt` or `similar` (also when the
    #: statement was retracted, so the page can say which).
    relation: str | None = None

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
                       revision_hash=rel.revision_hash, relation=self.relation)
            if rel.retracted_at is not None:
                out["retraction"] = {"at": iso(rel.retracted_at), "reason": rel.retraction_reason}
        return out


def release_url(rel: Release) -> str:
    """Where the public reads it: the portal delivery's URL (a CMS may have answered its own)."""
    portal = next((d for d in rel.deliveries if d.channel == Channel.PORTAL), None)
    if portal is not None and portal.url:
        return portal.url
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/releases/{rel.statement_id}"


def differences(published: str, pasted: str, *, limit: int = 200) -> list[dict[str, str]]:
    """The spans the pasted text deleted from, or inserted into, the published one (both normalized), each with
    up to `CONTEXT` characters of unchanged text on either side; a change is a deletion and an insertion."""
    ops = list(Indel.opcodes(published, pasted))
    out: list[dict[str, str]] = []
    i = 0
    while i < len(ops) and len(out) < limit:
        if ops[i].tag == "equal":
            i += 1
            continue
        j = i
        while j < len(ops) and ops[j].tag != "equal":
            j += 1
        first, last = ops[i], ops[j - 1]
        before = published[max(0, first.src_start - CONTEXT):first.src_start]
        after = published[last.src_end:last.src_end + CONTEXT]
        for op in ops[i:j]:
            if op.tag == "delete":
                out.append({"type": "deleted", "text": published[op.src_start:op.src_end],
                            "before": before, "after": after})
            else:
                out.append({"type": "inserted", "text": pasted[op.dest_start:op.dest_end],
                            "before": before, "after": after})
        i = j
    return out[:limit]


def hunks(diffs: list[dict[str, str]]) -> list[dict[str, str]]:
    """The differences as a page shows them: one hunk per place, its deletion and insertion side by side."""
    out: list[dict[str, str]] = []
    for d in diffs:
        last = out[-1] if out else None
        if last is not None and last["before"] == d["before"] and last["after"] == d["after"] \
                and not last[d["type"]]:
            last[d["type"]] = d["text"]
        else:
            out.append({"before": d["before"], "after": d["after"], "deleted": "", "inserted": "",
                        d["type"]: d["text"]})
    return out


EXACT, EXCERPT, SIMILAR = 3, 2, 1


@dataclass
class Match:
    """How well one statement explains a pasted text: the rank decides (3 exact, 2 excerpt, 1 similar or holding
    the statement whole plus more), then the score (per cent)."""

    rank: int
    score: float
    against: str  # the statement's text the pasted one is best compared with (for the differences)


def judge(text: str, form: str, title: str, source: str) -> Match | None:
    """How a normalized pasted text relates to one statement, given its reader's form, its normalized title and its
    normalized Markdown source (a drafter may paste that): the rule of interface §20, as a pure function."""
    body, marked = bare(form), full(form)
    if _pattern(form, title).fullmatch(text) or text in (source, title + source):
        return Match(EXACT, 100.0, body)
    if len(text) >= EXCERPT_MIN and (text in body or text in marked or text in source):
        return Match(EXCERPT, 100.0 * len(text) / max(1, len(body)), body)
    variants = {body, marked, source}
    if title and text.startswith(title[:EXCERPT_MIN]):
        variants |= {title + body, title + marked}
    scored = [(fuzz.ratio(v, text), v) for v in variants]
    score, against = max(scored, key=lambda pair: (pair[0], pair[1] == body))
    if score >= MODIFIED_AT or body in text or source in text:
        return Match(SIMILAR, score, against)
    return None


def candidate_ids(text: str) -> list[int]:
    """The few indexed statements sharing the most sampled shingles with a normalized text: one grouped query."""
    grams = shingles(text)
    if not grams:
        return []
    # the sample is deterministic: a long query's shingles in its sample are also in the document's
    picked = sorted(grams)[:QUERY_SHINGLES]
    hits = sql_func.count().label("hits")
    return [row[0] for row in db.session.execute(
        select(VerifyShingle.statement_id, hits).where(VerifyShingle.shingle.in_(picked))
        .group_by(VerifyShingle.statement_id).order_by(hits.desc(), VerifyShingle.statement_id.desc())
        .limit(CANDIDATES)
    )]


def _candidates(text: str) -> list[tuple[VerifyText, str, str]]:
    """The candidates with their published title and Markdown source: (doc, title, body)."""
    ids = candidate_ids(text)
    if not ids:
        return []
    rows = db.session.execute(
        select(VerifyText, Revision.title, Revision.body)
        .join(Revision, (Revision.statement_id == VerifyText.statement_id)
              & (Revision.hash == VerifyText.revision_hash))
        .where(VerifyText.statement_id.in_(ids))
    ).all()
    return [(doc, title, body) for doc, title, body in rows]


def best_match(text: str) -> tuple[Match, VerifyText] | None:
    """The indexed statement that best explains a normalized pasted text, with how."""
    best: tuple[Match, VerifyText] | None = None
    for doc, title, body in _candidates(text):
        m = judge(text, doc.normalized, normalize(title), normalize(body))
        if m is not None and (best is None or (m.rank, m.score, len(m.against)) > (best[0].rank, best[0].score,
                                                                                  len(best[0].against))):
            best = (m, doc)
    return best


_VERDICTS = {EXACT: (Verdict.AUTHENTIC, "exact"), EXCERPT: (Verdict.EXCERPT, "excerpt"),
             SIMILAR: (Verdict.MODIFIED, "similar")}


def check(text: str) -> Answer:
    """The verdict for a pasted text: authentic, excerpt, modified, retracted or not found (interface §20)."""
    query = normalize(text).translate(_DELIMITERS)
    found = best_match(query) if query else None
    if found is None:
        return Answer(Verdict.NOT_FOUND)
    match, doc = found
    rel = db.session.scalar(select(Release).where(Release.statement_id == doc.statement_id))
    assert rel is not None
    verdict, relation = _VERDICTS[match.rank]
    if rel.retracted_at is not None:
        return Answer(Verdict.RETRACTED, match.score / 100, rel, [], relation)
    diffs = differences(match.against, query) if match.rank == SIMILAR else []
    return Answer(verdict, match.score / 100, rel, diffs, relation)


def by_hash(revision_hash: str) -> Release | None:
    """The published release of this revision hash (the QR code's `/verify?h=`)."""
    return db.session.scalar(
        select(Release).join(VerifyText, VerifyText.statement_id == Release.statement_id)
        .where(VerifyText.revision_hash == revision_hash)
    )
