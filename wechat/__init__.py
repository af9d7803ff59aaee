"""The WeChat channel: render, upload, draft, publish, callback, sandbox."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Serve the WeChat API sandbox when no real account is configured (CONTRACT §7)."""
    if app.config.get("WECHAT_APP_ID"):
        return
    from app.extensions import csrf
    from wechat.sandbox import bp as sandbox_bp

    csrf.exempt(sandbox_bp)
    app.register_blueprint(sandbox_bp, url_prefix="/sandbox/wechat")
