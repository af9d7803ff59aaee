"""Reading a published WeChat article back (interface §10): `freepublish/getarticle`, compared with the
article HTML the channel rendered from the approved text."""

from __future__ import annotations

from publishing import readback
from publishing.channels import PermanentError, TransientError
from publishing.models import Delivery
from wechat import client
from wechat.render import article


def read_article(d: Delivery) -> str:
    """The published article's title and content as WeChat now serves them."""
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
