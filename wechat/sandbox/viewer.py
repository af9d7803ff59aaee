"""The sandbox viewer: what the account published and pushed, shown as a phone would show it.

Signed-in users see the published articles, a follower's chat with the account's mass sends (群发) and the
previews each WeChat ID received. A mass send's article page (``/s?__biz=…``) answers anyone, as
mp.weixin.qq.com/s does: it is where a pushed message leads, and where the app reads its article back.

The article HTML arrives through the API, so it is shown inside a sandboxed iframe
(no scripts, no same-origin access) under a ``script-src 'none'`` policy: whatever a
body contains, nothing in it runs on this origin.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import params
from app.extensions import get_redis
from app.models import Role
from wechat.sandbox.access import signed_in, switches_on
from wechat.sandbox.api import ARTICLES_MAX
from wechat.sandbox.config import app_secret, setting
from wechat.sandbox.mass import ADMIN_REJECTED, CONFIRMATION_TIMED_OUT, MassSends, MassStatus
from wechat.sandbox.mass_api import MID_MAX, biz, current_period, settle, signature
from wechat.sandbox.store import Store

SHANGHAI = ZoneInfo("Asia/Shanghai")
PER_PAGE = 20
CONTENT_SECURITY_POLICY = "script-src 'none'; object-src 'none'; form-action 'none'; frame-ancestors 'self'"
#: The chat and preview lists hold no article body, only the admin's buttons, which post to the sandbox.
LIST_POLICY = "script-src 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'self'"


def _local(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, SHANGHAI)
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def _page_of(html: str, status: int = 200, policy: str = CONTENT_SECURITY_POLICY) -> Response:
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = policy
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


def _article_page(item: dict[str, Any], published_at: float, back: str, note: str = "") -> Response:
    """One article as a phone shows it (the body in the sandboxed frame)."""
    account = setting("WECHAT_SANDBOX_ACCOUNT_NAME")
    source = item["content_source_url"]
    frame = render_template(
        "sandbox/article_frame.html",
        account=account,
        item=item,
        date=_local(published_at),
        source_url=source if source.startswith(("http://", "https://")) else "",
    )
    return _page_of(render_template("sandbox/article.html", account=account, item=item, frame=frame,
                                    back=back, note=note))


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
        return _page_of(render_template("sandbox/deleted.html", account=account, back=url_for(".index"),
                                        notice=_("该内容已被发布者删除")), 410)
    return _article_page(item, found["published_at"], url_for(".index"))


# --- mass sends --------------------------------------------------------------------------


def _local_link(url: str) -> str:
    """An article URL the API gave (absolute, for whichever host the caller used) as a link on this site."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _failure(result: str) -> str:
    if result == ADMIN_REJECTED:
        return _("管理员已在手机上拒绝")
    if result == CONFIRMATION_TIMED_OUT:
        return _("管理员 30 分钟内未在手机上确认")
    return result


def _message(sends: MassSends, job: dict[str, Any]) -> dict[str, Any]:
    """A mass send as a follower's chat shows it: its card, time, status and counts."""
    status = sends.status(job)
    awaiting = sends.awaiting(job)
    label = {
        MassStatus.SENDING: _("待手机确认") if awaiting else _("发送中"),
        MassStatus.SEND_SUCCESS: _("已发送"),
        MassStatus.SEND_FAIL: _("发送失败"),
        MassStatus.DELETE: _("已删除"),
    }[status]
    reached = status in (MassStatus.SEND_SUCCESS, MassStatus.DELETE)
    articles = [
        {
            "title": item["title"],
            "digest": item["digest"],
            "thumb_url": item["thumb_url"],
            "deleted": item["is_deleted"],
            "href": _local_link(item["url"]) if reached and not item["is_deleted"] else "",
        }
        for item in job["news_item"]
    ]
    return {
        "msg_id": job["msg_id"],
        "date": _local(job["submitted_at"]),
        "status": label,
        "state": str(status).lower(),
        "awaiting": awaiting,
        "reason": _failure(job["result"]) if status is MassStatus.SEND_FAIL else "",
        "sent": job["total_count"] if reached else 0,
        "total": job["total_count"],
        "articles": articles,
    }


def _may_switch() -> bool:
    """Whether this viewer gets the buttons of the admin's phone (the same guard as the switches)."""
    return switches_on() and current_user.has_role(Role.ADMIN)


