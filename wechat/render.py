"""Markdown to WeChat-article HTML: the portal's sanitized HTML, restyled inline.

WeChat's editor keeps only inline styles, mangles list bullets and makes no
external link clickable, so this module starts from `review.render.to_safe_html`
(the one allow-list gate) and rewrites that output with a small tree walker:
every element gets a style from `STYLES`, lists get explicit markers, external
links become numbered references listed at the end, and images point at the
URLs WeChat's `media/uploadimg` returned. Attributes are rebuilt from scratch,
so nothing the walker does not name (class, id, handlers) reaches WeChat.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser

from flask_babel import gettext

from review.render import MEDIA_SRC, to_safe_html

#: Official draft limits (`draft/add`): characters of title and digest; the
#: content string as sent, markup included, in characters and in UTF-8 bytes.
TITLE_MAX_CHARS = 32
DIGEST_MAX_CHARS = 128
CONTENT_MAX_CHARS = 20_000
CONTENT_MAX_BYTES = 1024 * 1024

_BLOCK = "margin:0 0 1em;"
_HEADING = "margin:1.2em 0 0.8em;font-weight:bold;color:#222;line-height:1.5;"
_CELL = "border:1px solid #d0d0d0;padding:6px 8px;"
_MONO = "font-family:Menlo,Consolas,'Courier New',monospace;"

#: The theme: sober, readable, for official statements. Inherited properties
#: (size, colour, alignment) sit on the article wrapper once, which keeps the
#: content short under WeChat's 20,000-character limit.
STYLES: dict[str, str] = {
    "article": "font-size:16px;line-height:1.75;color:#333;text-align:justify;"
    "letter-spacing:0.5px;word-wrap:break-word;",
    "p": _BLOCK,
    "h1": _HEADING + "font-size:20px;text-align:center;",
    "h2": _HEADING + "font-size:18px;padding-left:10px;border-left:4px solid #a61b1b;",
    "h3": _HEADING + "font-size:17px;",
    "h4": _HEADING + "font-size:16px;",
    "blockquote": "margin:1em 0;padding:1em 1em 0;border-left:4px solid #c8c8c8;background:#f7f7f7;color:#555;",
    "list": _BLOCK,
    "nested_list": "margin:0.25em 0 0;padding-left:2em;",
    "li": "margin:0 0 0.3em;",
    "strong": "font-weight:bold;color:#222;",
    "em": "font-style:italic;",
    "mark": "background:#fff3c4;",
    "a": "color:#576b95;text-decoration:none;",
    "ref_mark": "font-size:12px;color:#888;",
    "img": "display:block;max-width:100%;height:auto;margin:1em auto;",
    "table": "width:100%;margin:1em 0;border-collapse:collapse;font-size:14px;line-height:1.6;",
    "th": _CELL + "background:#f2f2f2;font-weight:bold;",
    "td": _CELL,
    "caption": "margin-bottom:0.5em;font-size:14px;color:#666;text-align:center;",
    "pre": "margin:1em 0;padding:0.8em 1em;background:#f6f6f6;border-radius:4px;"
    "font-size:14px;line-height:1.6;text-align:left;white-space:pre-wrap;word-break:break-all;" + _MONO,
    "code": "padding:2px 4px;background:#f2f2f2;border-radius:3px;font-size:14px;" + _MONO,
    "hr": "margin:1.5em 0;border:0;border-top:1px solid #ddd;",
    "dt": "margin:0.5em 0 0;font-weight:bold;",
    "dd": "margin:0 0 0.5em;padding-left:2em;",
    "figcaption": "margin:-0.5em 0 1em;font-size:14px;color:#888;text-align:center;",
    "references": "margin-top:2em;padding-top:0.8em;border-top:1px solid #ddd;font-size:14px;color:#888;",
    "references_heading": "margin:0 0 0.5em;font-weight:bold;",
    "reference": "margin:0 0 0.3em;text-align:left;word-break:break-all;",
}

#: Sanitized tag → (tag WeChat gets, style key or ""). `a`, `img`, `ul`, `ol`,
#: `li` have their own rules in the walker; any tag missing here keeps only its text.
_TAGS: dict[str, tuple[str, str]] = {
    "p": ("p", "p"),
    "h1": ("h1", "h1"),
    "h2": ("h2", "h2"),
    "h3": ("h3", "h3"),
    "h4": ("h4", "h4"),
    "h5": ("h5", "h4"),
    "h6": ("h6", "h4"),
    "blockquote": ("blockquote", "blockquote"),
    "strong": ("strong", "strong"),
    "b": ("strong", "strong"),
    "em": ("em", "em"),
    "i": ("em", "em"),
    "u": ("u", ""),
    "s": ("s", ""),
    "del": ("s", ""),
    "sup": ("sup", ""),
    "sub": ("sub", ""),
    "mark": ("span", "mark"),
    "span": ("span", ""),
    "abbr": ("span", ""),
    "code": ("code", "code"),
    "pre": ("pre", "pre"),
    "table": ("table", "table"),
    "caption": ("caption", "caption"),
    "thead": ("thead", ""),
    "tbody": ("tbody", ""),
    "tfoot": ("tfoot", ""),
    "tr": ("tr", ""),
    "th": ("th", "th"),
    "td": ("td", "td"),
    "br": ("br", ""),
    "hr": ("hr", "hr"),
    "div": ("section", ""),
    "figure": ("section", ""),
    "figcaption": ("p", "figcaption"),
    "dl": ("section", "list"),
    "dt": ("p", "dt"),
    "dd": ("section", "dd"),
    "li": ("section", "li"),
}
_VOID = frozenset({"br", "hr", "img"})

#: The only links WeChat lets a reader follow. Strict on purpose: no userinfo,
#: port or backslash, which URL parsers and browsers read differently.
_WECHAT_LINK = re.compile(r"https://mp\.weixin\.qq\.com(/[^\s\\]*)?", re.IGNORECASE)
_EXTERNAL_LINK = re.compile(r"^(https?|mailto):", re.IGNORECASE)
_CELL_ALIGN = frozenset({"left", "center", "right"})
_SPAN = re.compile(r"[0-9]{1,3}")

#: Bump on any change to what `render_article` writes: stored renderings (review/renderings.py) of the old
#: version are then not reused for bodies never stored; stored ones keep theirs. 2: from markdown-it-py + nh3.
RENDERER_VERSION = "2"

#: Heading of the reference list; part of the article, so in the article's language.
REFERENCES_HEADING = "参考链接"


@dataclass(frozen=True)
class WechatArticleHtml:
    """A rendered article: its HTML, the external URLs it cites, the /media/ images it shows."""

    html: str
    references: list[str]
    #: The `/media/…` sources in order of first appearance, each once: what to upload.
    images: list[str]


class ContentLimitError(ValueError):
    """An article breaks one of WeChat's draft limits; `field` says which part."""

    code = "invalid"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str]
    children: list[_Element | str] = field(default_factory=list)


