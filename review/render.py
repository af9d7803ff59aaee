"""Markdown to sanitized HTML: the one place where a statement's text becomes markup.

Every channel starts from `to_safe_html`; channels that need more (WeChat's inline
styles) transform its output, so nothing a drafter types ever bypasses the allow-list.
"""

from __future__ import annotations

import functools
import re
import threading
from html.parser import HTMLParser

import bleach
import markdown
from flask_babel import gettext as _

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
#: No `class` or `id` from user text: with them a drafter could draw the app's own UI (a fake "已批准")
#: inside a statement on the leader's page. Only Python-Markdown's footnotes keep theirs, so they still link.
_FOOTNOTE_CLASSES = frozenset({"footnote", "footnote-ref", "footnote-backref"})
_FOOTNOTE_ID = re.compile(r"^fn(ref)?(:[\w-]+)+$")


def _allow_attribute(tag: str, name: str, value: str) -> bool:
    """Attribute filter: a small explicit list per tag; `img` only from our own media."""
    if name == "title":
        return True
    if name == "class":
        return value in _FOOTNOTE_CLASSES
    if name == "id":
        return bool(_FOOTNOTE_ID.match(value))
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


#: Bump on any change to what `to_safe_html` writes (extensions, allow-list): stored renderings
#: (review/renderings.py) of the old version are then not reused.
RENDERER_VERSION = "1"

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


@functools.lru_cache(maxsize=64)
def to_safe_html(text: str) -> str:
    """Markdown to HTML that passed the allow-list: what the portal publishes.

    Cached by text: a revision never changes, and its pages are viewed far more often than it is saved.
    """
    return _cleaner().clean(markdown_to_html(text))


#: Structure no statement needs and the renderers pay for dearly: Python-Markdown's link patterns are
#: quadratic in unclosed `[` (25,000 of them took minutes), and deep nesting recurses past Python's limit.
MAX_BRACKETS = 500
MAX_NESTING = 16
_QUOTE_PREFIX = re.compile(r"^(?:[ \t]*>)+", re.M)
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                   "wbr"})


_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)[^>]*>")


def _html_depth(text: str) -> int:
    """The deepest nesting of raw HTML tags in a text (unclosed ones count), in one linear pass.

    Each search ends at the last `-->` or `>` of the text, so an attempt at an unclosed `<` never scans the rest
    of the text again (`html.parser` does: 16,000 `<a ` took 14 s, in the request that saved them)."""
    if "-->" in text:
        cut = text.rfind("-->") + 3
        text = _COMMENT.sub("", text[:cut]) + text[cut:]
    depth = deepest = 0
    for m in _TAG.finditer(text, 0, text.rfind(">") + 1):
        closing, tag = m.group(1), m.group(2).lower()
        if tag in _VOID:
            continue
        if closing:
            depth = max(0, depth - 1)
        else:
            deepest = max(deepest, depth + 1)
            if not m.group().endswith("/>"):  # `<div/>` opens and closes (html.parser's reading)
                depth += 1
    return deepest


def structure_problem(text: str) -> str | None:
    """Why this Markdown is too convoluted to render safely (what a person would fix), or None."""
    if text.count("[") > MAX_BRACKETS:
        return _("方括号“[”过多（最多 %(n)d 个）：链接和图片太多，或有多余的方括号", n=MAX_BRACKETS)
    if any(m.group(0).count(">") > MAX_NESTING for m in _QUOTE_PREFIX.finditer(text)):
        return _("引用嵌套过深（最多 %(n)d 层）", n=MAX_NESTING)
    if _html_depth(text) > MAX_NESTING:
        return _("HTML 标签嵌套过深（最多 %(n)d 层）", n=MAX_NESTING)
    return None


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
