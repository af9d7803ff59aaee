"""The mass send on the pages (interface §14): the editor's choice with the quota left, the mode as reviewers
and the leader read it, a statement's wait for the next period and 改为发布, 发到我的微信预览, and /desk's
quota panel.

The review and publishing pages sit below this package: they include its partials (`wechat/_*.html`, with
`ignore missing`) and publishing's desk takes its panel through `publishing.views.add_desk_panel`; the partials
ask the Jinja globals registered here. Nothing below imports wechat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.auth import local_target
from app.errors import HuiyingError
from app.extensions import db
from app.models import User
from review.availability import available_channels
from review.models import Channel, Statement, Status
from wechat import modes, phone_preview, quota

bp = Blueprint("wechat_pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/wechat/static")

#: Statements not yet approved: their mode is a choice still to be made against the quota as it is now.
BEFORE_RELEASE = frozenset({Status.DRAFT, Status.IN_REVIEW, Status.CHANGES_REQUESTED})


def _me() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


# --- what the partials ask ---------------------------------------------------------------------------


def current_quota() -> quota.Status:
    """This period's count and queue, read once per request (a page asks in several places)."""
    if "huiying_wechat_quota" not in g:
        g.huiying_wechat_quota = quota.status()
    return g.huiying_wechat_quota  # type: ignore[no-any-return]


def period_kind() -> str:
    """`day` (subscription account), `month` (service account) or `window` (WECHAT_MASS_PERIOD_SECONDS)."""
    if current_app.config.get("WECHAT_MASS_PERIOD_SECONDS"):
        return "window"
    return "month" if quota.account_type() == "service" else "day"


def mass_line() -> str:
    """What 群发 means, with what is left of this period's quota."""
    left, kind = current_quota().left, period_kind()
    if kind == "day":
        return _("推送给全部粉丝，占用今日群发名额（今日剩 %(n)d 次）", n=left)
    if kind == "month":
        return _("推送给全部粉丝，占用本月群发名额（本月剩 %(n)d 次）", n=left)
    return _("推送给全部粉丝，占用本期群发名额（本期剩 %(n)d 次）", n=left)


def mode_label(st: Statement) -> str:
    """群发（今日名额：剩 1） or 发布（不推送）: the statement's WeChat mode as reviewers and the leader read it;
    once approved, the quota is the deliveries' business and the mode alone is named."""
    if st.wechat_mode != "mass_send":
        return _("发布（不推送）")
    if st.status not in BEFORE_RELEASE:
        return _("群发（推送给粉丝）")
    left, kind = current_quota().left, period_kind()
    if kind == "day":
        return _("群发（今日名额：剩 %(n)d）", n=left)
    if kind == "month":
        return _("群发（本月名额：剩 %(n)d）", n=left)
    return _("群发（本期名额：剩 %(n)d）", n=left)


@dataclass(frozen=True)
class Wait:
    """Where a waiting statement stands: its place in the queue and when its mass send should go."""

    place: int  # 1-based
    expected_at: datetime


def waiting(statement_id: int) -> Wait | None:
    """The statement's place among those waiting for a slot, or None when it does not wait.

    The queue leaves in order, up to 8 articles a mass send and `limit` mass sends a period, from the next
    period on; a more urgent statement approved meanwhile goes ahead, so this is an estimate.
    """
    now = current_quota()
    if statement_id not in now.waiting:
        return None
    place = now.waiting.index(statement_id)
    periods_ahead = place // (quota.MAX_ARTICLES * max(1, now.limit))
    start = now.period_end
    for _period in range(periods_ahead):
        start = quota.period_bounds(start)[1]
    return Wait(place + 1, start)


def may_switch(st: Statement) -> bool:
    return modes.may_switch(_me(), st)


def may_preview(st: Statement | None) -> bool:
    """发到我的微信预览 is offered for a saved statement going to WeChat, to those who may send one."""
    return (st is not None and Channel.WECHAT.value in st.channels
            and Channel.WECHAT.value in available_channels() and phone_preview.may_preview(_me(), st))


def desk_panel(user: User) -> dict[str, Any]:
    """/desk's 群发名额: this period's count, and every statement waiting, in sending order (a title is a link
    for those who may open it: the quota is the whole account's, the statements are not)."""
    waiting_rows = quota.waiting_details()
    unit_of = dict(db.session.execute(
        select(Statement.id, Statement.unit_id).where(Statement.id.in_([w["id"] for w in waiting_rows]))
    ).all()) if waiting_rows else {}
    for row in waiting_rows:
        row["visible"] = user.sees_all_units or unit_of.get(row["id"]) == user.unit_id
    return {"quota": current_quota(), "kind": period_kind(), "waiting": waiting_rows,
            "per_send": quota.MAX_ARTICLES}


# --- the forms ----------------------------------------------------------------------------------------


def _refused(error: HuiyingError) -> None:
    """A refusal of the person (403, 404) is the error page; any other is said in a flash message."""
    db.session.rollback()
    if error.status in (403, 404):
        raise error
    flash(error.message, "error")


@bp.post("/statements/<int:statement_id>/wechat-publish")
@login_required
def switch_form(statement_id: int) -> Response:
    """改为发布 on the statement page: the service behind `POST /api/v1/statements/{id}/wechat-mode`."""
    try:
        modes.switch_to_publish(_me(), statement_id)
        flash(_("已改为发布：将立即在微信公众号发布，不推送给粉丝"), "success")
    except HuiyingError as error:
        _refused(error)
    return redirect(url_for("review.statement", statement_id=statement_id))


@bp.post("/statements/<int:statement_id>/wechat-preview")
@login_required
def preview_form(statement_id: int) -> Response:
    """发到我的微信预览 without script (the page's script calls the JSON API and answers in place)."""
    back = local_target(request.form.get("next", "")) or url_for("review.statement", statement_id=statement_id)
    try:
        sent = phone_preview.send(_me(), statement_id, request.form.get("towxname", "").strip() or None)
        flash(_("已发送到微信号 %(id)s（今日已用 %(n)d/%(limit)d）", id=sent["towxname"], n=sent["used_today"],
                limit=sent["limit"]), "success")
    except HuiyingError as error:
        _refused(error)
    return redirect(back)


def init_app(app: Flask) -> None:
    """The form routes, the partials' globals and the desk's quota panel."""
    from publishing.views import DeskPanel, add_desk_panel

    app.register_blueprint(bp)
    app.jinja_env.globals.update(
        wechat_mass_line=mass_line, wechat_mode_label=mode_label, wechat_waiting=waiting,
        wechat_may_switch=may_switch, wechat_may_preview=may_preview,
    )
    add_desk_panel(app, DeskPanel("wechat/_desk_quota.html", desk_panel))
