"""`/admin/deadlines`: the case clocks by level (admin), saved over the configuration (`cases.clock_settings`), and
the calendar of working days (office or admin, `cases.workdays`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app import params
from app.errors import Forbidden, HuiyingError, Invalid
from app.extensions import db
from app.models import Role, User
from app.timeutil import SHANGHAI, utcnow
from cases import clock_settings, workdays
from cases.labels import DEADLINE_KIND, LEVEL
from cases.models import DeadlineKind

bp = Blueprint("case_settings", __name__, url_prefix="/admin", template_folder="templates")


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _admin() -> User:
    user = _user()
    if not user.has_role(Role.ADMIN):
        raise Forbidden(_("只有系统管理员可以设置舆情处置时限"))
    return user


#: From this day of the year on, next year's holidays are due (the State Council publishes them around November).
WARN_FROM = (11, 1)


def _year(raw: str | None) -> int:
    """The calendar's year on the page: `?year=` (2000–2100), by default this year."""
    if not raw:
        return workdays.this_year()
    try:
        return params.integer(raw, 2000, 2100)
    except params.Unreadable as exc:
        raise Invalid(exc.message, fields={"year": exc.message}) from None


def _calendar(year: int, text: str | None = None) -> dict[str, Any]:
    """The calendar part of the page: each year's source (this year and the next), the year shown and its text."""
    today = utcnow().astimezone(SHANGHAI).date()
    years = [workdays.describe(y) for y in (today.year, today.year + 1)]
    shown = next((y for y in years if y["year"] == year), None) or workdays.describe(year)
    late = (today.month, today.day) >= WARN_FROM
    return {
        "years": years, "shown": shown, "text": shown["text"] if text is None else text,
        "gaps": [y["year"] for y in years if y["source"] == "weekends" and (y["year"] == today.year or late)],
    }


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


def _page(values: dict[str, str], error: HuiyingError | None = None, status: int = 200, *, year: int | None = None,
          text: str | None = None, calendar_error: HuiyingError | None = None) -> tuple[str, int]:
    state = clock_settings.current()
    return render_template(
        "cases/deadline_settings.html", values=values, levels=clock_settings.LEVELS, level_names=LEVEL,
        kinds=list(DeadlineKind), kind_names=DEADLINE_KIND, stored=state["stored"], configured=state["configured"],
        calendar=_calendar(year or workdays.this_year(), text), calendar_error=calendar_error,
        can_set_clocks=_user().has_role(Role.ADMIN), error=error, fields=(error.fields or {}) if error else {},
    ), status


@bp.route("/deadlines", methods=["GET", "POST"])
@login_required
def deadlines() -> Response | tuple[str, int]:
    """舆情处置时限: each level's clocks (admin): save (audited) or go back to the configuration's; and the calendar."""
    if request.method == "GET":
        workdays.may_edit(_user())
        return _page(_values(clock_settings.current()["table"]), year=_year(request.args.get("year")))
    admin = _admin()
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


@bp.post("/deadlines/calendar")
@login_required
def calendar() -> Response | tuple[str, int]:
    """工作日历: the office saves a year's holidays and make-up days; every open working-day clock follows."""
    user = _user()
    workdays.may_edit(user)
    year = _year(request.form.get("year"))
    text = request.form.get("text", "")
    try:
        change = workdays.replace_year(user, year, text)
    except HuiyingError as error:
        db.session.rollback()
        return _page(_values(clock_settings.current()["table"]), year=year, text=text, calendar_error=error,
                     status=error.status)
    if not change.changed:
        flash(_("%(year)d 年的工作日历没有变化", year=year), "success")
    else:
        flash(_("已保存 %(year)d 年的工作日历；%(n)d 件舆情的时限已按新日历重新计算", year=year, n=len(change.moved)),
              "success")
    return redirect(url_for(".deadlines", year=year, _anchor="calendar"))
