"""What every page shares: template helpers (times in Asia/Shanghai, ages, the language switch), the icon and the
answer to a stale form. The home page and the navigation's entries come from the packages above (huiying, app.nav)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, current_app, g, render_template, request, send_from_directory, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from app import nav
from app.timeutil import format_local, utcnow

bp = Blueprint("pages", __name__)


@bp.get("/favicon.ico")
def favicon() -> Response:
    """The site's icon where every browser looks for it, so no page asks for a missing file."""
    assert current_app.static_folder is not None
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=7 * 24 * 3600)


def age(value: datetime | None) -> str:
    """How long ago, coarsely ("3 小时前"): enough to see what has waited longest."""
    if value is None:
        return ""
    minutes = max(0, int((utcnow() - value).total_seconds() // 60))
    if minutes == 0:
        return _("刚刚")
    if minutes < 60:
        unit, num = "minutes", minutes
    elif minutes < 48 * 60:
        unit, num = "hours", minutes // 60
    else:
        unit, num = "days", minutes // (24 * 60)
    # Lists show many rows of few distinct ages: translate each once per request.
    cache: dict[tuple[str, int], str] = g.setdefault("huiying_ages", {})
    if (unit, num) not in cache:
        if unit == "minutes":
            cache[unit, num] = ngettext("%(num)d 分钟前", "%(num)d 分钟前", num)
        elif unit == "hours":
            cache[unit, num] = ngettext("%(num)d 小时前", "%(num)d 小时前", num)
        else:
            cache[unit, num] = ngettext("%(num)d 天前", "%(num)d 天前", num)
    return cache[unit, num]


def lang_url(locale: str) -> str:
    """This page again, in `locale` (the choice is kept in the session by `app._locale`)."""
    args: dict[str, Any] = request.args.to_dict()
    args["lang"] = locale
    rule = request.url_rule
    if request.endpoint and rule is not None and "GET" in (rule.methods or ()):
        return url_for(request.endpoint, **(request.view_args or {}), **args)
    return f"{request.script_root}/?{urlencode({'lang': locale})}"  # the home page, whichever package serves it


def html_lang() -> str:
    """The page's `lang` attribute: zh-Hans unless English was chosen."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh-Hans"


@bp.app_errorhandler(CSRFError)
def csrf_failed(error: CSRFError) -> tuple[str, int]:
    """A form posted from a page too old (or not ours): say so in the person's language, not Flask-WTF's."""
    return render_template("error.html", status=400, message=_("页面已过期或缺少安全令牌，请返回刷新页面后重试")), 400


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    nav.init_app(app)
    app.add_template_filter(format_local, "localtime")
    app.add_template_filter(age, "age")
    app.add_template_global(lang_url, "lang_url")
    app.add_template_global(html_lang, "html_lang")
    app.add_template_global(utcnow, "now_utc")
