"""Huiying (回应): one voice for a public institution's answers to public opinion."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, g, has_request_context, request, session
from flask.json.provider import DefaultJSONProvider

from app import config, errors
from app.extensions import babel, csrf, db, login, migrate
from app.session_cookie import PageSessionInterface

LOCALES = ("zh_Hans_CN", "en")


def _locale() -> str:
    """Simplified Chinese unless the person chose English (`?lang=en`, kept in the session and, signed in, on
    the person: a new session or a bearer token finds it there)."""
    if not has_request_context():  # CLI, workers: messages in the default language
        return LOCALES[0]
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        session["locale"] = chosen
    if session.get("locale") in LOCALES:
        return str(session["locale"])
    from flask_login import current_user

    person = g.get("actor") or (current_user if current_user.is_authenticated else None)  # token, or session
    stored = person.locale if person is not None else None
    return stored if stored in LOCALES else LOCALES[0]


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: the kernel (configuration, extensions, people, sign-in, administration), then every package
    above it through the shell (`huiying.compose`)."""
    app = Flask(__name__, instance_path=os.environ.get("HUIYING_INSTANCE") or None, instance_relative_config=True)
    app.session_interface = PageSessionInterface()
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(config.from_environment(app.instance_path))
    if overrides:
        app.config.update(overrides)
    assert isinstance(app.json, DefaultJSONProvider)  # Flask's own provider: the app sets no other
    app.json.ensure_ascii = False

    db.init_app(app)
    # The Alembic scripts ship inside the package (app/migrations), so `huiying db upgrade` works wherever it runs.
    migrate.init_app(app, db, directory=os.path.join(app.root_path, "migrations"), render_as_batch=True)
    login.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_locale, default_translation_directories="translations")
    errors.register(app)
    from app import security

    security.init_app(app)  # before any blueprint: its URL converter must be in place when rules are added

    from app import account_page, admin, auth, cli, limits, notifications, openapi, units_api, users_api, web

    auth.init_app(app)
    web.init_app(app)
    admin.init_app(app)
    account_page.init_app(app)
    openapi.init_app(app)
    app.register_blueprint(units_api.bp)
    app.register_blueprint(users_api.bp)
    notifications.init_app(app)
    cli.init_app(app)
    from huiying import compose  # the kernel's one import upward: the shell on top composes every package

    compose(app)
    limits.init_app(app)  # last: it applies the limits the views of every package asked for
    return app
