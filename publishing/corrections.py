"""更正: what a correction says about the statement it corrects, on every channel (interface §3 `corrects`).

Chinese government sites head a correction with 更正说明 and name the original (原文) with its date; the
original in turn says it was corrected and where. Channels other than the portal pages get the same facts in
their `Dispatch.extra["corrects"]`, so the WeChat article and a CMS's copy carry the notice too.
"""

from __future__ import annotations

from html import escape
from typing import Any

from flask import current_app

from app.timeutil import format_local
from publishing.models import Delivery
from review.models import Statement

NOTICE_HEADING = "更正说明"


def _url(deliveries: list[Delivery], channel: str) -> str | None:
    return next((d.url for d in deliveries if d.channel == channel and d.url and d.published_at), None)


def original_of(st: Statement) -> dict[str, Any] | None:
    """The statement a correction corrects, as channels name it: id, title, publication time, its URLs."""
    original = st.corrects
    if original is None:
        return None
    rel = original.release  # type: ignore[attr-defined]  # the backref publishing.models adds to review's Statement
    rev = rel.revision if rel is not None else original.current_revision
    deliveries = list(rel.deliveries) if rel is not None else []
    base = current_app.config["PUBLIC_BASE_URL"]
    return {
        "statement_id": original.id,
        "title": rev.title if rev is not None else "",
        "published_at": rel.published_at.isoformat() if rel is not None and rel.published_at else None,
        "url": _url(deliveries, "portal") or f"{base}/releases/{original.id}",
        "wechat_url": _url(deliveries, "wechat"),
    }


def notice_sentence(original: dict[str, Any] | dict[str, object]) -> str:
    """"本文是对 2026年12月01日 发布的《…》的更正，以本文为准。": the notice's words, in the institution's language."""
    when = original.get("published_at")
    day = format_local(str(when), "%Y年%m月%d日") if when else ""
    if day:
        return f"本文是对{day}发布的《{original['title']}》的更正，以本文为准。"
    return f"本文是对《{original['title']}》的更正，以本文为准。"


def notice_html(original: dict[str, Any]) -> str:
    """The notice as the portal's semantic HTML (a CMS's copy of a correction opens with it)."""
    url = escape(str(original.get("url") or ""))
    return (f'<div class="correction-notice"><p><strong>{NOTICE_HEADING}</strong>：'
            f'{escape(notice_sentence(original))}</p><p>原文：<a href="{url}">{escape(str(original["title"]))}</a>'
            f"</p></div>")
