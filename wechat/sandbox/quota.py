"""How many mass sends (群发) the account may make, and when the count starts again (interface §14).

WeChat counts in the account's calendar, Asia/Shanghai: a subscription account (订阅号) may mass-send once a
calendar day, a service account (服务号) four times a calendar month. Previews to a WeChat ID are counted
apart, 100 a day. Tests and demos may shorten the period to a window of a few seconds from the Unix epoch
(``WECHAT_MASS_PERIOD_SECONDS``), so a new period comes while one watches.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: Previews (message/mass/preview) the account may send a day, whatever its type.
PREVIEWS_PER_DAY = 100


class AccountType(enum.StrEnum):
    """``WECHAT_ACCOUNT_TYPE``: what kind of official account it is, which sets its mass-send quota."""

    SUBSCRIPTION = "subscription"
    SERVICE = "service"


MASS_SENDS = {AccountType.SUBSCRIPTION: 1, AccountType.SERVICE: 4}


@dataclass(frozen=True)
class Period:
    """One counting period: from ``start`` (inclusive) to ``end`` (exclusive), Unix seconds; ``limit`` allowed."""

    start: float
    end: float
    limit: int

    @property
    def name(self) -> str:
        """What the period's counter is called in Redis: its start, which no other period shares."""
        return str(int(self.start))


def _midnight(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, moment.day, tzinfo=SHANGHAI)


def _day(now: float, limit: int) -> Period:
    start = _midnight(datetime.fromtimestamp(now, SHANGHAI))
    # Shanghai keeps no daylight saving time: a calendar day is always 24 hours
    return Period(start.timestamp(), (start + timedelta(days=1)).timestamp(), limit)


def mass_period(now: float, account_type: str, period_seconds: int | None) -> Period:
    """The mass-send period ``now`` falls in, for this account type; ValueError for an unknown type."""
    kind = AccountType(account_type)
    limit = MASS_SENDS[kind]
    if period_seconds:
        start = now // period_seconds * period_seconds
        return Period(start, start + period_seconds, limit)
    if kind is AccountType.SUBSCRIPTION:
        return _day(now, limit)
    local = datetime.fromtimestamp(now, SHANGHAI)
    first = datetime(local.year, local.month, 1, tzinfo=SHANGHAI)
    following = datetime(local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=SHANGHAI)
    return Period(first.timestamp(), following.timestamp(), limit)


def preview_day(now: float) -> Period:
    """The calendar day (Asia/Shanghai) ``now`` falls in, with the previews it allows."""
    return _day(now, PREVIEWS_PER_DAY)
