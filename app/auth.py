"""Signing in and out: sessions for people, throttled against guessing.

The throttle counts failures in Redis (not requests, so it is not one of app/limits.py's limits). When Redis
is down it fails open, as those limits do: signing in must not depend on Redis; the log says the throttle is off.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeTimedSerializer
from redis.exceptions import RedisError
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app import audit, sessions
from app.errors import Forbidden
from app.extensions import db, get_redis, login
from app.models import Role, User
from app.security import MAX_ID
from app.tx import begin_write

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)

#: Failures a minute one address may make, and one address against one user (interface §11): then 429, unchecked.
FAILURES_ALLOWED = 5
FAILURE_WINDOW_SECONDS = 60
#: A user's failures from every address count towards their slowdown while they come within an hour of each other.
USER_FAILURE_WINDOW_SECONDS = 3600
#: From this many failures of one user on, a browser not known to be theirs waits before its password is
#: checked: 5 s, doubling every `FAILURES_ALLOWED` failures more, never beyond `SLOWDOWN_MAX_SECONDS`.
SLOWDOWN_AFTER = 10
SLOWDOWN_FIRST_SECONDS = 5
SLOWDOWN_MAX_SECONDS = 300
#: How long a finished wait may still be used for one attempt.
WAIT_VALID_SECONDS = 600
DEVICE_COOKIE = "huiying_device"
DEVICE_COOKIE_SECONDS = 180 * 86400


class PasswordChangeRequired(Forbidden):
    """403 `password_change_required`: the session's person must choose a new password at /account first."""

    code = "password_change_required"


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请输入用户名")), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码")), Length(max=256)])
    remember = BooleanField(_l("记住我"))


def _now() -> float:
    return time.time()


def _user_key(username: str) -> str:
    return f"huiying:login:user:{username.strip().lower()}"


def _address_key() -> str:
    return f"huiying:login:addr:{request.remote_addr}"


def _pair_key(username: str) -> str:
    return f"huiying:login:pair:{username.strip().lower()}:{request.remote_addr}"


def _wait_key(username: str) -> str:
    return f"huiying:login:wait:{username.strip().lower()}:{request.remote_addr}"


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="huiying-login-device")


def _known_device(username: str) -> bool:
    """True when this browser signed in as this user before (a signed cookie set at sign-in).

    Such a browser never waits for the user's slowdown (`slowdown_wait`): an attacker guessing a leader's
    password from elsewhere cannot even slow the leader down in their own browser.
    """
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie:
        return False
    try:
        name = _device_serializer().loads(cookie, max_age=DEVICE_COOKIE_SECONDS)
    except BadSignature:
        return False
    return isinstance(name, str) and name.lower() == username.strip().lower()


def _throttle_off(error: RedisError) -> None:
    """No Redis, no throttle (fail open, the module's docstring says why), and the log says so."""
    log.warning("sign-in throttle off: Redis unreachable (%s)", error)


def reserve_attempt(username: str) -> bool:
    """Count this attempt for the address and for the (user, address) pair *before* the password is checked.

    INCR is atomic, so 40 parallel guesses get 5 checks and 35 refusals, not 40 checks. False when
    either count is over `FAILURES_ALLOWED` in the window: the password must not be checked then. No count
    is per user alone: guesses from elsewhere must not lock the owner out (they slow new browsers instead).
    """
    keys = [_address_key(), _pair_key(username)]
    try:
        pipe = get_redis().pipeline()
        for key in keys:
            pipe.incr(key)
            pipe.expire(key, FAILURE_WINDOW_SECONDS, nx=True)
        counts = pipe.execute()[::2]
    except RedisError as exc:
        _throttle_off(exc)
        return True
    return all(int(count) <= FAILURES_ALLOWED for count in counts)


def _release_attempt(username: str) -> None:
    """A successful sign-in, or a wait, was no failure: give back what `reserve_attempt` counted."""
    try:
        pipe = get_redis().pipeline()
        for key in (_address_key(), _pair_key(username)):
            pipe.decr(key)
        pipe.execute()
    except RedisError:
        pass


def _record_failure(username: str) -> None:
    """One more failure of this user, from wherever: what their slowdown grows with."""
    try:
        pipe = get_redis().pipeline()
        pipe.incr(_user_key(username))
        pipe.expire(_user_key(username), USER_FAILURE_WINDOW_SECONDS)
        pipe.execute()
    except RedisError:
        pass


