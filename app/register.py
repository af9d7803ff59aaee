"""The responsibility register: whom a unit names to answer for it, and the people a message should reach."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, insert, select

from app import audit
from app.errors import Forbidden, Invalid, NotFound
from app.extensions import db
from app.models import Role, Unit, User, UserRole, unit_spokespersons
from app.tx import begin_write

KINDS = ("first", "direct", "spokespersons", "drafters", "leaders", "office")
#: A phone as people write it: digits with spaces, hyphens, brackets, an optional + and an extension.
PHONE_RE = re.compile(r"^\+?[0-9(][0-9 ()\-]{1,30}[0-9](?:(?:转|-|ext\.?|x)[0-9]{1,6})?$")
MAX_SPOKESPERSONS = 20


def person(user: User | None) -> dict[str, str] | None:
    """A person as the API names one: `{username, name, phone}` (interface §11)."""
    if user is None:
        return None
    return {"username": user.username, "name": user.name, "phone": user.phone}


def responsible(unit: Unit) -> dict[str, Any]:
    """The unit's register: first and direct responsible persons, spokespersons, the 24-hour duty phone."""
    return {
        "first": person(unit.first_responsible),
        "direct": person(unit.direct_responsible),
        "spokespersons": [person(u) for u in unit.spokespersons],
        "duty_phone": unit.duty_phone,
    }


def unit_json(unit: Unit) -> dict[str, Any]:
    """A unit with its register (GET /api/v1/units/{code})."""
    return {
        "code": unit.code,
        "name": unit.name,
        "parent": unit.parent.code if unit.parent else None,
        "first_responsible": person(unit.first_responsible),
        "direct_responsible": person(unit.direct_responsible),
        "spokespersons": [person(u) for u in unit.spokespersons],
        "duty_phone": unit.duty_phone,
    }


def _with_role(role: Role, unit: Unit | None) -> list[User]:
    query = select(User).join(UserRole).where(UserRole.role == role.value)
    if unit is not None:
        query = query.where(User.unit_id == unit.id)
    return list(db.session.scalars(query.order_by(User.id)))


def people(unit: Unit, *kinds: str) -> list[User]:
    """The active people of these kinds (`first`, `direct`, `spokespersons`, `drafters`, `leaders`,
    `office`), each once, in the order the kinds are named; `office` is the office of every unit."""
    found: dict[int, User] = {}
    for kind in kinds:
        if kind == "first":
            group = [unit.first_responsible] if unit.first_responsible else []
        elif kind == "direct":
            group = [unit.direct_responsible] if unit.direct_responsible else []
        elif kind == "spokespersons":
            group = list(unit.spokespersons)
        elif kind == "drafters":
            group = _with_role(Role.DRAFTER, unit)
        elif kind == "leaders":
            group = _with_role(Role.LEADER, unit)
        elif kind == "office":
            group = _with_role(Role.OFFICE, None)
        else:
            raise ValueError(f"unknown kind of people: {kind!r} (one of {', '.join(KINDS)})")
        for user in group:
            if user.active:
                found.setdefault(user.id, user)
    return list(found.values())


def office_people() -> list[User]:
    """The active people of the office (of every unit): who hears of what belongs to no unit yet."""
    return [u for u in _with_role(Role.OFFICE, None) if u.active]


def valid_phone(value: str) -> bool:
    """An empty value, or a phone number as people write one (0371-65711111, +86 138 0013 8000 …)."""
    return value == "" or (len(value) <= 32 and PHONE_RE.match(value) is not None)


def get_unit(code: str) -> Unit:
    """The unit with this code, or 404."""
    unit = Unit.by_code(code)
    if unit is None:
        raise NotFound(_("单位不存在：%(code)s", code=code[:32]))
    return unit


def _snapshot(unit: Unit) -> dict[str, Any]:
    return {
        "name": unit.name,
        "parent": unit.parent.code if unit.parent else None,
        "first_responsible": unit.first_responsible.username if unit.first_responsible else None,
        "direct_responsible": unit.direct_responsible.username if unit.direct_responsible else None,
        "spokespersons": [u.username for u in unit.spokespersons],
        "duty_phone": unit.duty_phone,
    }


def _someone(value: Any, field: str, fields: dict[str, str]) -> User | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        fields[field] = _("应为用户名")
        return None
    user = User.by_username(value.strip())
    if user is None:
        fields[field] = _("用户不存在：%(u)s", u=value.strip()[:64])
    elif not user.active:
        fields[field] = _("用户已停用：%(u)s", u=user.username)
    return user


