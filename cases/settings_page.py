"""`/admin/deadlines` (admin): the case clocks by level, saved over the configuration (`cases.clock_settings`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.errors import Forbidden, HuiyingError, Invalid
from app.extensions import db
from app.models import Role, User
from app.timeutil import SHANGHAI, utcnow
from cases import clock, clock_settings
from cases.labels import DEADLINE_KIND, LEVEL
from cases.models import DeadlineKind

bp = Blueprint("case_settings", __name__, url_prefix="/admin", template_folder="templates")


def _admin() -> User:
    user: User = current_user._get_current_object()  # type: ignore[assignment]
    if not user.has_role(Role.ADMIN):
        raise Forbidden(_("只有系统管理员可以设置舆情处置时限"))
    return user


def _values(table: dict[int, dict[str, str]]) -> dict[str, str]:
    """The form's fields for a table: `n-{level}-{kind}` (a number) and `u-{level}-{kind}` (`h` or `wd`)."""
    values: dict[str, str] = {}
    for level in clock_settings.LEVELS:
        for kind in DeadlineKind:
            count, unit = clock_settings.split(table.get(level, {}).get(kind.value, ""))
            values[f"n-{level}-{kind.value}"], values[f"u-{level}-{kind.value}"] = count, unit
    return values


def _table(form: Any) -> dict[str, dict[str, str]]:
    """The form as the stored table: an empty number means no such clock at that level."""
    table: dict[str, dict[str, str]] = {}
    for level in clock_settings.LEVELS:
        kinds: dict[str, str] = {}
        for kind in DeadlineKind:
            count = form.get(f"n-{level}-{kind.value}", "").strip()
            if count:
                kinds[kind.value] = f"{count.lstrip('0') or '0'}{form.get(f'u-{level}-{kind.value}', '')}"
        table[str(level)] = kinds
    return table


def _page(values: dict[str, str], error: HuiyingError | None = None, status: int = 200) -> tuple[str, int]:
    state = clock_settings.current()
    year = utcnow().astimezone(SHANGHAI).year
    return render_template(
        "cases/deadline_settings.html", values=values, levels=clock_settings.LEVELS, level_names=LEVEL,
        kinds=list(DeadlineKind), kind_names=DEADLINE_KIND, stored=state["stored"], configured=state["configured"],
        calendar_gap=next((y for y in (year, year + 1) if not clock.calendar_knows(y)), None),
        error=error, fields=(error.fields or {}) if error else {},
    ), status


@bp.route("/deadlines", methods=["GET", "POST"])
@login_required
def deadlines() -> Response | tuple[str, int]:
    """舆情处置时限: each level's clocks; save (audited) or go back to the configuration's."""
    admin = _admin()
    if request.method == "GET":
        return _page(_values(clock.deadline_table()))
    values = {name: request.form.get(name, "").strip() for name in _values({})}
    try:
        if request.form.get("action") == "reset":
            changed = clock_settings.reset(admin)
            flash(_("已恢复为配置的时限") if changed else _("当前已是配置的时限"), "success")
        elif request.form.get("action", "save") == "save":
            changed = clock_settings.save(admin, _table(request.form))
            flash(_("已保存处置时限；此后评估的舆情按新时限计时") if changed else _("时限没有变化"), "success")
        else:
            raise Invalid(_("未知操作"))
    except HuiyingError as error:
        db.session.rollback()
        return _page(values, error, error.status)
    return redirect(url_for(".deadlines"))
