"""The sandbox viewer: the account's published articles, shown as a phone would show them, to signed-in users.

The article HTML arrives through the API, so it is shown inside a sandboxed iframe
(no scripts, no same-origin access) under a ``script-src 'none'`` policy: whatever a
body contains, nothing in it runs on this origin.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request

from app.extensions import get_redis
from wechat.sandbox.access import signed_in
from wechat.sandbox.config import setting
from wechat.sandbox.store import Store

SHANGHAI = ZoneInfo("Asia/Shanghai")
PER_PAGE = 20
CONTENT_SECURITY_POLICY = "script-src 'none'; object-src 'none'; form-action 'none'; frame-ancestors 'self'"


def _local(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, SHANGHAI)
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def _page_of(html: str, status: int = 200) -> Response:
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def index() -> Response:
    """The account's published, undeleted articles, newest first."""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    total, articles = Store(get_redis()).articles((page - 1) * PER_PAGE, PER_PAGE)
    entries: list[dict[str, Any]] = [
        {
            "article_id": article["article_id"],
            "idx": idx,
            "item": item,
            "date": _local(article["published_at"]),
        }
        for article in articles
        for idx, item in enumerate(article["news_item"], start=1)
        if not item["is_deleted"]
    ]
    html = render_template(
        "sandbox/index.html",
        account=setting("WECHAT_SANDBOX_ACCOUNT_NAME"),
        entries=entries,
        page=page,
        has_more=page * PER_PAGE < total,
    )
    return _page_of(html)


def article(article_id: str) -> Response:
    """One article (``?idx=`` picks an item of a multi-article publish), phone-sized."""
    found = Store(get_redis()).article(article_id)
    idx = request.args.get("idx", 1, type=int) or 1
    if found is None or not 1 <= idx <= len(found["news_item"]):
        abort(404)
    item = found["news_item"][idx - 1]
    account = setting("WECHAT_SANDBOX_ACCOUNT_NAME")
    if item["is_deleted"]:
        return _page_of(render_template("sandbox/deleted.html", account=account), 410)
    source = item["content_source_url"]
    frame = render_template(
        "sandbox/article_frame.html",
        account=account,
        item=item,
        date=_local(found["published_at"]),
        source_url=source if source.startswith(("http://", "https://")) else "",
    )
    return _page_of(render_template("sandbox/article.html", account=account, item=item, frame=frame))


def register(bp: Blueprint) -> None:
    """Add the viewer's routes to the sandbox blueprint."""
    bp.add_url_rule("/", "index", signed_in(index))
    bp.add_url_rule("/articles/<article_id>", "article", signed_in(article))