def update_unit(actor: User, code: str, data: Any) -> Unit:
    """PUT /units/{code} (admin): change any of name, parent, the responsible people, spokespersons, duty phone.

    Everything is checked before anything changes; the change is audited with before and after.
    """
    if not actor.has_role(Role.ADMIN):
        raise Forbidden(_("只有系统管理员可以修改单位"))
    unit = get_unit(code)
    from app.schemas import UnitUpdate
    from app.validation import parse

    values = parse(UnitUpdate, data, _("单位信息有误"))
    begin_write()  # on SQLite: the write lock before reading what the checks depend on
    fields: dict[str, str] = {}
    changes = _checked(values, values.model_fields_set, unit, fields)
    if fields:
        raise Invalid(_("单位信息有误"), fields=fields)
    before = _snapshot(unit)
    _apply(unit, changes)
    audit.record(actor, "unit.update", unit, before=before, after=_snapshot(unit))
    db.session.commit()
    return unit


def create_unit(actor: User, data: Any) -> Unit:
    """POST /units (admin, interface §20): a new unit, as `huiying units create` makes it, with any of PUT's
    register fields, checked together and created in one transaction, audited."""
    if not actor.has_role(Role.ADMIN):
        raise Forbidden(_("只有系统管理员可以创建单位"))
    from app.accounts import add_unit  # accounts imports this module (valid_phone)
    from app.schemas import UnitCreate
    from app.validation import parse

    values = parse(UnitCreate, data, _("单位信息有误"))
    begin_write()
    fields: dict[str, str] = {}
    if Unit.by_code(values.code) is not None:
        fields["code"] = _("已存在")
    changes = _checked(values, values.model_fields_set - {"code"}, None, fields)
    if fields:
        raise Invalid(_("单位信息有误"), fields=fields)
    unit = add_unit(values.code, changes["name"], values.parent or None, duty_phone=changes.get("duty_phone", ""))
    _apply(unit, {k: v for k, v in changes.items() if k not in ("name", "parent", "duty_phone")})
    audit.record(actor, "unit.create", unit, after={"code": unit.code, **_snapshot(unit)})
    db.session.commit()
    return unit


def _checked(values: Any, given: set[str], unit: Unit | None, fields: dict[str, str]) -> dict[str, Any]:
    """The register changes `values` ask for (those named in `given`) for `unit` (None: a new one); each
    problem is added to `fields` by name, so everything is checked before anything changes."""
    changes: dict[str, Any] = {}

    if "name" in given:
        name = (values.name or "").strip()
        if not 1 <= len(name) <= 128:
            fields["name"] = _("名称 1–128 个字符")
        changes["name"] = name
    if "parent" in given:
        parent = None
        if values.parent:
            parent = Unit.by_code(values.parent)
            if parent is None:
                fields["parent"] = _("上级单位不存在")
            elif unit is not None and _is_within(parent, unit):
                fields["parent"] = _("上级单位不能是本单位或其下级单位")
        changes["parent"] = parent
    for field in ("first_responsible", "direct_responsible"):
        if field in given:
            changes[field] = _someone(getattr(values, field), field, fields)
    if "spokespersons" in given:
        chosen: list[User] = []
        missing: list[str] = []
        for username in dict.fromkeys(u.strip() for u in values.spokespersons or [] if u.strip()):
            user = User.by_username(username)
            if user is None or not user.active:
                missing.append(username[:64])
            else:
                chosen.append(user)
        if missing:
            fields["spokespersons"] = _("用户不存在或已停用：%(u)s", u="、".join(missing))
        changes["spokespersons"] = chosen
    if "duty_phone" in given:
        phone = values.duty_phone.strip()
        if not valid_phone(phone):
            fields["duty_phone"] = _("请填写有效的电话号码，例如 0371-65711111")
        changes["duty_phone"] = phone
    return changes


def _apply(unit: Unit, changes: dict[str, Any]) -> None:
    """Write checked changes into the unit (the caller audits and commits)."""
    for field in ("name", "parent", "first_responsible", "direct_responsible", "duty_phone"):
        if field in changes:
            setattr(unit, field, changes[field])
    if "spokespersons" in changes:
        db.session.execute(delete(unit_spokespersons).where(unit_spokespersons.c.unit_id == unit.id))
        if changes["spokespersons"]:
            db.session.execute(insert(unit_spokespersons), [
                {"unit_id": unit.id, "user_id": u.id, "position": i} for i, u in enumerate(changes["spokespersons"])
            ])
        db.session.expire(unit, ["spokespersons"])
    db.session.flush()


def _is_within(candidate: Unit, unit: Unit) -> bool:
    """True when `candidate` is `unit` or below it: making it the parent would close a cycle."""
    seen: set[int] = set()
    node: Unit | None = candidate
    while node is not None and node.id not in seen:
        if node.id == unit.id:
            return True
        seen.add(node.id)
        node = node.parent
    return False
