"""Reading a published WeChat article back (interface §10): `freepublish/getarticle`, compared with the
article HTML the channel rendered from the approved text."""

from __future__ import annotations

import html
import re

from publishing import readback
from publishing.channels import PermanentError, TransientError
from publishing.models import Delivery
from wechat import client
from wechat.channel import MASS_SEND
from wechat.render import article

SRCDOC = re.compile(r'srcdoc="([^"]*)"', re.S)
#: What WeChat's article page says once its publisher deleted it.
DELETED = "此内容已被发布者删除"


def read_mass_article(d: Delivery) -> str:
    """A mass-sent article (interface §14) as a follower's phone opens it: the page at its URL."""
    if not d.url:
        raise readback.Unavailable("群发文章没有网址（未收到 MASSSENDJOBFINISH），无法回读")
    status, page = readback.fetch_page(d.url)
    if status in (404, 410):
        raise readback.Gone("群发文章已不存在")
    if status >= 400:
        raise readback.Unavailable(f"群发文章页面返回 HTTP {status}")
    framed = SRCDOC.search(page)  # the sandbox's page shows the article in a frame, as a phone's WebView would
    if framed is not None:
        page = html.unescape(framed.group(1))
    if DELETED in page and "js_content" not in page:
        raise readback.Gone("群发文章已被删除")
    return page


def read_article(d: Delivery) -> str:
    """The published article's title and content as WeChat now serves them."""
    if (d.data or {}).get("mode") == MASS_SEND:
        return read_mass_article(d)
    article_id = d.external_id or (d.data or {}).get("article_id")
    if not article_id:
        raise readback.Unavailable("没有 article_id，无法回读")
    try:
        answer = client.from_app().freepublish.getarticle(article_id)
    except PermanentError as error:
        if getattr(error, "errcode", None) == 53600:  # no such article (any more)
            raise readback.Gone("微信文章已不存在") from error
        raise readback.Unavailable(f"freepublish/getarticle：{error}") from error
    except TransientError as error:
        raise readback.Unavailable(f"freepublish/getarticle：{error}") from error
    items = answer.get("news_item") or []
    if not items or items[0].get("is_deleted"):
        raise readback.Gone("微信文章已被删除或不存在")
    item = items[0]
    return f"<h1>{item.get('title', '')}</h1>{item.get('content', '')}"


def expected_article(body: str) -> str:
    """What the channel sent for this body (image addresses aside, which carry no text)."""
    return article(body).html


def register() -> None:
    readback.register("wechat", read_article, expected_article)
