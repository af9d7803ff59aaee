"""Units, users and API tokens: the services behind `huiying units/users/tokens`."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app import audit, auth
from app.errors import Forbidden, Invalid, NotFound
from app.extensions import db
from app.models import ApiToken, Role, Unit, User, UserRole, hash_token
from app.register import valid_phone
from app.timeutil import utcnow
from app.tx import begin_write

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: A WeChat ID as WeChat allows one: 6–20 letters, digits, _ or -, starting with a letter.
WECHAT_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{5,19}$")


def valid_email(value: str) -> bool:
    """A plausible address (one @, a dotted domain, no spaces), at most 254 characters."""
    return len(value) <= 254 and EMAIL_RE.match(value) is not None


def wechat_id_problem(value: str) -> str | None:
    """Why this is not a WeChat ID (previews are sent to it, interface §14), or None; empty clears it."""
    if not value or WECHAT_ID_RE.match(value):
        return None
    return _("微信号应为 6–20 个字符，以字母开头，只能包含字母、数字、下划线和减号")


def create_unit(code: str, name: str, parent_code: str | None = None, *, actor: User | None = None,
                duty_phone: str = "") -> Unit:
    """A new unit; its code must be new (CLI exits 1 otherwise)."""
    unit = add_unit(code, name, parent_code, duty_phone=duty_phone)
    audit.record(actor, "unit.create", unit, after={"code": unit.code, "name": unit.name})
    db.session.commit()
    return unit


def add_unit(code: str, name: str, parent_code: str | None = None, *, duty_phone: str = "") -> Unit:
    """Check and add a new unit in the caller's transaction (which audits and commits): the CLI's and the API's."""
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
    return unit


def create_user(username: str, unit_code: str, roles: Iterable[str], *, display_name: str = "",
                password: str | None = None, email: str = "", phone: str = "", wechat_id: str = "",
                actor: User | None = None, check_strength: bool = False,
                set_by_other: bool = False) -> tuple[User, str]:
    """A new user; returns it and its password (random when none was given).

    People who type a password pass `check_strength` (the policy of `password_problem`); one set by someone
    else (`set_by_other`) or generated must be changed at first sign-in. Seeding code (the demo) passes neither.
    """
    begin_write()
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
    if password is not None and check_strength:
        problem = password_problem(password, password_hints(username, display_name, email))
        if problem:
            raise Invalid(problem, fields={"password": problem})
    email, phone = email.strip(), phone.strip()
    if email and not valid_email(email):
        raise Invalid(_("电子邮箱格式不正确"), fields={"email": _("格式不正确")})
    if not valid_phone(phone):
        raise Invalid(_("请填写有效的电话号码，例如 0371-65711111"), fields={"phone": _("格式不正确")})
    wechat_id = wechat_id.strip()
    problem = wechat_id_problem(wechat_id)
    if problem:
        raise Invalid(problem, fields={"wechat_id": problem})
    must_change = password is None or set_by_other
    password = password if password is not None else secrets.token_urlsafe(12)  # 96 random bits
    user = User(username=username, display_name=display_name.strip(), unit=unit, email=email, phone=phone,
                wechat_id=wechat_id or None, role_rows=[UserRole(role=r.value) for r in role_set],
                must_change_password=must_change)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", user, after={"username": username, "roles": [r.value for r in role_set],
                                                    "must_change_password": must_change})
    db.session.commit()
    return user, password


def create_token(username: str, *, actor: User | None = None, label: str = "",
                 expires_at: datetime | None = None) -> str:
    """A new bearer token for the user, returned once; only its hash is stored. Optional expiry."""
    begin_write()
    user = User.by_username(username)
    if user is None:
        raise Invalid(_("用户不存在：%(u)s", u=username), fields={"username": _("不存在")})
    label = label.strip()
    if len(label) > 64:
        raise Invalid(_("用途说明不能超过 64 个字符"), fields={"label": _("太长")})
    if expires_at is not None and expires_at <= utcnow():
        raise Invalid(_("过期时间应在将来"), fields={"expires_at": _("应在将来")})
    secret = ApiToken.new_secret()
    token = ApiToken(user=user, token_hash=hash_token(secret), label=label, expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "token.create", token, after={
        "user": username, "label": label, "expires_at": expires_at.isoformat() if expires_at else None})
    db.session.commit()
    return secret


def revoke_token(actor: User | None, token_id: int) -> ApiToken:
    """Revoke a token: an admin any, a person their own, the operator at the shell (actor None) any.
    Revoking twice changes nothing."""
    begin_write()
    token = db.session.get(ApiToken, token_id)
    if token is None or not (actor is None or actor.has_role(Role.ADMIN) or token.user_id == actor.id):
        raise NotFound(_("令牌不存在"))
    if not token.revoked:
        token.revoked = True
        audit.record(actor, "token.revoke", token, before={"revoked": False},
                     after={"revoked": True, "user": token.user.username})
        db.session.commit()
    return token


