"""The case clocks an admin sets (interface §11 case deadline settings), over `CASE_DEADLINES` and 61号/80号.

The whole table is stored at once (`app.settings`, key `case_deadlines`): every level with its clocks, each
a positive number of clock hours (`h`) or Chinese working days (`wd`). `cases.clock.deadline_table` reads
it whenever a case is assessed; clocks already running keep the time they were given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _

from app import settings
from app.errors import Forbidden, Invalid
from app.extensions import db
from app.models import Role, User
from app.tx import begin_write
from cases.clock import SETTINGS_KEY, SPEC_RE, configured_table, deadline_table
from cases.models import DeadlineKind

LEVELS = (1, 2, 3, 4)
UNITS = ("h", "wd")
COUNT_MAX = 9999


def _require_admin(actor: User) -> None:
    if not actor.has_role(Role.ADMIN):
        raise Forbidden(_("只有系统管理员可以设置舆情处置时限"))


def current() -> dict[str, Any]:
    """What the settings page shows: the clocks in force, the configured ones, and whether an admin's apply."""
    row = settings.stored(SETTINGS_KEY)
    return {"table": deadline_table(), "configured": configured_table(), "stored": row}


def check(table: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """A whole table `{"1": {"response": "48h"}, …}` checked: every level, known kinds, `1–9999` `h`/`wd`,
    at least one clock a level. Raises Invalid naming each bad field as `level.kind` or `level`."""
    fields: dict[str, str] = {}
    out: dict[str, dict[str, str]] = {}
    for level in LEVELS:
        kinds = table.get(str(level))
        if not isinstance(kinds, Mapping):
            fields[str(level)] = _("缺少该级别的时限")
            continue
        clocks: dict[str, str] = {}
        for kind, spec in kinds.items():
            name = f"{level}.{kind}"
            if kind not in {k.value for k in DeadlineKind}:
                fields[name] = _("未知的时限类型")
            elif not isinstance(spec, str) or not SPEC_RE.match(spec):
                fields[name] = _("应为 1–%(n)d 小时或工作日", n=COUNT_MAX)
            else:
                clocks[kind] = spec
        if not kinds:
            fields[str(level)] = _("每个级别至少需要一个时限")
        out[str(level)] = clocks
    unknown = [key for key in table if key not in {str(level) for level in LEVELS}]
    for key in unknown:
        fields[str(key)[:8]] = _("级别应为 1–4")
    if fields:
        raise Invalid(_("时限设置有误"), fields=fields)
    return out


def save(actor: User, table: Mapping[str, Any]) -> bool:
    """Store the admin's clocks (audited before/after, object type `settings`); False when nothing changed."""
    _require_admin(actor)
    checked = check(table)
    begin_write()
    changed = settings.put(actor, SETTINGS_KEY, checked)
    db.session.commit()
    return changed


def reset(actor: User) -> bool:
    """Forget the admin's clocks: the configuration's (or 61号/80号) apply again. Audited; False if none."""
    _require_admin(actor)
    begin_write()
    changed = settings.put(actor, SETTINGS_KEY, None)
    db.session.commit()
    return changed


def split(spec: str) -> tuple[str, str]:
    """"48h" → ("48", "h"), for the form."""
    match = SPEC_RE.match(spec)
    return (match[1], match[2]) if match else ("", "h")
