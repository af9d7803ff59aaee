"""Typed errors carrying the contract's codes (interface §3), and their one mapping to HTTP."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify, make_response, redirect, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response


class HuiyingError(Exception):
    """Base of every error a user can cause; `code` and `status` come from the contract."""

    status = 400
    code = "invalid"

    def __init__(self, message: str = "", fields: dict[str, str] | None = None) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        self.fields = fields

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields is not None:
            error["fields"] = self.fields
        return {"error": error}


class Invalid(HuiyingError):
    status, code = 400, "invalid"


class Unauthenticated(HuiyingError):
    status, code = 401, "unauthenticated"


class Forbidden(HuiyingError):
    status, code = 403, "forbidden"


class WrongRole(Forbidden):
    code = "wrong_role"


class WrongUnit(Forbidden):
    code = "wrong_unit"


class NotFound(HuiyingError):
    status, code = 404, "not_found"


class TooLarge(HuiyingError):
    status, code = 413, "too_large"


class RateLimited(HuiyingError):
    status, code = 429, "rate_limited"


class WrongState(HuiyingError):
    status, code = 409, "wrong_state"


class Busy(HuiyingError):
    """The database could not give this write its lock in time: nothing was written, try again."""

    status, code = 503, "busy"


def is_contention(error: BaseException) -> bool:
    """A lock wait that ran out (SQLite) or a serialization failure/deadlock (PostgreSQL): retryable."""
    original = getattr(error, "orig", None)
    if original is None:
        return False
    if type(original).__module__.startswith("sqlite3"):
        text = str(original).lower()
        return "locked" in text or "busy" in text
    sqlstate = getattr(original, "sqlstate", None)
    return sqlstate in ("40001", "40P01", "55P03")


_HTTP_CODES = {
    400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
    405: "invalid", 413: "too_large", 415: "invalid", 429: "rate_limited",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/sandbox/wechat/cgi-bin/")


def _page_of(path: str) -> str | None:
    """The nearest page above a form's address (`/statements/5/reviews` → `/statements/5`), if any."""
    adapter = current_app.url_map.bind("")
    parts = path.rstrip("/").split("/")
    while len(parts) > 1:
        parts.pop()
        candidate = "/".join(parts) or "/"
        try:
            adapter.match(candidate, method="GET")
        except HTTPException:
            continue
        except Exception:  # a routing redirect (strict slashes): not worth following
            continue
        return candidate
    return None


def register(app: Flask) -> None:
    """JSON errors under /api (interface §3 error model), HTML pages elsewhere; never a bare 500."""

    @app.errorhandler(HuiyingError)
    def _domain(error: HuiyingError) -> Response:
        if _wants_json():
            response = make_response(jsonify(error.body()), error.status)
        else:
            response = make_response(render_template("error.html", status=error.status, message=error.message),
                                     error.status)
        if isinstance(error, Busy):
            response.headers["Retry-After"] = "1"  # busy is always worth retrying soon (interface §3)
        return response

    @app.errorhandler(DBAPIError)
    def _database(error: DBAPIError) -> Response:
        if not is_contention(error):
            raise error
        from app.extensions import db

        db.session.rollback()
        return _domain(Busy(_("系统繁忙，本次操作未保存，请稍后重试")))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response | tuple[Response, int] | tuple[str, int] | HTTPException:
        status = error.code or 500
        if status < 400:
            return error
        if status == 405 and request.method == "GET" and not _wants_json():
            # a phone restoring a tab that was left on a form's address: open the page the form is on
            page = _page_of(request.path)
            if page is not None:
                return redirect(page)
        if _wants_json():
            code = _HTTP_CODES.get(status, "invalid" if status < 500 else "server_error")
            message = _("请求内容过大") if status == 413 else (error.description or error.name)
            return jsonify({"error": {"code": code, "message": message}}), status
        # werkzeug's own descriptions are English: a page shows its Chinese heading and hint instead
        own = error.description if error.description != type(error).description else None
        return render_template("error.html", status=status, message=own), status
