"""`/account`: every person's own password, WeChat ID, sessions and API tokens (interface §11, §14)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from app import accounts, params, prg, sessions
from app.errors import HuiyingError, Invalid
from app.extensions import db
from app.models import ApiToken, User
from app.timeutil import utcnow

bp = Blueprint("account", __name__)

#: What a person who must change their password may still reach.
_WHILE_RESET = frozenset({"account.page", "auth.logout_view", "static"})


def _me() -> User:
    return current_user._get_current_object()


def _page(error: HuiyingError | None = None, form: str = "", typed: Mapping[str, Any] | None = None
          ) -> tuple[str, int]:
    me = _me()
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == me.id)
                                .order_by(ApiToken.revoked, ApiToken.created_at.desc()))
    status = error.status if error else 200
    current = sessions.find(me, me.session_nonce) if me.session_nonce else None
    return render_template("account.html", me=me, tokens=list(tokens), sessions=sessions.open_sessions(me),
                           current_id=current.id if current else None, error=error,
                           fields=(error.fields or {}) if error else {}, form=form, typed=typed or {},
                           now=utcnow()), status


@bp.route("/account", methods=["GET", "POST"])
@login_required
def page() -> Response | tuple[str, int]:
    """我的账户: change the password (current one required), set one's own WeChat ID (where previews of
    articles go), see and end one's sessions (one, all others, or everywhere), revoke own tokens."""
    if request.method == "GET":
        kept = prg.take()
        return _page(kept.error, kept.form, kept.typed) if kept else _page()
    action = request.form.get("action", "")
    try:
        if action == "password":
            new, again = request.form.get("new_password", ""), request.form.get("new_password_again", "")
            if new != again:
                raise Invalid(_("两次输入的新密码不一致"), fields={"new_password_again": _("与新密码不一致")})
            me = _me()
            nonce, old_epoch = me.session_nonce or "", me.session_epoch
            user = accounts.change_password(me.id, request.form.get("current_password", ""), new)
            # this browser stays signed in under the new epoch; every other session ended
            login_user(sessions.carry_over(user.id, nonce, old_epoch))
            flash(_("密码已修改，其他设备上的登录已结束"), "success")
        elif action == "wechat_id":
            saved = accounts.set_wechat_id(_me().id, request.form.get("wechat_id", ""))
            flash(_("已保存微信号 %(id)s", id=saved.wechat_id) if saved.wechat_id else _("已清除微信号"), "success")
        elif action == "sign_out_everywhere":
            accounts.sign_out_everywhere(_me().id)
            flash(_("已在所有设备上退出登录"), "success")
            return redirect(url_for("auth.login_view"))
        elif action == "end_session":
            session_id = params.row_id(request.form.get("session", ""), "session", _("该登录不存在或已结束"))
            ended = sessions.end(_me().id, session_id)
            flash(_("已结束 %(device)s 上的登录", device=ended.device), "success")
        elif action == "end_other_sessions":
            count = sessions.end_others(_me().id, _me().session_nonce)
            flash(_("已结束其他 %(n)d 处登录", n=count), "success")
        elif action == "revoke":
            token_id = params.row_id(request.form.get("token", ""), "token", _("令牌不存在"))
            accounts.revoke_token(_me(), token_id)
            flash(_("令牌已撤销"), "success")
        else:
            raise Invalid(_("未知操作"))
    except HuiyingError as error:
        db.session.rollback()
        # passwords are never kept (app.prg drops them); a refused WeChat ID is shown again as typed
        return prg.back(url_for(".page"), error, form=action, typed=request.form)
    return redirect(url_for(".page"))


def _is_asset(endpoint: str | None) -> bool:
    """Styles, scripts and the icon: fetched beside every page, they need not load the person (a query each; and a
    signed-in session met from another address would be marked not fresh and sent back beside the page's own
    cookie; app.session_cookie keeps such answers from writing the session in browsers that say what they fetch)."""
    return endpoint is not None and (endpoint in ("static", "pages.favicon") or endpoint.endswith(".static"))


def _must_change_password() -> Response | None:
    """A person whose password an admin reset sees only the account page until they choose a new one."""
    if _is_asset(request.endpoint):
        return None
    if (current_user.is_authenticated and current_user.must_change_password
            and request.endpoint not in _WHILE_RESET and not request.path.startswith("/api/")):
        flash(_("管理员要求您先修改密码"), "warning")
        return redirect(url_for("account.page"))
    return None


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(_must_change_password)
