"""A local stand-in for the WeChat official-account platform (interface §7).

``bp`` serves the official API's ``/cgi-bin/…`` paths with the official fields, token
rules and errcodes, so the production client publishes and mass-sends to it unchanged, plus a
viewer of what the account has published and pushed to followers (for signed-in users). The app mounts it at
``/sandbox/wechat`` only with ``WECHAT_SANDBOX=1`` (interface §13) and exempts it from CSRF,
as the real API knows nothing of our forms. All state is in Redis (see
`wechat.sandbox.store`), within the limits `wechat.sandbox.api` enforces.
"""

from __future__ import annotations

from flask import Blueprint

from wechat.sandbox import api, mass_api, viewer

bp = Blueprint("wechat_sandbox", __name__, template_folder="templates")
bp.before_request(api.limit_request_size)
api.register(bp)
mass_api.register(bp)
viewer.register(bp)
