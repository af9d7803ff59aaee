"""The interaction desk (互动回应, interface §15): messages from the public — follower messages pushed by WeChat,
portal and hotline messages posted by other systems — routed to a unit, on a clock, escalated to a case.

It sits above publishing and below wechat: wechat hands its follower messages in through
`interaction.intake.receive_follower_message`, so nothing here imports wechat.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the desk's API, the integration token's one endpoint, and the clocks' periodic step."""
    from app import api as kernel_api
    from app import periodic
    from interaction import api, clock

    app.register_blueprint(api.bp)
    kernel_api.allow_integration(app, "interaction_api.create_interaction")
    periodic.register(app, "interaction clocks", clock.sweep)  # 80 % and overdue, once each