class _TreeBuilder(HTMLParser):
    """Sanitized HTML to a small tree; tolerant of the unclosed tags HTML allows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Element("root", {})
        self._open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = _Element(tag, {name: value or "" for name, value in attrs})
        self._open[-1].children.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open[-1].children.append(_Element(tag, {n: v or "" for n, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._open) - 1, 0, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self._open[-1].children.append(data)


def _parse(html: str) -> _Element:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def _open_tag(tag: str, style_key: str, extra_style: str = "", attrs: str = "") -> str:
    style = STYLES.get(style_key, "") + extra_style
    return f"<{tag}{attrs}" + (f' style="{style}"' if style else "") + ">"


def _ordered_start(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 1


class _Walker:
    """One pass over the tree, collecting references and images as it writes."""

    def __init__(self, image_url: Callable[[str], str] | None) -> None:
        self.image_url = image_url
        self.references: dict[str, int] = {}
        self.images: list[str] = []
        self.list_depth = 0
        self.in_pre = False

    def children(self, element: _Element) -> str:
        return "".join(self.node(child) for child in element.children)

    def node(self, node: _Element | str) -> str:
        if isinstance(node, str):
            return escape(node, quote=False)
        if node.tag == "a":
            return self.link(node)
        if node.tag == "img":
            return self.image(node)
        if node.tag in ("ul", "ol"):
            return self.list_block(node)
        if node.tag not in _TAGS:
            return self.children(node)
        tag, style_key = _TAGS[node.tag]
        extra, attrs = "", ""
        if tag in ("th", "td"):
            if node.attrs.get("align") in _CELL_ALIGN:
                extra = f"text-align:{node.attrs['align']};"
            attrs = "".join(
                f' {name}="{node.attrs[name]}"'
                for name in ("colspan", "rowspan")
                if _SPAN.fullmatch(node.attrs.get(name, ""))
            )
        if tag == "code" and self.in_pre:
            style_key = ""
        opening = _open_tag(tag, style_key, extra, attrs)
        if node.tag in _VOID:
            return opening
        outer_pre, self.in_pre = self.in_pre, self.in_pre or tag == "pre"
        inner = self.children(node)
        self.in_pre = outer_pre
        return f"{opening}{inner}</{tag}>"

    def link(self, node: _Element) -> str:
        # A footnote's "↩" back-link means nothing without clickable anchors.
        if node.attrs.get("class") == "footnote-backref":
            return ""
        href = node.attrs.get("href", "")
        inner = self.children(node)
        if _WECHAT_LINK.fullmatch(href):
            return f'<a href="{escape(href)}" style="{STYLES["a"]}">{inner}</a>'
        if not _EXTERNAL_LINK.match(href):
            return inner  # in-page or relative: nowhere to send a WeChat reader
        number = self.references.setdefault(href, len(self.references) + 1)
        return f'{inner}<sup style="{STYLES["ref_mark"]}">[{number}]</sup>'

    def image(self, node: _Element) -> str:
        src = node.attrs.get("src", "")
        if not MEDIA_SRC.fullmatch(src):
            return ""
        if src not in self.images:
            self.images.append(src)
        url = self.image_url(src) if self.image_url else src
        alt = escape(node.attrs.get("alt", ""))
        return f'<img src="{escape(url)}" alt="{alt}" style="{STYLES["img"]}">'

    def list_block(self, node: _Element) -> str:
        number = _ordered_start(node.attrs.get("start", "1")) if node.tag == "ol" else 0
        style_key = "nested_list" if self.list_depth else "list"
        self.list_depth += 1
        parts = []
        for child in node.children:
            if isinstance(child, _Element) and child.tag == "li":
                _prepend_marker(child, f"{number}. " if node.tag == "ol" else "• ")
                number += 1
            parts.append(self.node(child))
        self.list_depth -= 1
        return f"{_open_tag('section', style_key)}{''.join(parts)}</section>"

    def reference_list(self) -> str:
        if not self.references:
            return ""
        lines = [f"{_open_tag('p', 'references_heading')}{REFERENCES_HEADING}</p>"] + [
            f"{_open_tag('p', 'reference')}[{number}] {escape(url, quote=False)}</p>"
            for url, number in self.references.items()
        ]
        return f"\n{_open_tag('section', 'references')}\n" + "\n".join(lines) + "\n</section>"


def _prepend_marker(item: _Element, marker: str) -> None:
    """Put the marker where the item's text starts: inside a loose item's first paragraph."""
    first = next((c for c in item.children if not isinstance(c, str) or c.strip()), None)
    target = first if isinstance(first, _Element) and first.tag == "p" else item
    target.children.insert(0, marker)


def render_article(body_markdown: str, *, image_url: Callable[[str], str] | None = None) -> WechatArticleHtml:
    """Markdown to inline-styled WeChat HTML; `image_url` maps /media/ srcs to uploaded URLs."""
    walker = _Walker(image_url)
    body = walker.children(_parse(to_safe_html(body_markdown)))
    html = f"{_open_tag('section', 'article')}{body}{walker.reference_list()}</section>"
    return WechatArticleHtml(html=html, references=list(walker.references), images=walker.images)


def article_parts(body_markdown: str) -> tuple[str, dict[str, list[str]]]:
    """What the render helper stores for a body: the HTML with /media/ images, and what it cites and shows."""
    article = render_article(body_markdown)
    return article.html, {"references": article.references, "images": article.images}


def article(body_markdown: str, *, image_url: Callable[[str], str] | None = None,
            store: bool = True) -> WechatArticleHtml:
    """`render_article`, rendered once per body (review/renderings.py) and reused; `image_url` maps each
    /media/ image of the stored rendering to its uploaded URL. `store=False` for text nobody saved yet."""
    from review import renderings

    rendered = renderings.get("wechat", body_markdown, store=store)
    images = list(rendered.data.get("images", []))
    html = rendered.html
    if image_url is not None:
        # The walker writes every image as `<img src="/media/…"`; text and other attributes are escaped, so
        # this exact opening can stand for nothing else.
        for src in images:
            html = html.replace(f'<img src="{escape(src)}"', f'<img src="{escape(image_url(src))}"')
    return WechatArticleHtml(html=html, references=list(rendered.data.get("references", [])), images=images)


def check_limits(title: str, digest: str, html: str) -> None:
    """Raise ContentLimitError on the first of WeChat's draft limits the article breaks."""
    if len(title) > TITLE_MAX_CHARS:
        raise ContentLimitError(
            "title",
            gettext(
                "微信标题不能超过 %(limit)d 个字符（当前 %(count)d 个）",
                limit=TITLE_MAX_CHARS,
                count=len(title),
            ),
        )
    if len(digest) > DIGEST_MAX_CHARS:
        raise ContentLimitError(
            "digest",
            gettext(
                "微信摘要不能超过 %(limit)d 个字符（当前 %(count)d 个）",
                limit=DIGEST_MAX_CHARS,
                count=len(digest),
            ),
        )
    size = len(html.encode("utf-8"))
    if size >= CONTENT_MAX_BYTES:
        raise ContentLimitError(
            "body",
            gettext("微信正文须小于 1 MB（当前 %(size)d 字节）", size=size),
        )
    if len(html) >= CONTENT_MAX_CHARS:
        raise ContentLimitError(
            "body",
            gettext(
                "微信正文须少于 %(limit)d 个字符（当前 %(count)d 个，含排版标记）",
                limit=CONTENT_MAX_CHARS,
                count=len(html),
            ),
        )


