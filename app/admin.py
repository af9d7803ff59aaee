"""Administration pages (interface §11): units and their register, users, API tokens (`admin`); the audit
trail (`office`, `admin`). Each page parses the form and calls one service of `app.accounts`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, time
from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from app import accounts, audit, nav, params, prg
from app.errors import Forbidden, HuiyingError, Invalid
from app.extensions import db
from app.models import ApiToken, Role, Unit, User
from app.paging import Cut
from app.register import create_unit, get_unit, update_unit
from app.timeutil import SHANGHAI, utcnow

bp = Blueprint("admin", __name__, url_prefix="/admin")

FIELDS = ("name", "parent", "first_responsible", "direct_responsible", "spokespersons", "duty_phone")


def _admin() -> User:
    user: User = current_user._get_current_object()
    if not user.has_role(Role.ADMIN):
        raise Forbidden(_("只有系统管理员可以管理单位"))
    return user


@bp.route("/units", methods=["GET", "POST"])
@login_required
def units() -> Response | tuple[str, int]:
    """单位与责任人: every unit with whom to call, and a form that adds one (interface §20, as POST /api/v1/units)."""
    admin = _admin()
    if request.method == "POST":
        values = {name: request.form.get(name, "").strip() for name in ("code", *FIELDS)}
        try:
            created = create_unit(admin, _data(values))
        except HuiyingError as err:
            db.session.rollback()
            return prg.back(url_for(".units"), err, values=values)
        flash(_("已创建单位 %(name)s，可继续填写责任人", name=created.name), "success")
        return redirect(url_for(".unit", code=created.code))
    kept = prg.take()
    rows = db.session.scalars(
        select(Unit).options(selectinload(Unit.parent), selectinload(Unit.first_responsible),
                             selectinload(Unit.direct_responsible), selectinload(Unit.spokespersons))
        .order_by(Unit.code)
    )
    units = list(rows)
    people = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    error = kept.error if kept is not None else None
    return render_template("admin/units.html", units=units, parents=units, people=list(people),
                           values=(kept.values if kept is not None else None) or dict.fromkeys(("code", *FIELDS), ""),
                           error=error, fields=(error.fields or {}) if error else {}), (error.status if error else 200)


def _stored(unit: Unit) -> dict[str, str]:
    return {
        "name": unit.name,
        "parent": unit.parent.code if unit.parent else "",
        "first_responsible": unit.first_responsible.username if unit.first_responsible else "",
        "direct_responsible": unit.direct_responsible.username if unit.direct_responsible else "",
        "spokespersons": " ".join(u.username for u in unit.spokespersons),
        "duty_phone": unit.duty_phone,
    }


def _data(values: dict[str, str]) -> dict[str, Any]:
    """The form shaped like the API body (PUT /api/v1/units/{code})."""
    return {**values, "spokespersons": [u for u in re.split(r"[\s,，、;；]+", values["spokespersons"]) if u]}


def _form(unit: Unit, values: dict[str, str], error: HuiyingError | None = None, status: int = 200
          ) -> tuple[str, int]:
    parents = db.session.scalars(select(Unit).where(Unit.id != unit.id).order_by(Unit.code))
    people = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    return render_template("admin/unit.html", unit=unit, values=values, error=error,
                           fields=(error.fields or {}) if error else {}, parents=list(parents),
                           people=list(people)), status


@bp.route("/units/<code>", methods=["GET", "POST"])
@login_required
def unit(code: str) -> Response | tuple[str, int]:
    """One unit's register: edit, save, back to the list (post/redirect/get); errors beside the field."""
    user = _admin()
    found = get_unit(code)
    if request.method == "GET":
        kept = prg.take()
        if kept is not None and kept.values:
            return _form(found, kept.values, kept.error, kept.status)
        return _form(found, _stored(found))
    values = {name: request.form.get(name, "").strip() for name in FIELDS}
    try:
        saved = update_unit(user, code, _data(values))
    except HuiyingError as error:
        db.session.rollback()
        return prg.back(url_for(".unit", code=code), error, values=values)
    flash(_("已保存 %(name)s 的责任人信息", name=saved.name), "success")
    return redirect(url_for(".units"))


# Users ------------------------------------------------------------------------------------------------

USER_FIELDS = ("username", "name", "unit", "email", "phone", "password")
PER_PAGE = 50


