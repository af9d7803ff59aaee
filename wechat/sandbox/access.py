"""Who may use which part of the sandbox (interface §13).

The `/cgi-bin/…` API keeps the platform's own rules (an access token from the account's AppID and
secret), so the production client talks to it unchanged. The viewer shows what the account published
under this site's name, so it needs a signed-in user. The fault switches, the call log and the text
alteration switch break or expose real deliveries, so they exist only with `WECHAT_SANDBOX_FAULTS`
and answer only an `admin` (bearer token, or the session with its CSRF token for changes).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, jsonify
from flask_babel import gettext as _
from flask_login import current_user

from app.api import actor
from app.errors import Forbidden, HuiyingError
from app.extensions import login
from app.models import Role
from wechat.sandbox.config import setting


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """A viewer page: anyone signed in; others are sent to sign in and brought back."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login.unauthorized()
        return view(*args, **kwargs)

    return guarded


def switches_on() -> bool:
    """Whether the test switches exist at all (`WECHAT_SANDBOX_FAULTS`; off unless configured)."""
    return bool(setting("WECHAT_SANDBOX_FAULTS"))


def admin_switch(view: Callable[..., Any]) -> Callable[..., Any]:
    """A test switch: absent (404) unless enabled, then only for an admin (401/403 as the API answers)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not switches_on():
            abort(404)
        try:
            if not actor().has_role(Role.ADMIN):
                raise Forbidden(_("只有系统管理员可以使用微信沙箱的测试开关"))
        except HuiyingError as error:
            return jsonify(error.body()), error.status
        return view(*args, **kwargs)

    return guarded
