"""Which channels this deployment can publish to (interface §13).

The portal always; WeChat only with a real account (`WECHAT_APP_ID`) or the built-in sandbox
(`WECHAT_SANDBOX=1`). A statement naming an unavailable channel would be approved and then fail at
delivery, so validation refuses it up front and the forms do not offer it.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from flask_babel import gettext as _

from app.config import wechat_available
from review.models import Channel


def available_channels() -> list[str]:
    """The channels a new statement may name, in the contract's order; also the default `channels`."""
    return [c.value for c in Channel if c != Channel.WECHAT or wechat_available(current_app.config)]


def unavailable_problem(channels: Iterable[str]) -> str | None:
    """Why these channels cannot be used here (a message for the `channels` field), or None."""
    if Channel.WECHAT.value in channels and Channel.WECHAT.value not in available_channels():
        return _("本系统未配置微信公众号（WECHAT_APP_ID），也未启用微信沙箱（WECHAT_SANDBOX=1），不能选择微信渠道")
    return None
