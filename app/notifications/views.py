"""The inbox over the API and as a page, and the unread count in every page's header."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import update
from werkzeug.wrappers import Response

from app import LOCALES, params
from app.api import actor, api_blueprint
from app.extensions import db
from app.models import User
from app.notifications import inbox
from app.notifications.inbox import notification_json
from app.openapi import operation
from app.paging import Cut
from app.schemas import Marked, NotificationList, NotificationOut, NotificationQuery
from app.tx import begin_write
from app.validation import parse_query

api = api_blueprint("notifications_api", __name__)
bp = Blueprint("notifications", __name__)

PER_PAGE = 20


def _unread_only() -> bool:
    return request.args.get("unread", "").lower() in ("1", "true", "yes")


@api.get("/notifications")
@operation("The caller's inbox", query=NotificationQuery, responses={200: NotificationList})
def list_notifications() -> Response:
    """The caller's own notifications, newest first; `?unread=true` for the unread ones only."""
    user = actor()
    query = parse_query(NotificationQuery, request.args)
    items, total = inbox.inbox(user, unread=query.unread, at=query.cut)
    return jsonify({"items": [notification_json(n) for n in items], "total": total})


@api.post("/notifications/<int:notification_id>/read")
@operation("Mark one notification read", responses={200: NotificationOut})
def read_one(notification_id: int) -> Response:
    return jsonify(notification_json(inbox.mark_read(actor(), notification_id)))


@api.post("/notifications/read-all")
@operation("Mark all the caller's notifications read", responses={200: Marked})
def read_all() -> Response:
    return jsonify({"marked": inbox.mark_all_read(actor())})


def _user() -> Any:
    return current_user._get_current_object()


@bp.get("/inbox")
@login_required
def inbox_page() -> str:
    """收件箱: the person's notifications, newest first, unread ones marked."""
    page_no = params.page_number(request.args.get("page"))
    unread = _unread_only()
    items, total = inbox.inbox(_user(), unread=unread, at=Cut(page_no, PER_PAGE))
    return render_template("notifications/inbox.html", items=items, total=total, page=page_no,
                           per_page=PER_PAGE, unread=unread)


@bp.post("/inbox/<int:notification_id>/open")
@login_required
def open_one(notification_id: int) -> Response:
    """Mark it read and go where it points (only ever a path on this site)."""
    found = inbox.mark_read(_user(), notification_id)
    target = found.url if found.url.startswith("/") and not found.url.startswith("//") else ""
    return redirect(target or url_for(".inbox_page"))


@bp.post("/inbox/read-all")
@login_required
def open_all() -> Response:
    marked = inbox.mark_all_read(_user())
    flash(_("已将 %(n)d 条通知标为已读", n=marked), "success")
    return redirect(url_for(".inbox_page"))


def unread_badge() -> dict[str, Callable[[], int]]:
    """`unread_notifications()` for the header: one COUNT, only on pages that show it, once per request."""

    def count() -> int:
        if not current_user.is_authenticated:
            return 0
        if "huiying_unread" not in g:
            g.huiying_unread = inbox.unread_count(_user())
        return int(g.huiying_unread)

    return {"unread_notifications": count}


def remember_language() -> None:
    """A signed-in person who picks a language (`?lang=`) is written to in it from then on: e-mail and
    gateway copies are sent from the worker, where no page says which language its reader chose."""
    chosen = request.args.get("lang")
    if chosen not in LOCALES or not current_user.is_authenticated or current_user.locale == chosen:
        return
    user_id = current_user.id
    begin_write()  # its own short write, before the page reads anything (as `app.sessions.seen` does)
    db.session.execute(update(User).where(User.id == user_id).values(locale=chosen))
    db.session.commit()
