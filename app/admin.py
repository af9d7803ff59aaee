"""Administration pages (CONTRACT §11): the units and their responsibility register, for `admin`."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from app.errors import Forbidden, HuiyingError
from app.extensions import db
from app.models import Role, Unit, User
from app.register import get_unit, update_unit

bp = Blueprint("admin", __name__, url_prefix="/admin")

FIELDS = ("name", "parent", "first_responsible", "direct_responsible", "spokespersons", "duty_phone")


def _admin() -> User:
    user: User = current_user._get_current_object()  # type: ignore[assignment]
    if not user.has_role(Role.ADMIN):
        raise Forbidden(_("只有系统管理员可以管理单位"))
    return user


@bp.get("/units")
@login_required
def units() -> str:
    """单位与责任人: every unit with whom to call."""
    _admin()
    rows = db.session.scalars(
        select(Unit).options(selectinload(Unit.parent), selectinload(Unit.first_responsible),
                             selectinload(Unit.direct_responsible), selectinload(Unit.spokespersons))
        .order_by(Unit.code)
    )
    return render_template("admin/units.html", units=list(rows))


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
        return _form(found, _stored(found))
    values = {name: request.form.get(name, "").strip() for name in FIELDS}
    try:
        saved = update_unit(user, code, _data(values))
    except HuiyingError as error:
        db.session.rollback()
        return _form(get_unit(code), values, error, error.status)
    flash(_("已保存 %(name)s 的责任人信息", name=saved.name), "success")
    return redirect(url_for(".units"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
