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
    from publishing.serialize import add_publishing_fields_bulk
    from review.rows import BULK_EXTENSIONS

    if add_publishing_fields_bulk not in BULK_EXTENSIONS:  # the read API's fast path (review/rows.py)
        BULK_EXTENSIONS.append(add_publishing_fields_bulk)
    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    from flask_babel import lazy_gettext as _l

    from app import nav

    nav.add(app, nav.Entry("publishing.desk", _l("发布台"), 60, roles=("office", "leader", "admin")),
            nav.Entry("publishing.releases", _l("权威发布"), 80))
    app.add_template_filter(views.channel_name, "channel_name")
    app.add_template_filter(views.status_label, "status_label")  # the review pages' status, a cancel included
    from app import periodic
    from publishing import outbox, readback

    periodic.register(app, "outbox", outbox.sweep)  # deliveries whose job RQ lost, expired leases
    periodic.register(app, "read-back", readback.sweep)
    from publishing import ledger_verdict

    periodic.register(app, "ledger check", ledger_verdict.sweep)  # the whole chain, at most every 15 minutes
    from publishing import verify_cli, verify_views

    app.register_blueprint(verify_views.bp)
    app.register_blueprint(verify_views.api)
    app.cli.add_command(verify_cli.verify_group)
    app.cli.add_command(cli.worker_command)
    app.cli.add_command(cli.ledger_group)
