"""Units, users and API tokens: the services behind `huiying units/users/tokens`."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

from flask_babel import gettext as _

from app import audit
from app.errors import Invalid
from app.extensions import db
from app.models import ApiToken, Role, Unit, User, UserRole, hash_token
from app.register import valid_phone

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def valid_email(value: str) -> bool:
    """A plausible address (one @, a dotted domain, no spaces), at most 254 characters."""
    return len(value) <= 254 and EMAIL_RE.match(value) is not None


def create_unit(code: str, name: str, parent_code: str | None = None, *, actor: User | None = None,
                duty_phone: str = "") -> Unit:
    """A new unit; its code must be new (CLI exits 1 otherwise)."""
    code, name = code.strip(), name.strip()
    if not code or len(code) > 32 or not name or len(name) > 128:
        raise Invalid(_("单位代码 1–32 个字符，名称 1–128 个字符"))
    if Unit.by_code(code) is not None:
        raise Invalid(_("单位代码已存在：%(code)s", code=code), fields={"code": _("已存在")})
    parent = None
    if parent_code:
        parent = Unit.by_code(parent_code)
        if parent is None:
            raise Invalid(_("上级单位不存在：%(code)s", code=parent_code), fields={"parent": _("不存在")})
    if not valid_phone(duty_phone.strip()):
        raise Invalid(_("请填写有效的电话号码，例如 0371-65711111"), fields={"duty_phone": _("格式不正确")})
    unit = Unit(code=code, name=name, parent=parent, duty_phone=duty_phone.strip())
    db.session.add(unit)
    db.session.flush()
    audit.record(actor, "unit.create", unit, after={"code": code, "name": name})
    db.session.commit()
    return unit


def create_user(username: str, unit_code: str, roles: Iterable[str], *, display_name: str = "",
                password: str | None = None, email: str = "", phone: str = "",
                actor: User | None = None) -> tuple[User, str]:
    """A new user; returns it and its password (random when none was given)."""
    username = username.strip()
    if not username or len(username) > 64:
        raise Invalid(_("用户名 1–64 个字符"), fields={"username": _("长度不符")})
    if User.by_username(username) is not None:
        raise Invalid(_("用户名已存在：%(u)s", u=username), fields={"username": _("已存在")})
    unit = Unit.by_code(unit_code)
    if unit is None:
        raise Invalid(_("单位不存在：%(code)s", code=unit_code), fields={"unit": _("不存在")})
    try:
        role_set = sorted({Role(r) for r in roles})
    except ValueError:
        raise Invalid(_("角色应为 drafter、expert、leader、office、admin"), fields={"role": _("未知角色")}) from None
    if not role_set:
        raise Invalid(_("至少需要一个角色"), fields={"role": _("必填")})
    if password is not None and len(password) < 8:
        raise Invalid(_("密码至少 8 个字符"), fields={"password": _("太短")})
    email, phone = email.strip(), phone.strip()
    if email and not valid_email(email):
        raise Invalid(_("电子邮箱格式不正确"), fields={"email": _("格式不正确")})
    if not valid_phone(phone):
        raise Invalid(_("请填写有效的电话号码，例如 0371-65711111"), fields={"phone": _("格式不正确")})
    password = password if password is not None else secrets.token_urlsafe(12)
    user = User(username=username, display_name=display_name.strip(), unit=unit, email=email, phone=phone,
                role_rows=[UserRole(role=r.value) for r in role_set])
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", user, after={"username": username, "roles": [r.value for r in role_set]})
    db.session.commit()
    return user, password


def create_token(username: str, *, actor: User | None = None) -> str:
    """A new bearer token for the user, returned once; only its hash is stored."""
    user = User.by_username(username)
    if user is None:
        raise Invalid(_("用户不存在：%(u)s", u=username), fields={"username": _("不存在")})
    secret = ApiToken.new_secret()
    token = ApiToken(user=user, token_hash=hash_token(secret))
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "token.create", token, after={"user": username})
    db.session.commit()
    return secret
