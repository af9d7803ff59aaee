"""The review workflow: statements, revisions, expert review, agency confirmation, leader approval."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the statements API and the drafting and review pages."""
    from review import api, checks_api, cli, media, views

    app.register_blueprint(api.bp)
    app.register_blueprint(checks_api.bp)
    app.cli.add_command(cli.terms_group)
    app.register_blueprint(media.bp)
    app.register_blueprint(views.bp)
