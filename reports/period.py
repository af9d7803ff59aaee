"""The period a report covers: dates in Asia/Shanghai, both inclusive, and who may ask for which unit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _

from app import params
from app.errors import Invalid, WrongRole, WrongUnit
from app.models import Role, Unit, User
from app.timeutil import SHANGHAI, utcnow

#: The longest period one request may ask for: two years (a year's summary is the bench's measure).
MAX_DAYS = 366 * 2


@dataclass(frozen=True)
class Period:
    """[first, last] local dates; `lo`/`hi` the UTC instants bounding them, `hi` excluded."""

    first: date
    last: date

    @property
    def lo(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=SHANGHAI)

    @property
    def hi(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=SHANGHAI)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def today() -> date:
    """Today's date in Asia/Shanghai."""
    return utcnow().astimezone(SHANGHAI).date()


def preset(name: str, day: date | None = None) -> Period | None:
    """This week (Monday first), month, quarter or year up to `day` (default today); None for an unknown name.

    It ends at `day`, not at the calendar period's end: a report never names dates still to come (interface §20).
    """
    day = day or today()
    if name == "week":
        return Period(day - timedelta(days=day.weekday()), day)
    if name == "month":
        return Period(day.replace(day=1), day)
    if name == "quarter":
        return Period(date(day.year, (day.month - 1) // 3 * 3 + 1, 1), day)
    if name == "year":
        return Period(date(day.year, 1, 1), day)
    return None


def this_month() -> Period:
    """The default period: the first of this month to today (Asia/Shanghai)."""
    found = preset("month")
    assert found is not None
    return found


def parse_period(args: Mapping[str, str]) -> Period:
    """`from`/`to` as YYYY-MM-DD (default: this month so far, to today); 400 invalid naming the bad field."""
    fields: dict[str, str] = {}
    default = this_month()
    values: dict[str, date] = {}
    for key, fallback in (("from", default.first), ("to", default.last)):
        raw = (args.get(key) or "").strip()
        if not raw:
            values[key] = fallback
            continue
        try:
            values[key] = params.day(raw)
        except params.Unreadable as exc:
            fields[key] = exc.message
    if not fields:
        if values["from"] > values["to"]:
            fields["to"] = _("结束日期不能早于开始日期")
        elif (values["to"] - values["from"]).days >= MAX_DAYS:
            fields["to"] = _("统计区间最长两年")
    if fields:
        # a document's address has no form to show the field's message beside: the message says it too
        raise Invalid(_("统计区间有误：%(why)s", why=next(iter(fields.values()))), fields=fields)
    return Period(values["from"], values["to"])


def scope(user: User, code: str | None) -> Unit | None:
    """The unit a report is about (None = every unit): office chooses; a leader gets only their own (403)."""
    if user.has_role(Role.OFFICE):
        if not code:
            return None
        unit = Unit.by_code(code)
        if unit is None:
            raise Invalid(_("单位不存在"), fields={"unit": _("未知单位：%(code)s", code=code[:32])})
        return unit
    if user.has_role(Role.LEADER):
        if code and code != user.unit.code:
            raise WrongUnit(_("领导只能查看本单位的统计"))
        return user.unit
    raise WrongRole(_("统计报表仅供院办公室和单位领导查看"))
