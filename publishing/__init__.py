"""Publishing: releases, the outbox, priority queues, the portal channel and the statement ledger."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register publishing's pages, API, CLI, the portal channel and the approval hook."""
    from publishing import api, channels, cli, services, views
    from publishing.portal import PortalChannel
    from publishing.serialize import add_publishing_fields
    from review.serialize import EXTENSIONS

    channels.register(PortalChannel())
    services.connect()
    if add_publishing_fields not in EXTENSIONS:
        EXTENSIONS.append(add_publishing_fields)
    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.worker_command)
    app.cli.add_command(cli.ledger_group)
