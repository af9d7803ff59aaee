"""Channel previews: each channel registers how it renders a revision, so review need not know them."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _

from app.errors import Invalid
from review.models import Channel, Revision, Statement
from review.render import to_safe_html

Renderer = Callable[[Revision], str]

_RENDERERS: dict[str, Renderer] = {Channel.PORTAL.value: lambda rev: to_safe_html(rev.body)}


def register(channel: str, renderer: Renderer) -> None:
    """Called by a channel package at app start."""
    _RENDERERS[channel] = renderer


def revision_for_channels(st: Statement) -> Revision:
    """What the channels receive: the approved revision once there is one, else the current draft."""
    rev = st.approved_revision or st.current_revision
    assert rev is not None
    return rev


def render(st: Statement, channel: str) -> str:
    """Exactly the HTML `channel` would receive for this statement."""
    renderer = _RENDERERS.get(channel)
    if renderer is None:
        raise Invalid(_("不支持的渠道预览"), fields={"channel": _("应为 portal 或 wechat")})
    return renderer(revision_for_channels(st))