# Administration of people (interface §11) ------------------------------------------------------------

#: zxcvbn's score (0–4) a password chosen by its owner must reach: "safely unguessable" in its terms.
PASSWORD_MIN_SCORE = 3
PASSWORD_MIN_LENGTH = 10


def _require_admin(actor: User) -> None:
    if not actor.has_role(Role.ADMIN):
        raise Forbidden(_("只有系统管理员可以管理用户"))


def get_user(username: str) -> User:
    """The user with this username, or 404."""
    user = User.by_username(username) if isinstance(username, str) else None
    if user is None:
        raise NotFound(_("用户不存在"))
    return user


def user_json(user: User) -> dict[str, Any]:
    """A user as the API answers it (GET /api/v1/users)."""
    return {
        "username": user.username, "name": user.name, "unit": user.unit.code,
        "roles": sorted(r.value for r in user.roles), "email": user.email, "phone": user.phone,
        "wechat_id": user.wechat_id, "active": user.active, "must_change_password": user.must_change_password,
        "created_at": user.created_at.isoformat(),
    }


def _snapshot(user: User) -> dict[str, Any]:
    return {"name": user.display_name, "unit": user.unit.code, "roles": sorted(r.value for r in user.roles),
            "email": user.email, "phone": user.phone, "wechat_id": user.wechat_id, "active": user.active}


def admin_create_user(actor: User, data: Any) -> tuple[User, str | None]:
    """POST /users (admin): a new user; the password is answered once when none was given."""
    from app.schemas import UserCreate
    from app.validation import parse

    _require_admin(actor)
    values = parse(UserCreate, data, _("用户信息有误"))
    try:
        user, password = create_user(values.username, values.unit, values.roles,
                                     display_name=values.name or "", password=values.password,
                                     email=values.email or "", phone=values.phone or "",
                                     wechat_id=values.wechat_id or "", actor=actor,
                                     check_strength=True, set_by_other=True)
    except Invalid as error:
        if error.fields and "role" in error.fields:
            error.fields = {"roles": error.fields["role"]}
        raise
    return user, (None if values.password is not None else password)


def update_user(actor: User, username: str, data: Any) -> User:
    """PUT /users/{username} (admin): any of name, unit, roles, email, phone, wechat_id, active; audited
    before/after.

    Deactivation ends the person's sessions and revokes their tokens for good (a reactivated person gets
    new ones from an admin: a token handed to an integration must not come back by itself). An admin cannot
    deactivate themselves or drop their own admin role: the institution must keep one way in.
    """
    from app.schemas import UserUpdate
    from app.validation import parse

    _require_admin(actor)
    begin_write()
    user = get_user(username)
    values = parse(UserUpdate, data, _("用户信息有误"))
    given = values.model_fields_set
    fields: dict[str, str] = {}
    name = values.name
    unit = None
    if "unit" in given:
        unit = Unit.by_code(values.unit.strip())
        if unit is None:
            fields["unit"] = _("单位不存在")
    role_set: list[Role] | None = None
    if "roles" in given:
        role_set = sorted({Role(r) for r in values.roles})
        if user.id == actor.id and Role.ADMIN not in role_set:
            fields["roles"] = _("不能取消自己的系统管理员角色")
    email = values.email
    if email is not None and email.strip() and not valid_email(email.strip()):
        fields["email"] = _("格式不正确")
    phone = values.phone
    if phone is not None and not valid_phone(phone.strip()):
        fields["phone"] = _("格式不正确")
    wechat_id = values.wechat_id.strip() if values.wechat_id is not None else None
    wechat_problem = wechat_id_problem(wechat_id) if wechat_id is not None else None
    if wechat_problem:
        fields["wechat_id"] = wechat_problem
    active = values.active if "active" in given else None
    if active is False and user.id == actor.id:
        fields["active"] = _("不能停用自己的账户")
    if fields:
        raise Invalid(_("用户信息有误"), fields=fields)

    before = _snapshot(user)
    if name is not None:
        user.display_name = name.strip()
    if unit is not None:
        user.unit = unit
    if role_set is not None:
        keep = {r.role for r in user.role_rows if r.role in {x.value for x in role_set}}
        user.role_rows = [r for r in user.role_rows if r.role in keep] + [
            UserRole(role=r.value) for r in role_set if r.value not in keep]
    if email is not None:
        user.email = email.strip()
    if phone is not None:
        user.phone = phone.strip()
    if wechat_id is not None:
        user.wechat_id = wechat_id or None
    if isinstance(active, bool) and active != user.active:
        user.active = active
        if not active:
            user.end_sessions()
            _revoke_all_tokens(actor, user)
    after = _snapshot(user)
    if after != before:
        audit.record(actor, "user.update", user, before=before, after=after)
    db.session.commit()
    return user


def _revoke_all_tokens(actor: User, user: User) -> None:
    """Revoke every token of `user` still in force, each audited, in the caller's transaction."""
    for token in db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                           ApiToken.revoked.is_(False))):
        token.revoked = True
        audit.record(actor, "token.revoke", token, before={"revoked": False},
                     after={"revoked": True, "user": user.username, "reason": "user deactivated"})