def _user_admin() -> User:
    user: User = current_user._get_current_object()
    if not user.has_role(Role.ADMIN):
        raise Forbidden(_("只有系统管理员可以管理用户"))
    return user


def _units() -> list[Unit]:
    return list(db.session.scalars(select(Unit).order_by(Unit.code)))


@bp.route("/users", methods=["GET", "POST"])
@login_required
def users() -> Response | str | tuple[str, int]:
    """用户: everyone, with a form to add a person; the chosen or generated password is shown once."""
    admin = _user_admin()
    values: dict[str, Any] = {"roles": []}
    error: HuiyingError | None = None
    kept = prg.take() if request.method == "GET" else None
    if kept is not None:
        values, error = kept.values or values, kept.error
    if request.method == "POST":
        values = {name: request.form.get(name, "").strip() for name in USER_FIELDS}
        values["roles"] = request.form.getlist("roles")
        data = {**values, "password": values["password"] or None}
        try:
            created, password = accounts.admin_create_user(admin, data)
        except HuiyingError as err:
            db.session.rollback()
            return prg.back(url_for(".users"), err, values={k: v for k, v in values.items() if k != "password"})
        else:
            return render_template("admin/secret.html", title=_("已创建用户 %(u)s", u=created.username),
                                   label=_("初始密码"), secret=password,
                                   back=url_for(".user", username=created.username)), 201
    q = request.args.get("q", "").strip()
    query = select(User).options(selectinload(User.unit), selectinload(User.role_rows)).order_by(User.username)
    if q:
        like = f"%{q}%"
        query = query.where(User.username.ilike(like) | User.display_name.ilike(like))
    people = list(db.session.scalars(query.limit(PER_PAGE * 10)))
    return render_template("admin/users.html", people=people, units=_units(), roles=list(Role), values=values,
                           error=error, fields=(error.fields or {}) if error else {}, q=q,
                           status=error.status if error else 200), error.status if error else 200


def _user_values(person: User) -> dict[str, Any]:
    return {"name": person.display_name, "unit": person.unit.code, "email": person.email, "phone": person.phone,
            "roles": [r.value for r in person.roles]}


@bp.route("/users/<username>", methods=["GET", "POST"])
@login_required
def user(username: str) -> Response | tuple[str, int]:
    """One person: details and roles; deactivate or reactivate (never delete), force a reset, unlock."""
    admin = _user_admin()
    person = accounts.get_user(username)
    values, error = _user_values(person), None
    kept = prg.take() if request.method == "GET" else None
    if kept is not None:
        values, error = kept.values or values, kept.error
    if request.method == "POST":
        action = request.form.get("action", "save")
        try:
            if action == "save":
                values = {name: request.form.get(name, "").strip() for name in ("name", "unit", "email", "phone")}
                values["roles"] = request.form.getlist("roles")
                accounts.update_user(admin, username, values)
                flash(_("已保存 %(u)s", u=username), "success")
            elif action in ("deactivate", "reactivate"):
                accounts.update_user(admin, username, {"active": action == "reactivate"})
                flash(_("已停用 %(u)s，其登录和令牌随即失效", u=username) if action == "deactivate"
                      else _("已重新启用 %(u)s", u=username), "success")
            elif action == "force_reset":
                accounts.force_password_reset(admin, username)
                flash(_("%(u)s 下次登录时必须修改密码；其现有登录已结束", u=username), "success")
            elif action == "unlock":
                accounts.unlock(admin, username)
                flash(_("已解除 %(u)s 的登录限制", u=username), "success")
            else:
                raise Invalid(_("未知操作"))
        except HuiyingError as err:
            db.session.rollback()
            return prg.back(url_for(".user", username=username), err,
                            values=values if request.form.get("action", "save") == "save" else {})
        else:
            return redirect(url_for(".user", username=username))
    person = accounts.get_user(username)
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == person.id)
                                .order_by(ApiToken.created_at.desc()))
    status = error.status if error else 200
    return render_template("admin/user.html", person=person, values=values, units=_units(), roles=list(Role),
                           tokens=list(tokens), error=error, fields=(error.fields or {}) if error else {},
                           now=utcnow()), status


# API tokens -------------------------------------------------------------------------------------------

