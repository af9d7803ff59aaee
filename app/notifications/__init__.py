"""Notifications (interface §9): everyone's inbox, and copies by e-mail and signed webhook.

Low in the import order so cases, review and publishing can all raise them: this package imports only `app`.
Callers use `notify(kind, key, recipients, subject=_m(…), body=_m(…), url=…)` inside their own
transaction (an `_m` message is rendered in each reader's language, see `texts`); the worker
listens on the `notify` queue and calls `sweep()` from its periodic maintenance.
"""

from __future__ import annotations

from flask import Flask

from app.notifications.inbox import Notice, notify, notify_many, settle
from app.notifications.outgoing import sweep
from app.notifications.texts import Message, _m

__all__ = ["Message", "Notice", "_m", "init_app", "notify", "notify_many", "settle", "sweep"]


def init_app(app: Flask) -> None:
    """Register the inbox API and page, and the unread count every page's header shows."""
    from app.notifications import views

    app.register_blueprint(views.api)
    app.register_blueprint(views.bp)
    app.before_request(views.remember_language)
    app.context_processor(views.unread_badge)
    from app import periodic

    periodic.register(app, "notifications", sweep)  # copies due again (a lost job, a retry time reached)