def _slowdown_seconds(failures: int) -> int:
    doublings = min((failures - SLOWDOWN_AFTER) // FAILURES_ALLOWED, 16)
    return min(SLOWDOWN_FIRST_SECONDS * 2**doublings, SLOWDOWN_MAX_SECONDS)


def slowdown_wait(username: str) -> int:
    """Seconds this browser must still wait before its password for `username` is checked; 0: check it now.

    A proof of waiting instead of a lock: once the user has `SLOWDOWN_AFTER` recent failures, an address's
    attempt starts a wait (unchecked), its first attempt after the wait is checked, and its next one waits
    again. Each address gets one check per wait, while the owner, anywhere, waits at most
    `SLOWDOWN_MAX_SECONDS` once — and not at all in a browser they signed in with before.
    """
    if _known_device(username):
        return 0
    try:
        redis = get_redis()
        failures = int(redis.get(_user_key(username)) or 0)
        if failures < SLOWDOWN_AFTER:
            return 0
        key, now = _wait_key(username), _now()
        raw = redis.get(key)
        ready_at = float(raw) if raw is not None else None
        if ready_at is not None and ready_at <= now and redis.delete(key):
            return 0  # waited: this one attempt is checked (a parallel one lost the DELETE and waits anew)
        if ready_at is None or ready_at <= now:
            seconds = _slowdown_seconds(failures)
            redis.set(key, now + seconds, ex=seconds + WAIT_VALID_SECONDS)
            return seconds
        return math.ceil(ready_at - now)
    except RedisError as exc:
        _throttle_off(exc)
        return 0


def unlock(username: str) -> bool:
    """Forget the user's failed attempts and so their slowdown (an admin's unlock); True when there were any."""
    try:
        return bool(get_redis().delete(_user_key(username)))
    except RedisError:
        return False


def _dummy_hash() -> str:
    """A hash made the way real ones are, checked for unknown users so that they take as long."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    cache = current_app.extensions.setdefault("huiying_dummy_hash", {})
    if method not in cache:
        cache[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    return cache[method]


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None; an unknown name costs the same hash check."""
    user = User.by_username(username)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    # another system's account (role `integration` alone) has a token, never a session (interface §15)
    if user.check_password(password) and user.active and user.roles != {Role.INTEGRATION}:
        return user
    return None


def local_target(target: str) -> str | None:
    """`target` when it is a path on this site, else None: no scheme, no host, no `//`, no control
    characters or backslashes (browsers read `/\\host` and `/<TAB>/host` as another site)."""
    if not target.startswith("/") or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    return target


@login.user_loader
def _load_user(session_id: str) -> User | None:
    """The session's user while its epoch is current (sign-out, a password change or deactivation end every
    session) and its own `UserSession` is open (the person may end one session alone from `/account`)."""
    user_id, epoch, nonce = (session_id.split(":") + ["", ""])[:3]
    if not user_id.isdecimal() or not epoch.isdecimal() or int(user_id) > MAX_ID or not nonce:
        return None
    return sessions.load(int(user_id), int(epoch), nonce)


@bp.route("/login", methods=["GET", "POST"])
def login_view() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm()
    if form.validate_on_submit():
        # DataRequired passed: both fields hold text
        assert form.username.data is not None and form.password.data is not None
        username = form.username.data.strip()
        if not reserve_attempt(username):
            form.password.errors = [_("登录失败次数过多，请一分钟后再试")]
            return render_template("login.html", form=form), 429
        wait = slowdown_wait(username)
        if wait:
            _release_attempt(username)
            form.password.errors = [_("该账户近期多次登录失败。为保护账户，请等待 %(n)d 秒后再次登录", n=wait)]
            refused = make_response(render_template("login.html", form=form), 429)
            refused.headers["Retry-After"] = str(wait)
            return refused
        user = authenticate(username, form.password.data)
        if user is None:
            _record_failure(username)
            form.password.errors = [_("用户名或密码错误")]
            return render_template("login.html", form=form), 200
        _release_attempt(username)
        sessions.start(user)
        login_user(user, remember=form.remember.data)
        audit.record(user, "auth.login", user)
        db.session.commit()
        target = local_target(request.args.get("next", "")) or url_for("web.home")
        response = redirect(target)
        response.set_cookie(DEVICE_COOKIE, _device_serializer().dumps(user.username), max_age=DEVICE_COOKIE_SECONDS,
                            httponly=True, samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
        return response
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout_view() -> Response:
    """Sign out, and with it every session and remember-me cookie of this person (interface §11)."""
    begin_write()
    user = db.session.get(User, current_user.id)
    assert user is not None
    before = user.session_epoch
    user.end_sessions()
    audit.record(user, "auth.logout", user, before={"session_epoch": before},
                 after={"session_epoch": user.session_epoch})
    db.session.commit()
    logout_user()
    flash(_("已退出登录"))
    return redirect(url_for("auth.login_view"))


#: What answers without signing in (interface §10, §11, §13): a pending password change does not close it.
_PUBLIC_API = ("/api/v1/public/", "/api/v1/ledger", "/api/v1/openapi.json", "/api/docs")


def _password_change_gate() -> None:
    """The API with the session cookie of a person who must change their password: 403, as the pages send them
    to /account. A bearer token is an integration's own credential, revoked apart, and keeps working."""
    if not request.path.startswith("/api/") or request.path.startswith(_PUBLIC_API) \
            or request.headers.get("Authorization", "").lower().startswith("bearer "):
        return
    if current_user.is_authenticated and current_user.must_change_password:
        raise PasswordChangeRequired(_("请先在“我的账户”页面（/account）修改密码"))


def init_app(app: Flask) -> None:
    app.before_request(_password_change_gate)
    login.login_view = "auth.login_view"
    login.login_message = _l("请先登录")
    app.register_blueprint(bp)
