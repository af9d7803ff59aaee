"""`/wechat/callback`: WeChat's pushes to us, checked, de-duplicated and answered at once.

WeChat waits 5 seconds for "success" and then pushes again, so nothing here calls
WeChat. The one event we act on, PUBLISHJOBFINISH, only wakes the delivery waiting for
that publish job: its claimant fetches the outcome through freepublish/get, so the event
and the worker's own polling can race and still settle once (the outbox's claim sees to
it). A lost event costs nothing but the wait for the next poll.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from flask import Blueprint, Response, current_app, request
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from app import params
from app.config import SANDBOX_WECHAT_TOKEN, wechat_available
from app.extensions import get_redis
from interaction import intake
from publishing import outbox
from wechat import client, quota

log = logging.getLogger(__name__)

#: WeChat retries a push three times within about 15 seconds; a day covers any replay worth catching.
SEEN_TTL = 86400
#: A push signed longer ago than this (or this far ahead) is a replay, whatever its signature.
MAX_CLOCK_SKEW = 300

bp = Blueprint("wechat_callback", __name__)


class Refused(Exception):
    """A push we do not accept; WeChat (or whoever sent it) gets a short plain-text answer."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


@bp.errorhandler(Refused)
def _refused(error: Refused) -> Response:
    return Response(error.text, status=error.status, mimetype="text/plain")


@dataclass(frozen=True)
class PublishJobFinish:
    """The PUBLISHJOBFINISH event (wechatpy does not parse it)."""

    publish_id: str
    publish_status: int
    article_id: str | None


def parse_publish_event(message: dict[str, Any]) -> PublishJobFinish | None:
    """The event in a parsed push, or None when the push is something else."""
    if message.get("MsgType") != "event" or message.get("Event") != "PUBLISHJOBFINISH":
        return None
    info = message.get("PublishEventInfo") or {}
    publish_id, status = info.get("publish_id"), info.get("publish_status")
    if not publish_id or status is None or not str(status).lstrip("-").isdigit():
        return None
    return PublishJobFinish(str(publish_id), int(status), info.get("article_id") or None)


@dataclass(frozen=True)
class MassSendJobFinish:
    """The MASSSENDJOBFINISH event: a mass send's outcome, counts and its articles' URLs (interface §14)."""

    msg_id: str
    status: str
    total_count: int | None
    sent_count: int | None
    urls: dict[str, str]


def _count(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def parse_mass_event(message: dict[str, Any]) -> MassSendJobFinish | None:
    """The mass-send event in a parsed push, or None when the push is something else."""
    if message.get("MsgType") != "event" or message.get("Event") != "MASSSENDJOBFINISH":
        return None
    msg_id = str(message.get("MsgID") or message.get("MsgId") or "").strip()
    if not msg_id.isdigit():
        return None
    urls: dict[str, str] = {}
    result = message.get("ArticleUrlResult") or {}
    items = ((result.get("ResultList") or {}) if isinstance(result, dict) else {}).get("item") or []
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, dict) and _count(item.get("ArticleIdx")) and item.get("ArticleUrl"):
            urls[str(_count(item.get("ArticleIdx")))] = str(item["ArticleUrl"])[:512]
    return MassSendJobFinish(msg_id, str(message.get("Status") or "")[:64], _count(message.get("TotalCount")),
                             _count(message.get("SentCount")), urls)


def _token() -> str:
    """The token pushes are signed with. A real account (WECHAT_APP_ID) without a token of its own is
    refused, never checked against an empty or the sandbox's well-known token (failing open)."""
    if not wechat_available(current_app.config):  # no account and no sandbox: nobody may push (interface §13)
        raise Refused(404, "WeChat is not configured (WECHAT_APP_ID or WECHAT_SANDBOX=1)")
    token = current_app.config.get("WECHAT_TOKEN") or ""
    if current_app.config.get("WECHAT_APP_ID") and (not token or token == SANDBOX_WECHAT_TOKEN):
        log.error("WECHAT_APP_ID is set but WECHAT_TOKEN is not: refusing WeChat callbacks")
        raise Refused(503, "callback token not configured (WECHAT_TOKEN)")
    return token


def _verify_plain() -> None:
    token = _token()
    timestamp = request.args.get("timestamp", "")
    try:
        sent = params.integer(timestamp, 0, 2**40)  # unix seconds; 2⁴⁰ is some 30,000 years away
    except params.Unreadable:
        raise Refused(403, "stale or missing timestamp") from None
    if abs(time.time() - sent) > MAX_CLOCK_SKEW:
        raise Refused(403, "stale or missing timestamp")
    try:
        check_signature(token, request.args.get("signature", ""), timestamp, request.args.get("nonce", ""))
    except InvalidSignatureException:
        raise Refused(403, "invalid signature") from None


