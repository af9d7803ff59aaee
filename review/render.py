"""Markdown to sanitized HTML: the one place where a statement's text becomes markup.

Every channel starts from `to_safe_html`; channels that need more (WeChat's inline
styles) transform its output, so nothing a drafter types ever bypasses the allow-list.
"""

from __future__ import annotations

import re
import threading
from html.parser import HTMLParser

import bleach
import markdown

#: Images a statement may show: only files uploaded through `POST /api/v1/images`.
MEDIA_SRC = re.compile(r"^/media/(?P<sha256>[0-9a-f]{64})\.(?P<ext>png|jpg|gif|webp)$")

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
        "strong", "em", "b", "i", "u", "s", "del", "sup", "sub", "mark",
        "blockquote", "ul", "ol", "li", "dl", "dt", "dd",
        "a", "img", "figure", "figcaption",
        "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
        "code", "pre", "span", "div", "abbr",
    }
)
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
_COMMON_ATTRS = ("class", "title", "id")


def _allow_attribute(tag: str, name: str, value: str) -> bool:
    """Attribute filter: a small explicit list per tag; `img` only from our own media."""
    if name in _COMMON_ATTRS:
        return True
    if tag == "a":
        return name == "href"
    if tag == "img":
        if name == "src":
            return bool(MEDIA_SRC.match(value))
        return name in ("alt", "width", "height")
    if tag in ("th", "td"):
        return name in ("align", "colspan", "rowspan")
    if tag == "ol":
        return name == "start"
    if tag == "abbr":
        return name == "title"
    return False


_MARKDOWN_EXTENSIONS = ["extra", "sane_lists", "nl2br"]
# `align` survives the allow-list where an inline `style` would not.
_MARKDOWN_CONFIG = {"extra": {"tables": {"use_align_attribute": True}}}


def markdown_to_html(text: str) -> str:
    """Markdown to raw (unsanitized) HTML with the extensions every channel shares."""
    return markdown.markdown(
        text, extensions=_MARKDOWN_EXTENSIONS, extension_configs=_MARKDOWN_CONFIG, output_format="html"
    )


_local = threading.local()


def _cleaner() -> bleach.Cleaner:
    """One Cleaner per thread: building it costs a tenth of a clean, and it is not thread-safe."""
    cleaner = getattr(_local, "cleaner", None)
    if cleaner is None:
        cleaner = _local.cleaner = bleach.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=_allow_attribute,
            protocols=ALLOWED_PROTOCOLS,
            strip=True,
            strip_comments=True,
        )
    return cleaner


def to_safe_html(text: str) -> str:
    """Markdown to HTML that passed the allow-list: what the portal publishes."""
    return _cleaner().clean(markdown_to_html(text))


class _ImageCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag.lower() in ("img", "image", "picture", "source", "video", "iframe", "embed", "object"):
            found = [v or "" for k, v in attrs if k.lower() in ("src", "srcset", "data", "poster")]
            self.sources.extend(found or [""])

    handle_startendtag = handle_starttag


def image_sources(text: str) -> list[str]:
    """Every image source a Markdown text asks for, in any syntax (Markdown or raw HTML)."""
    collector = _ImageCollector()
    collector.feed(markdown_to_html(text))
    collector.close()
    return collector.sources