def _expiry(raw: str) -> datetime | None:
    """A date from the form (the token works through that day, Asia/Shanghai), or None."""
    raw = raw.strip()
    if not raw:
        return None
    return datetime.combine(params.day_of(raw, "expires_at"), time(23, 59, 59), tzinfo=SHANGHAI)


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens() -> Response | str | tuple[str, int]:
    """API 令牌: every token with its last use; create (shown once), revoke."""
    admin = _user_admin()
    error, values = None, {"username": "", "label": "", "expires_at": ""}
    kept = prg.take() if request.method == "GET" else None
    if kept is not None:
        values, error = kept.values or values, kept.error
    if request.method == "POST":
        values = {name: request.form.get(name, "").strip() for name in values}
        try:
            if request.form.get("revoke"):
                token_id = params.row_id(request.form.get("revoke", ""), "revoke", _("令牌不存在"))
                accounts.revoke_token(admin, token_id)
                flash(_("令牌已撤销"), "success")
                return redirect(url_for(".tokens"))
            secret = accounts.create_token(values["username"], actor=admin, label=values["label"],
                                           expires_at=_expiry(values["expires_at"]))
        except HuiyingError as err:
            db.session.rollback()
            return prg.back(url_for(".tokens"), err, values=values)
        else:
            return render_template("admin/secret.html", title=_("已为 %(u)s 创建 API 令牌", u=values["username"]),
                                   label=_("令牌"), secret=secret, back=url_for(".tokens")), 201
    rows = db.session.scalars(select(ApiToken).options(selectinload(ApiToken.user))
                              .order_by(ApiToken.revoked, ApiToken.created_at.desc()).limit(500))
    people = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    status = error.status if error else 200
    return render_template("admin/tokens.html", tokens=list(rows), people=list(people), values=values, error=error,
                           fields=(error.fields or {}) if error else {}, now=utcnow()), status


# Audit trail ------------------------------------------------------------------------------------------

@bp.get("/audit")
@login_required
def audit_page() -> tuple[str, int]:
    """审计记录 (office, admin): who changed what, filtered as `GET /api/v1/audit`, with the CSV export."""
    viewer: User = current_user._get_current_object()
    if not viewer.has_role(Role.OFFICE, Role.ADMIN):
        raise Forbidden(_("只有院办公室和系统管理员可以查看审计记录"))
    args = {k: v for k, v in request.args.items() if k in ("actor", "action", "object_type", "object_id",
                                                            "from", "to") and v}
    page_no = params.page_number(request.args.get("page"))
    error, events, total = None, [], 0
    try:
        filters = audit.parse_filters(args)
        rows, total = audit.search(filters, Cut(page_no, PER_PAGE))
        events = [audit.event_json(e) for e in rows]
    except HuiyingError as err:
        error = err
    return render_template("admin/audit.html", events=events, total=total, args=args, page=page_no,
                           per_page=PER_PAGE, object_types=list(audit.OBJECT_TYPES), error=error,
                           fields=(error.fields or {}) if error else {}), error.status if error else 200


#: Role names as pages show them (the same words as `review.labels.ROLE`, which the shell may not import).
ROLE_NAMES = {
    Role.DRAFTER.value: _l("起草人"), Role.EXPERT.value: _l("专家"), Role.LEADER.value: _l("领导"),
    Role.OFFICE.value: _l("院办公室"), Role.ADMIN.value: _l("管理员"),
    Role.INTEGRATION.value: _l("系统接入"),
}


def role_names(names: dict[str, Any], roles: Iterable[Role]) -> str:
    """"起草人、专家" for a set of roles, in the contract's order."""
    return "、".join(str(names[r.value]) for r in Role if r in set(roles))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    nav.add(app, nav.Entry("admin.units", _l("单位与责任人"), 90, roles=("admin",), current=("admin.unit*",)),
            nav.Entry("admin.users", _l("用户"), 91, roles=("admin",),
                      current=("admin.users", "admin.user", "admin.tokens")),
            nav.Entry("admin.audit_page", _l("审计记录"), 95, roles=("office", "admin")))
    app.jinja_env.globals["ROLE_NAMES"] = ROLE_NAMES  # a mapping: Flask's add_template_global is typed for functions
    app.add_template_filter(role_names, "role_names")
    from app import audit_labels  # the audit page's words for action codes and object types

    app.add_template_global(audit_labels.event_label, "audit_event_label")
    app.add_template_global(audit_labels.object_label, "audit_object_label")
