"""Channel previews: each channel registers how it renders a revision, so review need not know them.

Two registries: one renders a stored revision (`GET …/preview`), the other renders text nobody has saved
yet (the editor's and the reviewer's live preview). Both are filled by the channel packages at app start
with the very functions publishing uses, so a preview never differs from what goes out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import Markup

from app.errors import Invalid
from review import renderings
from review.models import Channel, Revision, Statement
from review.render import structure_problem
from review.validation import BODY_MAX

Renderer = Callable[[Revision], str]
TextRenderer = Callable[[str], str]

# rendered once per text and stored (review/renderings.py); unsaved text is rendered, not stored
_RENDERERS: dict[str, Renderer] = {Channel.PORTAL.value: lambda rev: renderings.html("portal", rev.body)}
_TEXT_RENDERERS: dict[str, TextRenderer] = {Channel.PORTAL.value: lambda body: renderings.html("portal", body,
                                                                                             store=False)}


def register(channel: str, renderer: Renderer, text_renderer: TextRenderer | None = None) -> None:
    """Called by a channel package at app start; `text_renderer` renders a body that is not saved yet."""
    _RENDERERS[channel] = renderer
    if text_renderer is not None:
        _TEXT_RENDERERS[channel] = text_renderer


def text_channels() -> list[str]:
    """The channels that can preview unsaved text, in the order `Channel` lists them."""
    return [c.value for c in Channel if c.value in _TEXT_RENDERERS]


def render_text(body: str) -> dict[str, str]:
    """Unsaved Markdown as every channel would receive it: `{channel: html}`.

    Raises Invalid on `body` for text the renderers must not be given (the same structure bounds as
    saving), so a live preview can never cost more than a save.
    """
    if len(body) > BODY_MAX:
        raise Invalid(_("输入有误"),
                      fields={"body": _("不能超过 %(n)d 个字符（当前 %(m)d 个）", n=BODY_MAX, m=len(body))})
    problem = structure_problem(body)
    if problem:
        raise Invalid(_("输入有误"), fields={"body": problem})
    return {channel: _TEXT_RENDERERS[channel](body) for channel in text_channels()}


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


@dataclass
class ChannelPreview:
    """What the side-by-side preview shows: the text's title and digest, and each channel's HTML."""

    title: str
    digest: str
    unit: str
    channels: list[str]
    html: dict[str, str]
    problem: str | None = None

    @property
    def share_digest(self) -> str:
        """What a WeChat share card shows: the digest, or (as WeChat does) the start of the text."""
        if self.digest:
            return self.digest
        return " ".join(Markup(self.html.get(Channel.WECHAT.value, "")).striptags().split())[:SHARE_DIGEST_CHARS]


#: Without a digest WeChat shows the first characters of the article on the share card.
SHARE_DIGEST_CHARS = 54


def for_statement(st: Statement) -> ChannelPreview:
    """The preview of a saved statement (the review forms): the same renderers as `render`."""
    rev = revision_for_channels(st)
    html = {channel: render(st, channel) for channel in _RENDERERS}
    return ChannelPreview(rev.title, rev.digest, st.unit.name, list(st.channels), html)


def for_draft(title: str, digest: str, body: str, channels: list[str], unit: str) -> ChannelPreview:
    """The preview of what an editor holds now (before any save); a text too convoluted shows why instead."""
    try:
        html = render_text(body.replace("\r\n", "\n"))
    except Invalid as refused:
        return ChannelPreview(title, digest, unit, channels, {}, (refused.fields or {}).get("body"))
    return ChannelPreview(title, digest, unit, channels, html)
