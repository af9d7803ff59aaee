"""What every request and response gets: trusted proxies, refusal of unstorable text, security headers."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, request
from flask_babel import gettext as _
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, ValidationError

from app.errors import Invalid
from app.params import MAX_ID, MAX_PAGE, Unreadable, integer

#: No inline script anywhere (scripts are static files); inline styles stay allowed because the WeChat
#: preview is inline-styled HTML by nature. No page may be framed: a frame got a leader to approve in one click.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
HTML_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
}
#: A year of "HTTPS only" for this host. Not `includeSubDomains`: other hosts of the institution's domain
#: may still serve plain HTTP, and this app cannot know.
HSTS = "max-age=31536000"


class IdConverter(IntegerConverter):
    """`<int:…>` in a URL: a number too large to be a row id is no page (404), not a database error."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ID:
            raise ValidationError()
        return number


def unstorable(value: str) -> bool:
    """Text no database column can hold: NUL (PostgreSQL refuses it) or lone surrogates (not UTF-8)."""
    return "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value)


#: Deeper JSON than any body of the contract needs; deeper would only exercise recursion in later code.
MAX_JSON_DEPTH = 32


def json_problem(value: Any) -> tuple[str, str] | None:
    """(field path, message) of the first thing in decoded JSON no handler should see, or None.

    Strings with NUL or lone surrogates (unstorable) and nesting beyond `MAX_JSON_DEPTH`.
    """
    stack: list[tuple[str, Any, int]] = [("", value, 0)]
    while stack:
        where, item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return where.split(".")[0] or "_", _("嵌套层级过深")
        if isinstance(item, str):
            if unstorable(item):
                return where or "_", _("包含无法保存的字符")
        elif isinstance(item, dict):
            for key, sub in item.items():
                if unstorable(key):
                    return where or "_", _("包含无法保存的字符")
                stack.append((f"{where}.{key}" if where else key, sub, depth + 1))
        elif isinstance(item, list):
            stack.extend((f"{where}.{i}" if where else str(i), sub, depth + 1) for i, sub in enumerate(item))
    return None


def _guard_input() -> None:
    """Before any view: NUL or lone surrogates in a query string or form, and a `page` number no list has,
    are 400 `invalid` (pages parse `page` leniently; a digit string beyond `MAX_PAGE` or not ASCII
    would otherwise reach the database as an OFFSET it cannot hold, or int() would fail on "²")."""
    for name in ("page", "per_page"):
        value = request.args.get(name, "")
        try:
            if value.isdigit():  # digits of any script: a number no list has is refused, not read as page 1
                integer(value, 0, MAX_PAGE)
        except Unreadable:
            raise Invalid(_("分页参数有误"), fields={name: _("应为 1–%(n)d 的整数", n=MAX_PAGE)}) from None
    sources = [request.args]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.form)
    for source in sources:
        for name, values in source.lists():
            name = name or ""  # a multipart part without a name is keyed None
            if unstorable(name) or any(unstorable(v) for v in values):
                raise Invalid(_("输入包含无法保存的字符（如 NUL）"), fields={name[:64] or "_": _("包含无法保存的字符")})


def _headers(response: Response) -> Response:
    """Security headers on every answer; a view that set its own (stricter) policy keeps it.

    HSTS when the request came over HTTPS (or `SESSION_COOKIE_SECURE` says the site is HTTPS only, behind a
    proxy the app was not told to believe); never on plain-HTTP development. Every download
    (`Content-Disposition: attachment`: exports, documents, files sent upward) holds non-public data, so no
    browser or proxy may keep a copy of it.
    """
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        for name, value in HTML_HEADERS.items():
            response.headers.setdefault(name, value)
    if request.is_secure or current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if response.headers.get("Content-Disposition", "").lstrip().lower().startswith("attachment"):
        response.headers["Cache-Control"] = "private, no-store"  # replaces send_file's cacheable default
    return response


def init_app(app: Flask) -> None:
    """Install the proxy fix (only as many hops as `TRUSTED_PROXIES` says), the input guard and the headers."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        # Flask's documented way to wrap the WSGI app, which mypy sees as replacing a method
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.url_map.converters["int"] = IdConverter
    app.before_request(_guard_input)
    app.after_request(_headers)
