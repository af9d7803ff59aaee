"""The shell's request and answer models (interface §9, §11): people, units, the audit trail, the inbox.

Requests are validated with these models (app/openapi.py `parse`); the services then check what needs the
database. The answer models document what the views send (`openapi.json`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import Field, StrictBool, StringConstraints

from app.openapi import Out
from app.validation import Body, DayOrMoment, Msg, Paging

RoleName = Literal["drafter", "expert", "leader", "office", "admin"]
ObjectType = Literal["statement", "case", "user", "unit", "token", "terms", "delivery", "settings", "calendar",
                     "delegation"]


# --- people -----------------------------------------------------------------------------------------------

class UserCreate(Body):
    """`POST /users` (admin); without `password` a random one is answered once."""

    username: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str | None, Field(max_length=64)] = None
    unit: Annotated[str, Field(min_length=1, max_length=32)]
    roles: Annotated[list[RoleName], Field(min_length=1),
                     Msg(lambda: _("应为角色列表，例如 [\"drafter\"]"), too_short=lambda: _("至少需要一个角色"))]
    email: Annotated[str | None, Field(max_length=254)] = None
    phone: Annotated[str | None, Field(max_length=32)] = None
    wechat_id: Annotated[str | None, Field(max_length=64, description="the person's own WeChat ID, where article "
                                                                      "previews are sent (interface §14)")] = None
    password: Annotated[str | None, Field(min_length=8, max_length=256), Msg(lambda: _("密码 8–256 个字符"))] = None


class UserUpdate(Body):
    """`PUT /users/{username}` (admin): any of these; a user is deactivated, never deleted."""

    # unit, roles and active may be left out but never sent as null: pydantic checks a value against the declared
    # type and leaves a default unchecked, so the None default means "not given" (mypy sees a None in a str: ignored)
    name: Annotated[str | None, Field(max_length=64), Msg(lambda: _("姓名不能超过 64 个字符"))] = None
    unit: Annotated[str, Field(max_length=32), Msg(lambda: _("单位不存在"))] = None  # type: ignore[assignment]
    roles: Annotated[list[RoleName], Field(min_length=1),
                     Msg(lambda: _("角色应为 drafter、expert、leader、office、admin"),
                         too_short=lambda: _("至少需要一个角色"))] = None  # type: ignore[assignment]
    email: Annotated[str | None, Field(max_length=254), Msg(lambda: _("格式不正确"))] = None
    phone: Annotated[str | None, Field(max_length=32), Msg(lambda: _("格式不正确"))] = None
    wechat_id: Annotated[str | None, Field(max_length=64, description="\"\" clears it"),
                         Msg(lambda: _("微信号应为 6–20 个字符，以字母开头，只能包含字母、数字、下划线和减号"))] = None
    active: Annotated[StrictBool, Msg(lambda: _("应为 true 或 false"))] = None  # type: ignore[assignment]


class UserOut(Out):
    """A user."""

    username: str
    name: str
    unit: str
    roles: list[RoleName]
    email: str
    phone: str
    wechat_id: str | None = Field(None, description="the person's own WeChat ID (interface §14)")
    active: bool
    must_change_password: bool
    created_at: datetime


class UserCreated(UserOut):
    """The new user; `password` only when the server chose it (shown this once)."""

    password: str | None = None


class UserList(Out):
    """A page of users."""

    items: list[UserOut]
    total: int


# --- units and their register -----------------------------------------------------------------------------

class Person(Out):
    """Someone named in a register."""

    username: str
    name: str
    phone: str


class UnitOut(Out):
    """A unit with its responsibility register."""

    code: str
    name: str
    parent: str | None
    first_responsible: Person | None
    direct_responsible: Person | None
    spokespersons: list[Person]
    duty_phone: str


class UnitList(Out):
    """A page of units."""

    items: list[UnitOut]
    total: int


class UnitUpdate(Body):
    """`PUT /units/{code}` (admin): any of these; people by username (`null` or `""` clears)."""

    name: Annotated[str | None, Field(min_length=1, max_length=128), Msg(lambda: _("名称 1–128 个字符"))] = None
    parent: Annotated[str | None, Field(max_length=32), Msg(lambda: _("上级单位不存在"))] = None
    first_responsible: Annotated[str | None, Field(max_length=64), Msg(lambda: _("应为用户名"))] = None
    direct_responsible: Annotated[str | None, Field(max_length=64), Msg(lambda: _("应为用户名"))] = None
    spokespersons: Annotated[list[Annotated[str, Field(max_length=64)]] | None, Field(max_length=20),
                             Msg(lambda: _("应为用户名列表（最多 20 位）"))] = None
    duty_phone: Annotated[str, Field(max_length=32),
                          Msg(lambda: _("请填写有效的电话号码，例如 0371-65711111"))] = ""


class UnitCreate(UnitUpdate):
    """`POST /units` (admin): a new unit's code and name, and any of `PUT /units/{code}`'s fields."""

    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32,
                                           pattern=r"^[A-Za-z0-9_.-]+$"),
                    Msg(lambda: _("单位代码 1–32 个字符：字母、数字、_ . -"))]
    name: Annotated[str, Field(min_length=1, max_length=128), Msg(lambda: _("名称 1–128 个字符"))]


# --- the audit trail --------------------------------------------------------------------------------------

class AuditQuery(Paging):
    """Filters of `GET /audit` and `/audit.csv`."""

    actor: Annotated[str, Field(max_length=64, description="username")] = ""
    action: Annotated[str, Field(max_length=64, description="e.g. `user.update`, or its prefix `user`")] = ""
    object_type: Annotated[ObjectType | None, Msg(lambda: _("应为 %(s)s 之一",
                                                         s="、".join(ObjectType.__args__)))] = None
    object_id: Annotated[str, Field(max_length=64, description="id; username for users, code for units")] = ""
    from_: Annotated[DayOrMoment | None, Field(alias="from", description="YYYY-MM-DD or ISO 8601 with offset")] = None
    to: Annotated[DayOrMoment | None, Field(description="YYYY-MM-DD (inclusive) or ISO 8601")] = None


class AuditEventOut(Out):
    """One audit event."""

    id: int
    at: datetime
    actor: str | None
    action: str
    object_type: str
    object_id: int | str | None
    before: Any
    after: Any
    remote_addr: str | None


class AuditList(Out):
    """A page of audit events, newest first."""

    items: list[AuditEventOut]
    total: int


# --- the inbox --------------------------------------------------------------------------------------------

class NotificationQuery(Paging):
    unread: Annotated[bool, Field(description="only the unread ones")] = False


class NotificationOut(Out):
    """One notification."""

    id: int
    kind: str
    subject: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None


class NotificationList(Out):
    """A page of the caller's notifications, newest first."""

    items: list[NotificationOut]
    total: int


class Marked(Out):
    """How many were marked read."""

    marked: int