def mass() -> Response:
    """A follower's chat with the account: its mass sends as cards, the newest at the bottom."""
    page = params.page_number(request.args.get("page"))
    store = Store(get_redis())
    sends = MassSends(store)
    total, jobs = sends.jobs((page - 1) * PER_PAGE, PER_PAGE)
    for job in jobs:
        settle(store, job)  # a look at the chat is a read: a job that is due finishes (and its event goes)
    period = current_period(store)
    html = render_template(
        "sandbox/mass.html",
        account=setting("WECHAT_SANDBOX_ACCOUNT_NAME"),
        messages=[_message(sends, job) for job in reversed(jobs)],
        page=page,
        has_more=page * PER_PAGE < total,
        quota={"used": sends.used(period), "limit": period.limit,
               "start": _local(period.start), "end": _local(period.end)},
        protection=sends.protection(bool(setting("WECHAT_SANDBOX_MASS_PROTECTION"))),
        may_switch=_may_switch(),
    )
    return _page_of(html, policy=LIST_POLICY)


def mass_article() -> Response:
    """``/s?__biz=…&mid=…&idx=…&sn=…``: an article of a mass send, to anyone with its URL, once it is sent."""
    try:
        mid = params.integer(request.args.get("mid", ""), 1, MID_MAX)
        idx = params.integer(request.args.get("idx", "") or "1", 1, ARTICLES_MAX)
    except params.Unreadable:
        abort(404)
    sn = request.args.get("sn", "")
    if request.args.get("__biz") != biz() or not hmac.compare_digest(sn.encode(), signature(mid, idx).encode()):
        abort(404)
    store = Store(get_redis())
    sends = MassSends(store)
    job = sends.by_mid(mid)
    if job is None or idx > len(job["news_item"]):
        abort(404)
    settle(store, job)
    if sends.status(job) not in (MassStatus.SEND_SUCCESS, MassStatus.DELETE):
        abort(404)  # not sent (yet): there is nothing at this address
    item = job["news_item"][idx - 1]
    if item["is_deleted"]:
        account = setting("WECHAT_SANDBOX_ACCOUNT_NAME")
        return _page_of(render_template("sandbox/deleted.html", account=account, back=url_for(".mass"),
                                        notice=_("此内容已被发布者删除")), 410)
    return _article_page(item, job["ready_at"], url_for(".mass"))


def previews() -> Response:
    """The previews each WeChat ID received, newest first."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for record in MassSends(Store(get_redis())).previews():
        by_id.setdefault(record["towxname"], []).append({
            "msg_id": record["msg_id"],
            "date": _local(record["sent_at"]),
            "articles": [
                {"title": item["title"], "digest": item["digest"], "thumb_url": item["thumb_url"], "deleted": False,
                 "href": url_for(".preview", msg_id=record["msg_id"], idx=idx if idx > 1 else None)}
                for idx, item in enumerate(record["news_item"], start=1)
            ],
        })
    html = render_template("sandbox/previews.html", account=setting("WECHAT_SANDBOX_ACCOUNT_NAME"),
                           recipients=sorted(by_id.items()))
    return _page_of(html, policy=LIST_POLICY)


def preview(msg_id: int) -> Response:
    """One article of a preview, as the WeChat ID it was sent to reads it."""
    record = MassSends(Store(get_redis())).preview_sent(msg_id)
    if record is None:
        abort(404)
    try:
        idx = params.integer(request.args.get("idx") or "1", 1, len(record["news_item"]))
    except params.Unreadable:
        abort(404)
    note = _("预览，仅 %(wxid)s 可见", wxid=record["towxname"])
    return _article_page(record["news_item"][idx - 1], record["sent_at"], url_for(".previews"), note)


def register(bp: Blueprint) -> None:
    """Add the viewer's routes to the sandbox blueprint."""
    bp.add_url_rule("/", "index", signed_in(index))
    bp.add_url_rule("/articles/<article_id>", "article", signed_in(article))
    bp.add_url_rule("/mass", "mass", signed_in(mass))
    bp.add_url_rule("/previews", "previews", signed_in(previews))
    bp.add_url_rule("/previews/<int:msg_id>", "preview", signed_in(preview))
    bp.add_url_rule("/s", "mass_article", mass_article)  # public, as mp.weixin.qq.com/s
