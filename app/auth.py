"""Signing in and out: sessions for people, throttled against guessing."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from redis.exceptions import RedisError
from werkzeug.wrappers import Response
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app import audit
from app.extensions import db, get_redis, login
from app.models import User

bp = Blueprint("auth", __name__)

FAILURES_ALLOWED = 5
FAILURE_WINDOW_SECONDS = 60


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请输入用户名")), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码")), Length(max=256)])
    remember = BooleanField(_l("记住我"))


def _throttle_key(username: str) -> str:
    return f"huiying:login-failures:{username.lower()}:{request.remote_addr}"


def failures(username: str) -> int:
    """Failed logins for this user from this address in the last minute (shared by all processes)."""
    try:
        return int(get_redis().get(_throttle_key(username)) or 0)
    except RedisError:
        return 0


def _count_failure(username: str) -> None:
    try:
        pipe = get_redis().pipeline()
        pipe.incr(_throttle_key(username))
        pipe.expire(_throttle_key(username), FAILURE_WINDOW_SECONDS, nx=True)
        pipe.execute()
    except RedisError:
        pass


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None; counts the failure."""
    user = User.by_username(username)
    if user is not None and user.active and user.check_password(password):
        return user
    _count_failure(username)
    return None


@login.user_loader
def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


@bp.route("/login", methods=["GET", "POST"])
def login_view() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm()
    if form.validate_on_submit():
        username = form.username.data.strip()
        if failures(username) >= FAILURES_ALLOWED:
            form.password.errors = [_("登录失败次数过多，请一分钟后再试")]
            return render_template("login.html", form=form), 429
        user = authenticate(username, form.password.data)
        if user is None:
            form.password.errors = [_("用户名或密码错误")]
            return render_template("login.html", form=form), 200
        login_user(user, remember=form.remember.data)
        audit.record(user, "auth.login", user)
        db.session.commit()
        target = request.args.get("next", "")
        if not target.startswith("/") or target.startswith("//"):
            target = url_for("web.home")
        return redirect(target)
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout_view() -> Response:
    audit.record(current_user._get_current_object(), "auth.logout", current_user._get_current_object())
    db.session.commit()
    logout_user()
    flash(_("已退出登录"))
    return redirect(url_for("auth.login_view"))


def init_app(app: Flask) -> None:
    login.login_view = "auth.login_view"
    login.login_message = _l("请先登录")
    app.register_blueprint(bp)