def force_password_reset(actor: User, username: str) -> User:
    """The person must choose a new password at their next sign-in; their sessions end now."""
    _require_admin(actor)
    begin_write()
    user = get_user(username)
    user.must_change_password = True
    user.end_sessions()
    audit.record(actor, "user.force_password_reset", user, before={"must_change_password": False},
                 after={"must_change_password": True})
    db.session.commit()
    return user


def unlock(actor: User, username: str) -> bool:
    """Forget the failed sign-ins counted against this user (an attacker's, usually); audited."""
    _require_admin(actor)
    begin_write()
    user = get_user(username)
    had = auth.unlock(user.username)
    audit.record(actor, "user.unlock", user, after={"had_failures": had})
    db.session.commit()
    return had


#: Words people at such an institution build passwords from (实验室123), beside its registered names.
INSTITUTION_WORDS = ("回应", "huiying", "实验室", "研究所", "研究院", "研究中心", "科学院", "农科院", "办公室", "舆情",
                     "新闻发言人", "管理员")
_HAN = re.compile(r"[\u3400-\u9fff]+")


def password_hints(*own: str) -> list[str]:
    """What a guesser tries first here, for zxcvbn's `user_inputs`: the person's own username, name and
    e-mail, every user's and unit's name and code, the institution and the product — Chinese words also in
    pinyin, whole and in parts (张建国 → zhangjianguo, zhangjian, jianguo)."""
    from pypinyin import lazy_pinyin  # its dictionaries are loaded only where a password is checked

    words = [*own, *(w.split("@")[0] for w in own if "@" in w), current_app.config["INSTITUTION_NAME"],
             *INSTITUTION_WORDS]
    for column in (User.username, User.display_name, Unit.code, Unit.name):
        words.extend(db.session.scalars(select(column).distinct()))
    hints: set[str] = set()
    for word in words:
        word = (word or "").strip().lower()
        if not word:
            continue
        hints.add(word)
        for run in _HAN.findall(word):
            syllables = lazy_pinyin(list(run))
            for start in range(len(syllables)):
                for end in range(start + 2, len(syllables) + 1):
                    hints.add("".join(syllables[start:end]))
    return sorted(hints)


def password_problem(password: str, hints: Iterable[str] = ()) -> str | None:
    """Why this password is too weak (length, then zxcvbn's estimate), or None."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return _("密码至少 %(n)d 个字符", n=PASSWORD_MIN_LENGTH)
    if len(password) > 256:
        return _("密码不能超过 256 个字符")
    from zxcvbn import zxcvbn  # its word lists take ~12 MB: loaded by the process that checks a password

    if zxcvbn(password[:100], user_inputs=[h for h in hints if h])["score"] < PASSWORD_MIN_SCORE:
        return _("密码太容易被猜到：请用更长的、不常见的词组合，不要用用户名、姓名或常见密码")
    return None


def change_password(user_id: int, current: str, new: str) -> User:
    """A person changes their own password (the current one required); every other session ends."""
    begin_write()
    user = db.session.get(User, user_id)
    assert user is not None
    if not user.check_password(current):
        raise Invalid(_("当前密码不正确"), fields={"current_password": _("当前密码不正确")})
    problem = password_problem(new, password_hints(user.username, user.display_name, user.email))
    if problem is None and new == current:
        problem = _("新密码不能与当前密码相同")
    if problem:
        raise Invalid(problem, fields={"new_password": problem})
    before = {"session_epoch": user.session_epoch, "must_change_password": user.must_change_password}
    user.set_password(new)
    user.must_change_password = False
    user.end_sessions()
    audit.record(user, "user.password_change", user, before=before,
                 after={"session_epoch": user.session_epoch, "must_change_password": False})
    db.session.commit()
    return user


def set_wechat_id(user_id: int, value: str) -> User:
    """A person's own WeChat ID (/account), where previews of articles go; empty clears it. Audited."""
    begin_write()
    user = db.session.get(User, user_id)
    assert user is not None
    wechat_id = value.strip()
    problem = wechat_id_problem(wechat_id)
    if problem:
        raise Invalid(problem, fields={"wechat_id": problem})
    before = user.wechat_id
    user.wechat_id = wechat_id or None
    if user.wechat_id != before:
        audit.record(user, "user.update", user, before={"wechat_id": before}, after={"wechat_id": user.wechat_id})
    db.session.commit()
    return user


def sign_out_everywhere(user_id: int) -> User:
    """End every session and remember-me cookie of this person (their API tokens stay: revoke those apart)."""
    begin_write()
    user = db.session.get(User, user_id)
    assert user is not None
    before = user.session_epoch
    user.end_sessions()
    audit.record(user, "user.sign_out_everywhere", user, before={"session_epoch": before},
                 after={"session_epoch": user.session_epoch})
    db.session.commit()
    return user
