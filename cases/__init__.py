"""Opinion cases (舆情台账): intake, assessment, assignment, acceptance, feedback, responses, closing, clocks."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the cases API and the register pages."""
    from cases import api, settings_page, views

    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(settings_page.bp)
    from flask_babel import lazy_gettext as _l

    from app import nav

    nav.add(app, nav.Entry("cases.register_page", _l("舆情台账"), 20, current=("cases.*",)),
            nav.Entry("case_settings.deadlines", _l("处置时限"), 93, roles=("admin",)),
            # the office keeps the calendar of working days on the same page (interface §8)
            nav.Entry("case_settings.deadlines", _l("工作日历"), 94, roles=("office",), unless=("admin",)))
    from app import periodic
    from cases import clock

    periodic.register(app, "case clocks", clock.sweep)  # 50 %, 80 % and overdue, once each
