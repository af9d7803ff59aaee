"""Channel previews: each channel registers how it renders a revision, so review need not know them.

Two registries: one renders a stored revision (`GET …/preview`), the other renders text nobody has saved
yet (the editor's and the reviewer's live preview). Both are filled by the channel packages at app start
with the very functions publishing uses, so a preview never differs from what goes out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import gettext as _
from markupsafe import Markup

from app.errors import Invalid
from app.models import Unit
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


#: (speaker, unit name) → the byline a channel prints; (body, unit's cover sha256, store) → the cover's URL.
Byline = Callable[[str, str], str]
Cover = Callable[..., str]
_BYLINES: dict[str, Byline] = {}
_COVERS: dict[str, Cover] = {}


def register_card(channel: str, byline: Byline, cover: Cover) -> None:
    """Called by a channel that prints its own byline and shows a cover (WeChat's author and thumb), so the
    preview shows the very ones that go out."""
    _BYLINES[channel] = byline
    _COVERS[channel] = cover


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
    #: 发言人 on the portal page: the statement's author, as publishing names the speaker.
    speaker: str = ""
    #: Per channel with a card of its own (WeChat): the byline it prints and its cover's URL.
    bylines: dict[str, str] = field(default_factory=dict)
    covers: dict[str, str] = field(default_factory=dict)

    @property
    def share_digest(self) -> str:
        """What a WeChat share card shows: the digest, or (as WeChat does) the start of the text."""
        if self.digest:
            return self.digest
        return " ".join(Markup(self.html.get(Channel.WECHAT.value, "")).striptags().split())[:SHARE_DIGEST_CHARS]


#: Without a digest WeChat shows the first characters of the article on the share card.
SHARE_DIGEST_CHARS = 54


def _cards(speaker: str, unit: Unit, body: str, *, store: bool) -> dict[str, dict[str, str]]:
    return {"bylines": {c: byline(speaker, unit.name) for c, byline in _BYLINES.items()},
            "covers": {c: cover(body, unit.wechat_cover, store=store) for c, cover in _COVERS.items()}}


def for_statement(st: Statement) -> ChannelPreview:
    """The preview of a saved statement (the review forms): the same renderers as `render`, the byline
    publishing gives (the author speaks) and the cover the channel uploads."""
    rev = revision_for_channels(st)
    html = {channel: render(st, channel) for channel in _RENDERERS}
    return ChannelPreview(rev.title, rev.digest, st.unit.name, list(st.channels), html, speaker=st.author.name,
                          **_cards(st.author.name, st.unit, rev.body, store=True))


def for_draft(title: str, digest: str, body: str, channels: list[str], unit: Unit, speaker: str) -> ChannelPreview:
    """The preview of what an editor holds now (before any save); a text too convoluted shows why instead."""
    body = body.replace("\r\n", "\n")
    try:
        html = render_text(body)
    except Invalid as refused:
        return ChannelPreview(title, digest, unit.name, channels, {}, (refused.fields or {}).get("body"),
                              speaker=speaker, bylines={c: b(speaker, unit.name) for c, b in _BYLINES.items()})
    return ChannelPreview(title, digest, unit.name, channels, html, speaker=speaker,
                          **_cards(speaker, unit, body, store=False))
