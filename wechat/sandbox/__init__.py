"""A local stand-in for the WeChat official-account platform (CONTRACT §7).

``bp`` serves the official API's ``/cgi-bin/…`` paths with the official fields, token
rules and errcodes, so the production client publishes to it unchanged, plus a viewer
of what the account has published. The app mounts it at ``/sandbox/wechat`` and
exempts it from CSRF, as the real API knows nothing of our forms. All state is in
Redis (see `wechat.sandbox.store`).
"""

from __future__ import annotations

from flask import Blueprint

from wechat.sandbox import api, viewer

bp = Blueprint("wechat_sandbox", __name__, template_folder="templates")
api.register(bp)
viewer.register(bp)
