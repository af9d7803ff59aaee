"""The PUBLISHJOBFINISH and MASSSENDJOBFINISH events, pushed to the developer's callback URL as WeChat does.

WeChat signs every push (``signature`` = sha1 of the sorted token, timestamp and nonce)
and, in safe mode, encrypts the XML with the account's EncodingAESKey. The push is
fire-and-forget from a timer thread: like the real platform it may be lost, and the
publisher must still learn the outcome from freepublish/get or message/mass/get.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto

from wechat.sandbox.mass import SENT

log = logging.getLogger(__name__)

PUSH_TIMEOUT = 5


def original_id(app_id: str) -> str:
    """The account's original id (``gh_…``), the ToUserName of everything it is sent."""
    return "gh_" + hashlib.sha1(app_id.encode()).hexdigest()[:12]


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _header(app_id: str, event: str) -> str:
    return (
        f"<ToUserName>{_cdata(original_id(app_id))}</ToUserName>"
        f"<FromUserName>{_cdata('o' + hashlib.sha1(app_id.encode()).hexdigest()[:27])}</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime>"
        f"<MsgType>{_cdata('event')}</MsgType>"
        f"<Event>{_cdata(event)}</Event>"
    )


def publish_event_xml(app_id: str, job: dict[str, Any], status: int, urls: list[str]) -> str:
    """The event XML for a finished publish job, with the official element names."""
    info = [f"<publish_id>{job['publish_id']}</publish_id>", f"<publish_status>{status}</publish_status>"]
    if job["article_id"]:
        info.append(f"<article_id>{_cdata(job['article_id'])}</article_id>")
    if urls:
        items = "".join(
            f"<item><idx>{idx}</idx><article_url>{_cdata(url)}</article_url></item>"
            for idx, url in enumerate(urls, start=1)
        )
        info.append(f"<article_detail><count>{len(urls)}</count>{items}</article_detail>")
    if status != 0:
        info.extend(f"<fail_idx>{idx}</fail_idx>" for idx in range(1, job["count"] + 1))
    return f"<xml>{_header(app_id, 'PUBLISHJOBFINISH')}<PublishEventInfo>{''.join(info)}</PublishEventInfo></xml>"


def mass_event_xml(app_id: str, job: dict[str, Any]) -> str:
    """The event XML for a finished mass send, with the official element names.

    A sent job reaches every follower and reports its articles' URLs; a failed one reached nobody and has none.
    """
    sent = job["result"] == SENT
    total = int(job["total_count"])
    reached = total if sent else 0
    parts = [
        f"<MsgID>{job['msg_id']}</MsgID>",
        f"<Status>{_cdata(job['result'])}</Status>",
        f"<TotalCount>{total}</TotalCount>",
        f"<FilterCount>{reached}</FilterCount>",
        f"<SentCount>{reached}</SentCount>",
        "<ErrorCount>0</ErrorCount>",
    ]
    if sent:
        items = "".join(
            f"<item><ArticleIdx>{idx}</ArticleIdx><ArticleUrl>{_cdata(item['url'])}</ArticleUrl></item>"
            for idx, item in enumerate(job["news_item"], start=1)
        )
        count = len(job["news_item"])
        parts.append(f"<ArticleUrlResult><Count>{count}</Count><ResultList>{items}</ResultList></ArticleUrlResult>")
    return f"<xml>{_header(app_id, 'MASSSENDJOBFINISH')}{''.join(parts)}</xml>"


def sign(token: str, timestamp: str, nonce: str) -> str:
    """The plain-mode ``signature`` query parameter of a push."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


@dataclass(frozen=True)
class Callback:
    """The developer's server as configured on the platform: URL, Token, EncodingAESKey."""

    url: str
    token: str
    aes_key: str | None
    app_id: str

    def push(self, job: dict[str, Any], status: int, urls: list[str]) -> None:
        """POST the PUBLISHJOBFINISH event for ``job`` now."""
        self.send(publish_event_xml(self.app_id, job, status, urls))

    def send(self, xml: str) -> None:
        """POST one event now, signed, and encrypted when an AES key is set; a lost push is only logged."""
        timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
        params = {"signature": sign(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
        if self.aes_key:
            crypto = WeChatCrypto(self.token, self.aes_key, self.app_id)
            xml = crypto.encrypt_message(xml, nonce, timestamp)
            params.update(encrypt_type="aes", msg_signature=xmltodict.parse(xml)["xml"]["MsgSignature"])
        try:
            requests.post(
                self.url,
                params=params,
                data=xml.encode(),
                headers={"Content-Type": "text/xml"},
                timeout=PUSH_TIMEOUT,
            )
        except requests.RequestException as error:
            log.info("sandbox event push to %s lost: %s", self.url, error)

    def push_later(self, delay: float, job: dict[str, Any], status: int, urls: list[str]) -> None:
        """Push from a daemon timer once the job has finished; nobody waits for it."""
        later(delay, lambda: self.push(job, status, urls))


def later(delay: float, action: Callable[[], None]) -> None:
    """Run ``action`` on a daemon timer after ``delay`` seconds; nobody waits for it."""
    timer = threading.Timer(max(delay, 0.0), action)
    timer.daemon = True
    timer.start()
