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
    from publishing.links import dead_internal_links
    from review import checks

    checks.register(dead_internal_links)
    services.connect()
    if add_publishing_fields not in EXTENSIONS:
        EXTENSIONS.append(add_publishing_fields)
    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    from app import periodic
    from publishing import outbox, readback

    periodic.register(app, "outbox", outbox.sweep)  # deliveries whose job RQ lost, expired leases
    periodic.register(app, "read-back", readback.sweep)
    from publishing import verify_cli, verify_views

    app.register_blueprint(verify_views.bp)
    app.register_blueprint(verify_views.api)
    app.cli.add_command(verify_cli.verify_group)
    app.cli.add_command(cli.worker_command)
    app.cli.add_command(cli.ledger_group)