_NOTICE_BOX = "margin:0 0 1.5em;padding:0.8em 1em;border-left:4px solid #c08000;background:#fffaf0;font-size:15px;"
_NOTICE_HEAD = "margin:0 0 0.3em;font-weight:bold;color:#222;"
_NOTICE_LINE = "margin:0;text-align:left;word-break:break-all;"


def with_correction_notice(html: str, original: dict[str, object] | None) -> str:
    """A correction's article opens with 更正说明 naming the original (publishing.corrections.original_of).

    Only mp.weixin.qq.com links are clickable in an article: the original's article is linked when it went out
    on WeChat, else its portal address is given as text.
    """
    if not original:
        return html
    from publishing.corrections import NOTICE_HEADING, notice_sentence

    wechat_url, title = str(original.get("wechat_url") or ""), str(original.get("title") or "")
    if _WECHAT_LINK.fullmatch(wechat_url):
        where = f'原文：<a href="{escape(wechat_url)}" style="{STYLES["a"]}">{escape(title)}</a>'
    else:
        where = f"原文：{escape(str(original.get('url') or ''), quote=False)}"
    notice = (f'<section style="{_NOTICE_BOX}"><p style="{_NOTICE_HEAD}">{NOTICE_HEADING}</p>'
              f'<p style="{_NOTICE_LINE}">{escape(notice_sentence(original), quote=False)}</p>'
              f'<p style="{_NOTICE_LINE}">{where}</p></section>')
    opening_end = html.index(">") + 1  # inside the article's wrapper, before the body
    return html[:opening_end] + notice + html[opening_end:]
