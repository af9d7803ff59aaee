"""Markdown to sanitized HTML: the one place where a statement's text becomes markup.

Every channel starts from `to_safe_html`; channels that need more (WeChat's inline
styles) transform its output, so nothing a drafter types ever bypasses the allow-list.
The parser is markdown-it-py (CommonMark, linear time, raw HTML off: a drafter's `<div>` is text); nh3
sanitizes what it writes against the same allow-list, a second gate that does not trust the first.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import nh3
from flask_babel import gettext as _
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin

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
#: inside a statement on the leader's page. Only footnotes keep theirs, so they still link.
_FOOTNOTE_CLASSES = frozenset({"footnote", "footnote-ref", "footnote-backref"})
_FOOTNOTE_ID = re.compile(r"^fn(ref)?(:[\w-]+)+$")
#: What nh3 may let through before `_allow_attribute` looks at the value.
_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"title", "class", "id"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "th": {"align", "colspan", "rowspan"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start"},
}


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
    return False


def _nh3_filter(tag: str, name: str, value: str) -> str | None:
    return value if _allow_attribute(tag, name, value) else None


#: Bump on any change to what `to_safe_html` writes (parser, rules, allow-list). Stored renderings
#: (review/renderings.py) are kept per version: a body rendered and stored under an older version keeps that
#: rendering (what its reviewers saw and its leader approved); only bodies never rendered get the new one.
#: 1: Python-Markdown + bleach. 2: markdown-it-py + nh3.
RENDERER_VERSION = "2"


class _Renderer(RendererHTML):
    """CommonMark's HTML, where version 1 differed only in form, written as version 1 wrote it."""

    def th_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return _cell(tokens[idx], "th")

    def td_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return _cell(tokens[idx], "td")

    # A list nested in a tight item follows its text directly (`<li>text<ul>`), as version 1 wrote it: the
    # newline CommonMark's renderer puts there would become text in WeChat's rewrite.
    def bullet_list_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return self.renderToken(tokens, idx, options, env).lstrip("\n")

    def ordered_list_open(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return self.renderToken(tokens, idx, options, env).lstrip("\n")


# Footnotes as version 1 (Python-Markdown) wrote them: `fn:label` ids, which the allow-list keeps and readers'
# bookmarks name. Registered after the plugin, whose own rules they replace.
def _footnote_ref(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    meta = tokens[idx].meta
    label = _label(meta)
    return f'<sup id="{_ref_id(meta)}"><a class="footnote-ref" href="#fn:{label}">{meta["id"] + 1}</a></sup>'


def _footnote_block_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                         env: EnvType) -> str:
    return '<div class="footnote">\n<hr>\n<ol>\n'


def _footnote_block_close(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                          env: EnvType) -> str:
    return "</ol>\n</div>\n"


def _footnote_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return f'<li id="fn:{_label(tokens[idx].meta)}">\n'


def _footnote_close(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return "</li>\n"


def _footnote_anchor(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                     env: EnvType) -> str:
    meta = tokens[idx].meta
    return (f'&#160;<a class="footnote-backref" href="#{_ref_id(meta)}" '
            f'title="Jump back to footnote {meta["id"] + 1} in the text">&#8617;</a>')


_FOOTNOTE_RULES = {"footnote_ref": _footnote_ref, "footnote_block_open": _footnote_block_open,
                   "footnote_block_close": _footnote_block_close, "footnote_open": _footnote_open,
                   "footnote_close": _footnote_close, "footnote_anchor": _footnote_anchor}


def _ref_id(meta: dict[str, Any]) -> str:
    """The id of a reference in the text: `fnref:label`, then `fnref2:label` for the second, as Python-Markdown."""
    sub = meta["subId"]
    return f"fnref:{_label(meta)}" if sub == 0 else f"fnref{sub + 1}:{_label(meta)}"


def _cell(token: Token, tag: str) -> str:
    """Cell alignment as `align`, which the allow-list keeps (an inline `style` it would drop)."""
    style = str(token.attrs.get("style", ""))
    align = style.removeprefix("text-align:") if style.startswith("text-align:") else ""
    return f'<{tag} align="{align}">' if align else f"<{tag}>"


_LABEL_UNSAFE = re.compile(r"[^\w-]")


def _label(meta: dict[str, Any]) -> str:
    """A footnote label as an id: Python-Markdown's characters, so the allow-list's pattern keeps it."""
    label = meta.get("label")
    return _LABEL_UNSAFE.sub("-", str(label)) if label is not None else str(meta["id"] + 1)


def _parser(*, html: bool) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": html, "breaks": True}, renderer_cls=_Renderer)
    # Links of every scheme reach the allow-list, which drops the href and keeps the text (one gate, as in v1).
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    md.enable("table").use(footnote_plugin).use(deflist_plugin)
    for name, rule in _FOOTNOTE_RULES.items():
        md.add_render_rule(name, rule)
    return md


_MARKDOWN = _parser(html=False)
#: Only to find raw HTML a drafter typed (it renders as text): `raw_html`.
_MARKDOWN_WITH_HTML = _parser(html=True)


def markdown_to_html(text: str) -> str:
    """Markdown to raw (unsanitized) HTML with the extensions every channel shares."""
    return _MARKDOWN.render(text)


@functools.lru_cache(maxsize=64)
def to_safe_html(text: str) -> str:
    """Markdown to HTML that passed the allow-list: what the portal publishes.

    Cached by text: a revision never changes, and its pages are viewed far more often than it is saved.
    """
    return nh3.clean(markdown_to_html(text), tags=set(ALLOWED_TAGS), attributes=_ATTRIBUTES,
                     attribute_filter=_nh3_filter, url_schemes=set(ALLOWED_PROTOCOLS), link_rel=None,
                     strip_comments=True).strip()


#: Structure no statement needs: refused at saving, so a drafter hears of it beside the text. Version 1's parser
#: needed these bounds (quadratic in unclosed `[`); version 2's is linear, and they stay as plain limits.
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


def _tokens(tokens: Sequence[Token]) -> list[Token]:
    """Every token, inline children included, in document order."""
    found: list[Token] = []
    for token in tokens:
        found.append(token)
        if token.children:
            found.extend(_tokens(token.children))
    return found


#: An embedding tag in raw HTML and the attributes that name what it embeds (one linear pass each).
_EMBED_TAG = re.compile(r"<(?:img|image|picture|source|video|iframe|embed|object)\b[^>]*>", re.I)
_EMBED_SRC = re.compile(r"""\s(?:src|srcset|data|poster)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]*))""", re.I)


def image_sources(text: str) -> list[str]:
    """Every image source a Markdown text asks for, in any syntax: raw HTML shows as text now, but an image typed
    as HTML is still refused when it is not ours, as before, rather than quietly shown as code."""
    sources = []
    for token in _tokens(_MARKDOWN_WITH_HTML.parse(text)):
        if token.type == "image":
            sources.append(str(token.attrs.get("src", "")))
        elif token.type in ("html_block", "html_inline"):
            for tag in _EMBED_TAG.finditer(token.content):
                found = [next(g for g in m.groups() if g is not None) for m in _EMBED_SRC.finditer(tag[0])]
                sources.extend(found or [""])
    return sources


def raw_html(text: str) -> list[str]:
    """The HTML tags a text holds, each once in order: version 2 shows them as text (`review.checks.raw_html`)."""
    found = [t.content.strip() for t in _tokens(_MARKDOWN_WITH_HTML.parse(text))
             if t.type in ("html_block", "html_inline")]
    return list(dict.fromkeys(f for f in found if f))
