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
from flask_login import current_user

from app import params
from app.extensions import get_redis
from app.models import Role
from wechat.sandbox.access import signed_in
from wechat.sandbox.config import app_secret, setting
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
    page = params.page_number(request.args.get("page"))
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
    # the account's credentials, for an admin connecting another client; nobody else may publish into it
    credentials = ({"app_id": setting("WECHAT_SANDBOX_APP_ID"), "app_secret": app_secret()}
                   if current_user.has_role(Role.ADMIN) else None)
    html = render_template(
        "sandbox/index.html",
        account=setting("WECHAT_SANDBOX_ACCOUNT_NAME"),
        entries=entries,
        page=page,
        has_more=page * PER_PAGE < total,
        credentials=credentials,
    )
    return _page_of(html)


def article(article_id: str) -> Response:
    """One article (``?idx=`` picks an item of a multi-article publish), phone-sized."""
    found = Store(get_redis()).article(article_id)
    if found is None:
        abort(404)
    try:
        idx = params.integer(request.args.get("idx") or "1", 1, len(found["news_item"]))
    except params.Unreadable:
        abort(404)  # no such item of this article
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
