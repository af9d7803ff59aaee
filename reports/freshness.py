"""Channel freshness: the office hears when the portal or the WeChat account has said nothing for 10 days.

National inspections fail a government site or account silent for two weeks (国办秘函〔2019〕19号), so
the office is told at 10 days (amber) and again at 14 (red). The notification's key names the channel,
its last publication and the threshold: each silence is announced once per threshold, whatever the
number of workers, and a new silence after a new publication is announced again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import notifications
from app.extensions import db
from app.models import Role, User, UserRole
from app.notifications import _m
from app.timeutil import format_local, utcnow
from app.tx import begin_write
from reports.summary import RED_DAYS, STALE_DAYS, last_published

THRESHOLDS = (STALE_DAYS, RED_DAYS)


CHANNEL = {"portal": _l("门户网站"), "wechat": _l("微信公众号")}


def office_people() -> list[User]:
    """Every active member of the office: who supervises, and who is told."""
    return list(db.session.scalars(select(User).join(UserRole, UserRole.user_id == User.id)
                                   .where(UserRole.role == Role.OFFICE.value, User.active.is_(True))))


def sweep(now: datetime | None = None) -> int:
    """Tell the office of every channel silent past a threshold; returns notifications created.

    A channel that has never published is left to the reports page (a new installation is not news).
    """
    now = now or utcnow()
    begin_write()
    due = [(channel, last, threshold) for channel, last in last_published().items() if last is not None
           for threshold in THRESHOLDS if (now - last) // timedelta(days=1) >= threshold]
    created = 0
    if due:
        office = office_people()
        for channel, last, threshold in due:  # messages: each reader gets them in their own language
            name = CHANNEL.get(channel, channel)
            if threshold < RED_DAYS:
                subject = _m("【更新提醒】%(channel)s已连续 %(days)d 天未发布信息", channel=name, days=threshold)
            else:
                subject = _m("【红色提醒】%(channel)s已连续 %(days)d 天未发布信息", channel=name, days=threshold)
            body = _m("%(channel)s最近一次发布：%(last)s。政府网站和政务新媒体两周未更新将被通报"
                           "（国办秘函〔2019〕19号），请督促有关单位及时发布。", channel=name, last=format_local(last))
            key = f"channel_stale:{channel}:{last.isoformat()}:{threshold}"
            created += notifications.notify("channel_stale", key, office, subject=subject, body=body, url="/reports")
    db.session.commit()
    return created