def _message() -> dict[str, Any]:
    """The push's XML as a dict, decrypted in safe mode; 403 on any bad signature."""
    _verify_plain()
    raw = request.get_data(as_text=True)
    if request.args.get("encrypt_type") == "aes":
        aes_key = current_app.config.get("WECHAT_ENCODING_AES_KEY")
        if not aes_key:
            raise Refused(400, "safe mode is not configured (WECHAT_ENCODING_AES_KEY)")
        crypto = WeChatCrypto(_token(), aes_key, client.account()[0])
        try:
            raw = crypto.decrypt_message(raw, request.args.get("msg_signature", ""),
                                         request.args.get("timestamp", ""), request.args.get("nonce", ""))
        except (InvalidSignatureException, InvalidAppIdException):
            raise Refused(403, "invalid signature") from None
        except (ValueError, KeyError, TypeError, ExpatError):
            raise Refused(400, "cannot decrypt") from None
    try:
        parsed = xmltodict.parse(raw)  # refuses entity declarations (xmltodict's default)
    except (ExpatError, ValueError):
        raise Refused(400, "bad XML") from None
    message = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(message, dict):
        raise Refused(400, "bad XML")
    return message


def _first_time(key: str) -> bool:
    return bool(get_redis().set(f"huiying:wechat:seen:{key}", 1, nx=True, ex=SEEN_TTL))


def _wake_waiting(event: PublishJobFinish) -> bool:
    """Queue the delivery that waits for this publish job now, rather than at its next poll."""
    for delivery in outbox.in_flight("wechat"):
        if str((delivery.data or {}).get("publish_id")) == event.publish_id:
            return outbox.wake(delivery.id)
    return False


def _record_mass(event: MassSendJobFinish) -> None:
    """Counts and URLs onto the mass send; every member's delivery is woken to settle from them."""
    first = event.urls.get("1")
    found = quota.record(event.msg_id, status=event.status, sent_count=event.sent_count,
                         total_count=event.total_count, urls=event.urls,
                         msg_data_id=quota.mid_of(first) if first else None)
    if found is None:  # its sender may have died before recording the msg_id: kept for when it learns it
        quota.keep_stray_event(event.msg_id, {"status": event.status, "sent_count": event.sent_count,
                                              "total_count": event.total_count, "urls": event.urls})
    log.info("MASSSENDJOBFINISH %s %s: %s", event.msg_id, event.status,
             f"mass send {found}" if found else "kept until a mass send of ours has this msg_id")


def _follower_text(message: dict[str, Any]) -> bool:
    """A follower's text message (`MsgType=text`) handed to the interaction desk (interface §15): deduplicated
    there by its MsgId (a unique index, not Redis), `received_at` = its CreateTime. False for anything else or
    a message already kept."""
    if message.get("MsgType") != "text":
        return False
    openid, msg_id, content = message.get("FromUserName"), message.get("MsgId"), message.get("Content")
    try:
        created = int(str(message.get("CreateTime")))
    except ValueError:
        return False
    if not all(isinstance(v, str) and v for v in (openid, msg_id, content)) or not 0 < created < 2**40:
        return False
    return intake.receive_follower_message(str(openid), str(msg_id), str(content),
                                           datetime.fromtimestamp(created, UTC))


@bp.get("/wechat/callback")
def verify() -> Response:
    """The platform's URL check: echo `echostr` when the signature holds."""
    _verify_plain()
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.post("/wechat/callback")
def receive() -> Response:
    """One push: act on PUBLISHJOBFINISH once, answer "success" to everything."""
    message = _message()
    event = parse_publish_event(message)
    mass_event = parse_mass_event(message)
    if mass_event is not None:
        if _first_time(f"mass:{mass_event.msg_id}:{mass_event.status}"):
            try:
                _record_mass(mass_event)
            except Exception:
                get_redis().delete(f"huiying:wechat:seen:mass:{mass_event.msg_id}:{mass_event.status}")
                raise
        return Response("success", mimetype="text/plain")
    if event is None and _follower_text(message):
        log.info("follower message %s kept for the interaction desk", message.get("MsgId"))
    if event is not None:
        key = f"publish:{event.publish_id}:{event.publish_status}"
    else:
        key = f"msg:{message.get('MsgId') or (message.get('FromUserName'), message.get('CreateTime'))}"
    if _first_time(key) and event is not None:
        try:
            woke = _wake_waiting(event)
        except Exception:
            get_redis().delete(f"huiying:wechat:seen:{key}")  # let WeChat's retry try again
            raise
        log.info("PUBLISHJOBFINISH %s status %s: %s", event.publish_id, event.publish_status,
                 "delivery woken" if woke else "no waiting delivery")
    return Response("success", mimetype="text/plain")
