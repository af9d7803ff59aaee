"""Interaction clocks (interface §15): when a message must be answered, and the sweep that announces 80 % and
overdue exactly once — the case clocks' own machinery (`cases.clock`: `due_at` in hours or Chinese working
days, `crossed`, `sweep_clocks`), applied to an interaction's single clock."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Row, Select, select

from app import register
from app.models import User
from app.notifications.inbox import Notice
from app.notifications.texts import _m
from app.timeutil import format_local
from cases import clock
from interaction.models import OPEN, Channel, Interaction

log = logging.getLogger(__name__)

#: interface §15: WeChat lets an account answer a follower only within 48 h of the follower's last message.
DEFAULT_DEADLINES: dict[str, str] = {
    Channel.WECHAT_MESSAGE: "48h",
    Channel.WECHAT_COMMENT: "2wd",
    Channel.PORTAL_MESSAGE: "5wd",
    Channel.HOTLINE: "5wd",
}
#: 80 % (interaction_due) and overdue (interaction_overdue); no 50 % notice for a message.
THRESHOLDS = (80, 100)
#: A hotline ticket that brings its own deadline.
GIVEN = "given"


def _check_table(raw: Any) -> dict[str, str]:
    table = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(table, Mapping):
        raise ValueError("INTERACTION_DEADLINES must be a JSON object keyed by channel")
    out: dict[str, str] = {}
    for channel, spec in table.items():
        if channel not in {c.value for c in Channel} or not isinstance(spec, str) or not clock.SPEC_RE.match(spec):
            raise ValueError(f"INTERACTION_DEADLINES: bad entry {channel!r}: {spec!r}")
        out[str(channel)] = spec
    return out


def deadline_table() -> dict[str, str]:
    """The defaults, with each channel named in `INTERACTION_DEADLINES` replaced by its configured clock."""
    table = dict(DEFAULT_DEADLINES)
    raw = current_app.config.get("INTERACTION_DEADLINES")
    if raw:
        try:
            table.update(_check_table(raw))
        except ValueError as exc:
            log.error("ignoring INTERACTION_DEADLINES (%s); using the defaults", exc)
    return table


def start(item: Interaction, given: datetime | None = None) -> None:
    """Set the clock of a message just received: its channel's spec counted from `received_at` (the office's
    calendar of working days counts, as for cases), or the ticket's own `given` deadline. Joins the caller's
    write transaction."""
    if given is not None:
        item.due_spec, item.due_at = GIVEN, given
    else:
        spec = deadline_table()[item.channel]
        days = clock.calendar_days() if spec.endswith("wd") else None
        item.due_spec, item.due_at = spec, clock.due_at(item.received_at, spec, days)
    item.alerted = 0
    clock.next_alert(item, THRESHOLDS)


def stop(item: Interaction) -> None:
    """A replied or closed message's clock announces nothing more."""
    clock.next_alert(item, THRESHOLDS, running=False)


def _audience(item: Interaction, threshold: int) -> list[User]:
    """80 %: the unit's drafters and direct responsible person (the office while nobody has it); overdue: the
    unit's direct responsible person and the office (interface §15)."""
    if item.unit is None:
        return register.office_people()
    if threshold == 100:
        return register.people(item.unit, "direct", "office")
    return register.people(item.unit, "drafters", "direct")


def _notice(item: Interaction, threshold: int, recipients: list[User]) -> Notice:
    due = format_local(item.due_at)
    excerpt = item.text[:40]
    if threshold == 100:
        subject = _m("【互动超时】#%(id)d 群众留言已超过答复时限（%(due)s）", id=item.id, due=due)
        kind = "interaction_overdue"
    else:
        subject = _m("【互动提醒】#%(id)d 群众留言将于 %(due)s 到期，请尽快答复", id=item.id, due=due)
        kind = "interaction_due"
    body = _m("留言：%(text)s\n答复时限：%(due)s", text=excerpt, due=due)
    return Notice(kind, f"interaction:{item.id}:{threshold}", tuple(recipients), subject, body,
                  f"/interactions/{item.id}")


def sweep(now: datetime | None = None) -> int:
    """Announce every interaction clock's 80 % and overdue once (the worker's periodic step)."""

    def due(now: datetime) -> Select[tuple[Interaction]]:
        return (select(Interaction).where(Interaction.next_alert_at <= now)
                .order_by(Interaction.next_alert_at, Interaction.id)
                .with_for_update(skip_locked=True))

    def handle(row: Row[tuple[Interaction]], now: datetime) -> list[Notice]:
        (item,) = row
        if item.status not in OPEN:
            stop(item)
            return []
        return [_notice(item, t, _audience(item, t)) for t in clock.crossed(item, now, THRESHOLDS)]

    return clock.sweep_clocks(due, handle, now)
