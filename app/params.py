"""Numbers, days and moments typed by people: the one reader of query strings and form fields, with bounds.

`'²'.isdigit()` is True and `int('²')` fails; `int()` refuses 5,000 digits; a number past 2³¹−1 overflows
PostgreSQL's INTEGER; day 9999-12-31 overflows `datetime` once a day is added. Each would be a 500. Here each
is a 400 `invalid` naming its field (the API's JSON body, or the page's message beside the field).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from flask_babel import gettext as _

from app.errors import Invalid

#: Row ids are INTEGER on PostgreSQL: a larger number names nothing and must not reach the database.
MAX_ID = 2**31 - 1
#: No list has a millionth page; beyond it the OFFSET would not fit the database's integer.
MAX_PAGE = 1_000_000
#: The days any date or time may fall on: far enough for every record, near enough that a day's instants,
#: ± a day and in any zone, stay inside what `datetime` and both databases hold.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)

_DIGITS = re.compile(r"[0-9]+")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WALL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?")


class Unreadable(ValueError):
    """What was typed is not a value of the kind asked for; the message says why, in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def integer(raw: str, lo: int = 1, hi: int = MAX_ID) -> int:
    """ASCII digits (surrounding spaces allowed) for a whole number in lo…hi."""
    text = raw.strip()
    significant = text.lstrip("0") or "0"  # int() itself refuses over 4,300 digits, leading zeros included
    if not _DIGITS.fullmatch(text) or len(significant) > len(str(hi)) or not lo <= int(significant) <= hi:
        raise Unreadable(_("应为 %(lo)d–%(hi)d 的整数", lo=lo, hi=hi))
    return int(significant)


def day(raw: str) -> date:
    """YYYY-MM-DD, a day from 2000-01-01 to 2100-12-31 (Asia/Shanghai days, as every page counts them)."""
    text = raw.strip()
    try:
        if not _DAY.fullmatch(text):
            raise ValueError(text)
        value = date.fromisoformat(text)
    except ValueError:
        raise Unreadable(_("日期格式应为 YYYY-MM-DD")) from None
    if not FIRST_DAY <= value <= LAST_DAY:
        raise Unreadable(_("日期超出范围（2000–2100 年）"))
    return value


def moment(raw: str) -> datetime:
    """ISO 8601 with an offset ("Z" too), 2000–2100; a naive time is refused, never guessed."""
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Unreadable(_("时间格式无效，应为 ISO 8601，例如 2026-03-01T09:00:00+08:00")) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise Unreadable(_("时间必须带时区偏移，例如 +08:00"))
    if not FIRST_DAY.year <= value.year <= LAST_DAY.year:  # year 9999 here is past datetime's range in UTC
        raise Unreadable(_("时间超出范围（2000–2100 年）"))
    return value


def wall_time(raw: str) -> str | None:
    """A form's datetime-local value is wall time in Asia/Shanghai: the text `moment` reads, with +08:00.

    Empty is None; anything else is passed on as typed, for `moment` (the one reader) to name what is wrong.
    """
    text = raw.strip()
    if not text:
        return None
    return text + "+08:00" if _WALL_TIME.fullmatch(text) else text


def page_number(raw: str | None) -> int:
    """A page's `page`, leniently as links need it (anything unreadable is the first page); digits no list
    has never get here (app/security.py refuses them)."""
    try:
        return integer(raw or "1", 1, MAX_PAGE)
    except Unreadable:
        return 1


def id_or_text(raw: str) -> int | str:
    """A row id when `raw` is one, else `raw` as typed: for a form whose service names every bad field at once."""
    try:
        return integer(raw)
    except Unreadable:
        return raw


def row_id(raw: str, name: str, message: str | None = None) -> int:
    """A row id from a query string or form field: 1…2³¹−1, else 400 `invalid` with `message` (what a page
    shows) and the accepted range on `name` (what the API and the field's error say)."""
    try:
        return integer(raw)
    except Unreadable as exc:
        raise Invalid(message or exc.message, fields={name: exc.message}) from None


def optional_row_id(raw: str | None, name: str, message: str | None = None) -> int | None:
    """`row_id`, or None when nothing was typed."""
    return row_id(raw, name, message) if raw and raw.strip() else None


def day_of(raw: str, name: str) -> date:
    """`day` for a query string or form field: 400 `invalid` naming `name`, its message saying which days."""
    try:
        return day(raw)
    except Unreadable as exc:
        raise Invalid(exc.message, fields={name: exc.message}) from None
