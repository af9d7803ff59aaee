"""The WeChat channel: render, upload, draft, publish, callback, sandbox."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the channel, its callback and preview; serve the sandbox when asked to (`WECHAT_SANDBOX=1`)."""
    from app.config import wechat_sandbox_served
    from app.extensions import csrf
    from publishing import channels
    from review import preview, renderings
    from wechat.callback import bp as callback_bp
    from wechat.channel import WechatChannel
    from wechat.render import RENDERER_VERSION, article

    channels.register(WechatChannel())
    from app import periodic
    from wechat import api, models, quota  # noqa: F401 (models: the mass-send tables join the metadata)

    if app.config.get("WECHAT_ACCOUNT_TYPE") not in quota.ACCOUNT_LIMITS:
        raise ValueError(f"WECHAT_ACCOUNT_TYPE must be subscription or service, not "
                         f"{app.config.get('WECHAT_ACCOUNT_TYPE')!r}")
    app.register_blueprint(api.bp)
    from wechat import pages

    pages.init_app(app)  # the mode, the quota and 发到我的微信预览 on the review and publishing pages
    # statements waiting for the mass-send quota go out within 60 s of a new period (interface §14)
    periodic.register(app, "mass send", quota.open_period)
    from review import checks
    from wechat.checks import wechat_limits

    checks.register(wechat_limits)
    from wechat import readback

    readback.register()
    # Before upload, images keep their /media/ URLs, which the reviewer's browser can show.
    renderings.register(WechatChannel.name, RENDERER_VERSION, "wechat.render:article_parts")  # rendered once
    preview.register(WechatChannel.name, lambda rev: article(rev.body).html,
                     lambda body: article(body, store=False).html)
    # the byline and cover the article goes out with, in every preview (issue 27: the leader sees what goes out)
    from wechat import cover
    from wechat.channel import author_field

    preview.register_card(WechatChannel.name, author_field, cover.preview_url)
    app.register_blueprint(cover.bp)
    csrf.exempt(callback_bp)  # WeChat signs its pushes; it knows nothing of our forms
    app.register_blueprint(callback_bp)
    if not wechat_sandbox_served(app.config):  # interface §13: only with WECHAT_SANDBOX=1 and no real account
        return
    from wechat.sandbox import bp as sandbox_bp

    csrf.exempt(sandbox_bp)
    app.register_blueprint(sandbox_bp, url_prefix="/sandbox/wechat")
