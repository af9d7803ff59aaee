"""Request rate limits: Flask-Limiter, counted in Redis at `REDIS_URL` so that every process shares one count.

A view asks for a limit with `rate_limited(...)`; `init_app`, after every blueprint is registered, gives each app
its own limiter (tests build many apps, each with its own Redis) and applies the limits it finds.

When Redis is down the limits fail open, as the sign-in throttle does (app/auth.py): the public checks and
signing in go on unlimited, with the failure logged, rather than answering 500 or refusing everyone. A
limit protects the server's work; Redis being away must not take the public's check of the record down.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import Flask, current_app, make_response
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from app.errors import RateLimited

#: What every public check that costs the server work allows per address (interface §10, §13).
PER_MINUTE = 30
PUBLIC_CHECKS = f"{PER_MINUTE} per minute"


#: A view function: a decorator hands back the very function it was given, its type kept for `route`.
View = TypeVar("View", bound=Callable[..., object])


@dataclass(frozen=True)
class Wanted:
    """One view's limit: its bucket (`scope`, shared by views naming the same one) and what a breach says."""

    scope: str
    message: Callable[[], str]
    methods: tuple[str, ...] | None = None
    #: the page to answer with instead of the JSON error (a form that shows the message beside its field)
    page: Callable[[str], Response] | None = None


def rate_limited(scope: str, message: Callable[[], str], *, methods: tuple[str, ...] | None = None,
                 page: Callable[[str], Response] | None = None) -> Callable[[View], View]:
    """Mark a view: `PUBLIC_CHECKS` per address in bucket `scope`, else 429 `rate_limited` with `Retry-After`."""

    def mark(view: View) -> View:
        # a function's attribute mypy does not know of; `init_app` reads it back with getattr
        view.__rate_limit__ = Wanted(scope, message, methods, page)  # type: ignore[attr-defined]
        return view

    return mark


def _retry_after(limiter: Limiter) -> int:
    """Seconds until the breached window ends (at least 1)."""
    current = limiter.current_limit
    return max(1, math.ceil(current.window.reset_time - time.time())) if current is not None else 60


def _refused(error: RateLimitExceeded) -> Response:
    limiter: Limiter = current_app.extensions["huiying_limiter"]
    if error.response is not None:  # a page's own answer (`Wanted.page`)
        response = error.response
        # werkzeug types the attribute as its sans-IO base; what `Wanted.page` answered is a full Response
        assert isinstance(response, Response)
    else:
        refusal = RateLimited(error.description or "")
        response = make_response(refusal.body(), refusal.status)
    response.status_code = 429
    response.headers["Retry-After"] = str(_retry_after(limiter))
    return response


def init_app(app: Flask) -> None:
    """This app's limiter on its `REDIS_URL`, with the limits its views asked for."""
    limiter = Limiter(
        get_remote_address,  # behind proxies, ProxyFix (TRUSTED_PROXIES) has already set the client's address
        app=app,
        storage_uri=app.config["REDIS_URL"],
        storage_options={"socket_timeout": 5, "socket_connect_timeout": 2},
        strategy="fixed-window",
        key_prefix="huiying",
        swallow_errors=True,  # fail open when Redis is down (the module's docstring says why)
        headers_enabled=False,
    )
    app.extensions["huiying_limiter"] = limiter
    for endpoint, view in list(app.view_functions.items()):
        wanted: Wanted | None = getattr(view, "__rate_limit__", None)
        if wanted is None:
            continue
        page = wanted.page
        on_breach = (lambda _limit, page=page, message=wanted.message: page(message())) if page else None
        # mypy solves the limiter's `Callable[P, R] -> Callable[P, R]` for Flask's union of sync and async views as
        # one callable returning either, which the view table then refuses; the function handed back is `view`'s type
        app.view_functions[endpoint] = limiter.shared_limit(  # type: ignore[assignment]
            PUBLIC_CHECKS, wanted.scope, error_message=wanted.message,
            methods=list(wanted.methods) if wanted.methods else None, on_breach=on_breach)(view)
    app.register_error_handler(RateLimitExceeded, _refused)

