"""What every JSON endpoint shares: who is calling, the JSON body, paging."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app.errors import Forbidden, HuiyingError, Invalid, TooLarge, Unauthenticated, WrongRole
from app.extensions import csrf, db
from app.models import ApiToken, Role, User, hash_token
from app.paging import Cut
from app.security import json_problem
from app.timeutil import utcnow
from app.tx import begin_write

MAX_JSON_BYTES = 1024 * 1024
TOKEN_USE_RESOLUTION = timedelta(minutes=1)
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_INTEGRATION_KEY = "huiying_integration_endpoints"


def allow_integration(app: Flask, *endpoints: str) -> None:
    """Declare the endpoints an `integration` token may call (interface §15: only `POST /interactions`)."""
    app.extensions.setdefault(_INTEGRATION_KEY, set()).update(endpoints)


def integration_only(user: User) -> bool:
    """A person (another system's account) whose only role is `integration`: allowed nothing else."""
    return user.roles == {Role.INTEGRATION}


def _bearer_user() -> User | None:
    """The token's person, in one query: the token row joined to the person's row and roles.

    The person's row is needed by every request anyway (roles, unit, `active`), so the token row rides along
    in the same round trip and stays the authority: a revocation, an expiry or a deactivation counts at the
    very next request, with or without Redis. (Before, this took three queries: the token, the person, the
    roles. A Redis cache of the token could save nothing more — the person's row must still be read — and it
    would add a round trip and a window in which a revoked token is still believed.)"""
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    found = db.session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id).options(joinedload(User.role_rows))
        .where(ApiToken.token_hash == hash_token(header[7:].strip()), ApiToken.revoked.is_(False))
    ).unique().first()
    now = utcnow()
    if found is None or not found[1].active or (found[0].expires_at is not None and found[0].expires_at <= now):
        raise Unauthenticated(_("令牌无效、已过期或已停用"))
    row, user = found
    if row.last_used_at is None or now - row.last_used_at > TOKEN_USE_RESOLUTION:
        # its own short transaction, at most once a minute: never a lock held across the request
        token_id = row.id
        begin_write()
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        db.session.commit()
    return user


def actor() -> User:
    """The caller: a bearer token, or the session (then writes need the CSRF token). 401 otherwise."""
    if "actor" in g:
        return g.actor
    user = _bearer_user()
    if user is None:
        if not current_user.is_authenticated:
            raise Unauthenticated(_("请先登录或提供 API 令牌"))
        user = current_user._get_current_object()
        if request.method in MUTATING:
            try:
                csrf.protect()
            except CSRFError:
                raise Forbidden(_("缺少或无效的 CSRF 令牌（请求头 X-CSRFToken）")) from None
    if integration_only(user) and request.endpoint not in current_app.extensions.get(_INTEGRATION_KEY, set()):
        raise WrongRole(_("系统接入令牌只能提交互动留言"))
    g.actor = user
    return user


class BadBody:
    """A body that could not be read; raised by the validators, after the 401/403/404 checks."""

    def __init__(self, error: HuiyingError) -> None:
        self.error = error


def json_body() -> Any:
    """The request's JSON, or a `BadBody` (400 malformed, 413 over 1 MB) for the validators to raise."""
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        return BadBody(TooLarge(_("请求体不能超过 1 MB")))
    raw = request.get_data(cache=True)
    if len(raw) > MAX_JSON_BYTES:
        return BadBody(TooLarge(_("请求体不能超过 1 MB")))
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nesting thousands deep
        return BadBody(Invalid(_("请求体不是有效的 JSON"), fields={"_": _("JSON 格式错误")}))
    problem = json_problem(data)
    if problem is not None:
        field, message = problem
        return BadBody(Invalid(_("请求体包含无法处理的内容"), fields={field: message}))
    return data


def require_mapping(data: Any) -> dict[str, Any]:
    """The body as an object, or the 400/413 it deserves."""
    if isinstance(data, BadBody):
        raise data.error
    if not isinstance(data, dict):
        raise Invalid(_("请求体必须是 JSON 对象"), fields={"_": _("必须是 JSON 对象")})
    return data


def page_args() -> Cut:
    """`page` (from 1) and `per_page` (default 20, at most 100), validated by `app.validation.Paging`."""
    from app.validation import Paging, parse_query

    return parse_query(Paging, request.args, _("分页参数有误")).cut


def api_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint under /api/v1 whose writes are CSRF-checked by `actor()`, not globally."""
    bp = Blueprint(name, import_name, url_prefix="/api/v1")
    csrf.exempt(bp)
    return bp
