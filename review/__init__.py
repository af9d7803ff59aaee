"""The review workflow: statements, revisions, expert review, agency confirmation, leader approval."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the statements API and the drafting and review pages."""
    from review import (
        api,
        checks_api,
        cli,
        delegation_views,
        evidence,
        media,
        preview,
        preview_api,
        serialize,
        terms,
        terms_page,
        validation,
        views,
    )

    app.register_blueprint(api.bp)
    app.register_blueprint(checks_api.bp)
    app.register_blueprint(preview_api.bp)
    app.cli.add_command(cli.terms_group)
    app.register_blueprint(media.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(terms_page.bp)  # /admin/terms: the admin's term lists (interface §11)
    from flask_babel import lazy_gettext as _l

    from app import nav

    nav.add(app, nav.Entry("review.statements", _l("回应列表"), 30),
            nav.Entry("review.new", _l("新建回应"), 40, roles=("drafter",)),
            nav.Entry("delegations.page", _l("代理"), 50, roles=("expert", "leader")),
            nav.Entry("terms_admin.page", _l("词表"), 92, roles=("admin",)))
    app.register_blueprint(delegation_views.api)
    app.register_blueprint(delegation_views.bp)
    app.register_blueprint(evidence.api)
    app.register_blueprint(evidence.bp)
    # the side-by-side channel preview of the editor and the review forms (review/_channel_preview.html)
    app.jinja_env.globals.update(
        statement_preview=preview.for_statement, draft_preview=preview.for_draft, known_agencies=terms.agencies,
        requested_names=serialize.requested_names,
        text_limits={"title": validation.TITLE_MAX, "wechat_title": validation.WECHAT_TITLE_MAX,
                     "digest": validation.DIGEST_MAX, "body": validation.BODY_MAX},
    )
