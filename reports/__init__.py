"""督查与考核: the office's figures, charts, bulletins, daily log, register export and channel freshness.

On top of every other package and imported by none: it reads cases, statements and the ledger, and
changes nothing but its own notifications.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the reports API (summary, register export) and the reports pages."""
    from reports import api, views

    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    from flask_babel import lazy_gettext as _l

    from app import nav

    nav.add(app, nav.Entry("reports.reports_page", _l("督查与考核"), 70, roles=("office", "leader")))
    from app import periodic

    periodic.register(app, "reports", sweep)  # silent channels; the morning log and Monday's bulletin


def sweep() -> int:
    """The worker's periodic step for reports: silent channels, and the documents due this morning."""
    from reports import freshness, schedule

    return freshness.sweep() + schedule.sweep()
