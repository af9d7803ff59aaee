"""Read-back (interface §10): after a channel reports `published`, read what it actually shows and compare
it with the approved text. A channel that shows something else is a public matter: the delivery records
`mismatch`, the ledger gets a `readback_mismatch` entry, the office is told. A channel that cannot be read
is tried again with backoff, then recorded as `unavailable`.

Each channel registers a reader (`register`): publishing knows how to read its own portal pages and a
CMS's page; WeChat reads `freepublish/getarticle` from its own package. When a read-back is due is a column
(`deliveries.readback_due_at`), not a scheduled job: the worker's sweep re-queues what is due, so a lost job
or a flushed Redis costs a delay, never a read-back.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import requests
from flask import current_app
from rapidfuzz import fuzz
from sqlalchemy import select, update

from app.door import transition
from app.extensions import db
from app.notifications import notify
from app.register import people
from app.timeutil import utcnow
from app.tx import begin_write
from publishing import ledger, queues
from publishing.lifecycle import DELIVERY, DeliveryEvent
from publishing.models import Delivery, DeliveryState, LedgerKind
from publishing.verify import bare, differences, normalize, reader_form
from review import renderings
from review.models import Channel, Statement

log = logging.getLogger(__name__)

READBACK_FUNC = "publishing.readback.run"
#: Waits before each further try at a channel that could not be read (about half an hour in all; the sweep
#: that notices them runs every SWEEP_INTERVAL_SECONDS).
BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=5), timedelta(minutes=20))
#: A queued read-back that has not recorded anything by then is queued again by the sweep.
LEASE = timedelta(minutes=2)
MAX_PAGE_BYTES = 4 * 1024 * 1024
FETCH_TIMEOUT = 10


class State(enum.StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    UNAVAILABLE = "unavailable"


class Unavailable(Exception):
    """The channel could not be read this time (network, 5xx, an API error): try again later."""


class Gone(Exception):
    """The channel answers that the statement is no longer there (deleted by the platform, say)."""


#: reader(delivery) → the HTML the channel shows for it (raises `Unavailable`)
Reader = Callable[[Delivery], str]
#: expected(body Markdown) → the HTML the channel was given for that body
Expected = Callable[[str], str]
_READERS: dict[str, tuple[Reader, Expected]] = {}


def _portal_html(body: str) -> str:
    return renderings.html("portal", body)  # the stored rendering of the approved text


def register(channel: str, reader: Reader, expected: Expected = _portal_html) -> None:
    """Called by a channel package at app start: how to read it back, and what it should show."""
    _READERS[channel] = (reader, expected)


def enqueue(delivery_id: int) -> None:
    """Queue a read-back of a published delivery on the `low` queue."""
    queues.queue("low").enqueue(READBACK_FUNC, delivery_id, job_id=f"readback-{delivery_id}-{uuid.uuid4().hex[:12]}",
                                result_ttl=600, failure_ttl=7 * 86400, description=f"read back delivery {delivery_id}")


def _due(ids: list[int], at: datetime | None) -> None:
    db.session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(readback_due_at=at)
                       .execution_options(synchronize_session=False))


def sweep() -> int:
    """Queue every read-back that is due (a retry's time has come, or a queued one never recorded anything)."""
    now = utcnow()
    begin_write()
    ids = list(db.session.scalars(
        select(Delivery.id).where(Delivery.readback_due_at <= now, Delivery.state == DeliveryState.PUBLISHED)
        .order_by(Delivery.readback_due_at).limit(200)
    ))
    if ids:
        _due(ids, now + LEASE)
    db.session.commit()
    for delivery_id in ids:
        enqueue(delivery_id)
    return len(ids)


def plain(html: str) -> str:
    """The text a page shows, normalized as the authenticity check normalizes (NFKC, no whitespace), without list
    markers (a channel may draw them or write them) and without alt texts (a channel may keep them or not)."""
    return bare(reader_form(html, alt=False))


def compare(expected_title: str, expected_html: str, shown: str) -> tuple[State, str]:
    """`match` when the channel shows the approved title and body whole; else `mismatch` with a short diff."""
    want_body, want_title = plain(expected_html), normalize(expected_title)
    got = plain(shown)
    if want_body in got and want_title in got:
        return State.MATCH, ""
    where = fuzz.partial_ratio_alignment(want_body, got)
    region = got[where.dest_start:where.dest_end] if where is not None else got
    diffs = differences(want_body, region)[:5]
    parts = [("−" if d["type"] == "deleted" else "+") + d["text"][:40] for d in diffs]
    if want_title not in got:
        parts.insert(0, f"标题不符：应为「{expected_title[:40]}」")
    return State.MISMATCH, "；".join(parts)[:500] or "内容不符"


def run(delivery_id: int) -> str:
    """The job: read the delivery's channel back, compare, record (`unavailable` comes due again later)."""
    d = db.session.get(Delivery, delivery_id)
    if d is None or d.state != DeliveryState.PUBLISHED:
        return "skipped"
    rev = d.release.revision
    try:
        if d.channel not in _READERS:
            raise Unavailable(f"渠道 {d.channel} 无法回读")
        reader, expected = _READERS[d.channel]
        state, detail = compare(rev.title, expected(rev.body), reader(d))
    except Unavailable as error:
        state, detail = State.UNAVAILABLE, str(error)[:500]
    except Gone as error:
        state, detail = State.MISMATCH, str(error)[:500]
    except Exception as error:  # a reader's bug must not look like a verdict on the channel
        log.exception("read-back of delivery %s failed", delivery_id)
        state, detail = State.UNAVAILABLE, f"{type(error).__name__}: {error}"[:500]
    db.session.rollback()
    record(delivery_id, state, detail)
    return state.value


def record(delivery_id: int, state: State, detail: str) -> None:
    """Store the outcome on the delivery; a new mismatch gets its ledger entry and tells the office.

    Through the door, on the delivery locked as it is now: one retracted while it was read has nothing to
    record (its channel is taking it down), so no `readback_mismatch` entry follows its retraction.
    """
    begin_write()
    d = db.session.scalar(select(Delivery).where(Delivery.id == delivery_id).with_for_update()
                          .execution_options(populate_existing=True))
    assert d is not None
    if not DELIVERY.allows(d.state, DeliveryEvent.READ_BACK):
        db.session.rollback()
        return
    before = d.readback
    now = utcnow()
    readback: dict[str, Any] = {"state": state.value, "at": now.isoformat(), "detail": detail}
    due = None
    if state == State.UNAVAILABLE:
        tries = (before or {}).get("tries", 0) + 1 if (before or {}).get("state") == State.UNAVAILABLE else 1
        readback["tries"] = tries
        due = now + BACKOFF[tries - 1] if tries <= len(BACKOFF) else None
    transition(d, DELIVERY, DeliveryEvent.READ_BACK, actor=None, values={"readback": readback, "readback_due_at": due},
               before=before or {}, after=readback)
    if state == State.MISMATCH and (before or {}).get("state") != State.MISMATCH:
        st = db.session.get(Statement, d.statement_id)
        assert st is not None
        entry = ledger.append(LedgerKind.READBACK_MISMATCH, d.statement_id, d.release.revision_hash, {
            "channel": d.channel, "url": d.url, "external_id": d.external_id, "detail": detail,
            "title": d.release.revision.title, "unit": st.unit.name,
        })
        title = d.release.revision.title
        notify("readback_mismatch", f"readback_mismatch:{d.id}:{entry.seq}", [*people(st.unit, "office")],
               subject=f"回读不一致：{title}",
               body=f"「{title}」在{d.channel}渠道显示的内容与批准的文本不一致（记录第 {entry.seq} 号）：{detail}",
               url=f"/statements/{d.statement_id}")
    db.session.commit()


def after_published(delivery_id: int) -> None:
    """For the dispatcher, once `published` is committed: queue the read-back. Never raises: the delivery
    is out whatever happens here, and a lost read-back only leaves `readback` empty."""
    try:
        begin_write()
        _due([delivery_id], utcnow() + LEASE)  # the sweep's safety net, should the job be lost
        db.session.commit()
        enqueue(delivery_id)
    except Exception:
        db.session.rollback()
        log.exception("could not queue the read-back of delivery %s", delivery_id)


# --- the portal's own reader ------------------------------------------------------------------------


def fetch_page(url: str) -> tuple[int, str]:
    """A page another system serves (a CMS's, a channel's article): its HTTP status and text, at most
    MAX_PAGE_BYTES, within FETCH_TIMEOUT; `Unavailable` when it cannot be reached."""
    try:
        resp = requests.get(url, timeout=FETCH_TIMEOUT, stream=True, allow_redirects=True)
        raw = resp.raw.read(MAX_PAGE_BYTES + 1, decode_content=True)
    except requests.RequestException as error:
        raise Unavailable(f"无法读取 {url[:120]}：{type(error).__name__}") from error
    return resp.status_code, raw[:MAX_PAGE_BYTES].decode(resp.encoding or "utf-8", errors="replace")


def read_portal(d: Delivery) -> str:
    """Our own page is rendered by this app (the same code the public reaches); a CMS's page is fetched."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    url = d.url or f"{base}/releases/{d.statement_id}"
    if url.startswith(base + "/"):
        with current_app.test_client() as client:
            own = client.get(url[len(base):])
        if own.status_code != 200:
            raise Unavailable(f"门户页面返回 {own.status_code}")
        return own.get_data(as_text=True)
    status, page = fetch_page(url)
    if status >= 500 or status in (404, 429):
        raise Unavailable(f"页面返回 HTTP {status}")
    if status >= 400:
        return ""  # the CMS answers but shows nothing: the statement is not what it shows
    return page


register(Channel.PORTAL.value, read_portal)

