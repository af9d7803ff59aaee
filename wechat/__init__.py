"""The WeChat channel: render, upload, draft, publish, callback, sandbox."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the channel, its callback and preview; serve the sandbox when no account is configured."""
    from app.extensions import csrf
    from publishing import channels
    from review import preview
    from wechat.callback import bp as callback_bp
    from wechat.channel import WechatChannel
    from wechat.render import render_article

    channels.register(WechatChannel())
    from review import checks
    from wechat.checks import wechat_limits

    checks.register(wechat_limits)
    from wechat import readback

    readback.register()
    # Before upload, images keep their /media/ URLs, which the reviewer's browser can show.
    preview.register(WechatChannel.name, lambda rev: render_article(rev.body).html)
    csrf.exempt(callback_bp)  # WeChat signs its pushes; it knows nothing of our forms
    app.register_blueprint(callback_bp)
    if app.config.get("WECHAT_APP_ID"):
        return
    from wechat.sandbox import bp as sandbox_bp

    csrf.exempt(sandbox_bp)
    app.register_blueprint(sandbox_bp, url_prefix="/sandbox/wechat")
