"""`/wechat/callback`: signatures in plain and AES mode, one action per event, the right delivery woken."""

from __future__ import annotations

import base64
import secrets
import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import xmltodict
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from wechatpy.crypto import WeChatCrypto

from app.extensions import db
from app.timeutil import utcnow
from publishing.models import Delivery
from tests import factories
from wechat import callback
from wechat.sandbox.events import publish_event_xml, sign

TOKEN = "callback-token"
APP_ID = "wxsandbox000000001"  # the sandbox account's, as no WECHAT_APP_ID is set
AES_KEY = base64.b64encode(b"k" * 32).decode().rstrip("=")


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"WECHAT_TOKEN": TOKEN}


def signed(token: str = TOKEN) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    return {"signature": sign(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


def event(publish_id: str = "2247483700", status: int = 0) -> str:
    job = {"publish_id": publish_id, "article_id": "art-1" if status == 0 else "", "count": 1}
    return publish_event_xml(APP_ID, job, status, ["http://example/a"] if status == 0 else [])


class FakeOutbox:
    """Deliveries in flight, by publish_id, and the ids woken."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, waiting: dict[int, str]) -> None:
        self.deliveries = [SimpleNamespace(id=i, data={"publish_id": p}) for i, p in waiting.items()]
        self.woken: list[int] = []
        monkeypatch.setattr(callback.outbox, "in_flight", self.in_flight)
        monkeypatch.setattr(callback.outbox, "wake", self.wake)

    def in_flight(self, channel: str) -> list[Any]:
        assert channel == "wechat"
        return self.deliveries

    def wake(self, delivery_id: int) -> bool:
        self.woken.append(delivery_id)
        return True


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeOutbox:
    return FakeOutbox(monkeypatch, {11: "2247483699", 12: "2247483700"})


def post(client: FlaskClient, body: str, query: dict[str, str]) -> Any:
    return client.post("/wechat/callback", query_string=query, data=body.encode(), content_type="text/xml")


def test_url_check_echoes_only_with_a_good_signature(client: FlaskClient) -> None:
    good = client.get("/wechat/callback", query_string={**signed(), "echostr": "4213902814541516"})
    assert good.status_code == 200 and good.get_data(as_text=True) == "4213902814541516"
    bad = client.get("/wechat/callback", query_string={**signed("wrong-token"), "echostr": "4213902814541516"})
    assert bad.status_code == 403 and "4213902814541516" not in bad.get_data(as_text=True)
    assert client.get("/wechat/callback", query_string={"echostr": "x"}).status_code == 403


def test_plain_event_wakes_the_delivery_waiting_for_that_job(client: FlaskClient, fake: FakeOutbox) -> None:
    answer = post(client, event("2247483700"), signed())  # no CSRF token: WeChat signs instead
    assert answer.status_code == 200 and answer.get_data(as_text=True) == "success"
    assert fake.woken == [12]


def test_badly_signed_push_is_refused_and_ignored(client: FlaskClient, fake: FakeOutbox) -> None:
    assert post(client, event(), signed("wrong-token")).status_code == 403
    assert post(client, event(), {}).status_code == 403
    assert fake.woken == []


def test_replayed_event_is_acted_on_once(client: FlaskClient, fake: FakeOutbox) -> None:
    for _ in range(3):  # WeChat pushes again when the answer is slow
        assert post(client, event("2247483699"), signed()).get_data(as_text=True) == "success"
    assert fake.woken == [11]
    post(client, event("2247483699", status=4), signed())  # another outcome of the same job is news
    assert fake.woken == [11, 11]


def test_other_pushes_are_answered_and_ignored(client: FlaskClient, fake: FakeOutbox) -> None:
    subscribe = ("<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
                 "<MsgType>event</MsgType><Event>subscribe</Event></xml>")
    assert post(client, subscribe, signed()).get_data(as_text=True) == "success"
    assert post(client, event("999"), signed()).get_data(as_text=True) == "success"  # nobody waits for it
    assert fake.woken == []
    assert post(client, "<xml><unclosed>", signed()).status_code == 400
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><A>&a;</A></xml>'
    assert post(client, bomb, signed()).status_code == 400


@pytest.mark.parametrize("app_config", [{"WECHAT_TOKEN": TOKEN, "WECHAT_ENCODING_AES_KEY": AES_KEY}])
def test_aes_event_is_decrypted_and_checked(client: FlaskClient, fake: FakeOutbox) -> None:
    query = signed()
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    envelope = crypto.encrypt_message(event("2247483700"), query["nonce"], query["timestamp"])
    msg_signature = xmltodict.parse(envelope)["xml"]["MsgSignature"]
    aes = {**query, "encrypt_type": "aes", "msg_signature": msg_signature}

    assert post(client, envelope, {**aes, "msg_signature": "0" * 40}).status_code == 403
    assert post(client, envelope, {**aes, "signature": "0" * 40}).status_code == 403
    assert fake.woken == []
    answer = post(client, envelope, aes)
    assert answer.status_code == 200 and answer.get_data(as_text=True) == "success"
    assert fake.woken == [12]

    stranger = WeChatCrypto(TOKEN, AES_KEY, "wxsomeoneelse0001")
    foreign = stranger.encrypt_message(event("2247483699"), query["nonce"], query["timestamp"])
    foreign_query = {**aes, "msg_signature": xmltodict.parse(foreign)["xml"]["MsgSignature"]}
    assert post(client, foreign, foreign_query).status_code == 403
    assert fake.woken == [12]


def test_aes_push_without_a_configured_key_is_refused(client: FlaskClient, fake: FakeOutbox) -> None:
    assert post(client, "<xml><Encrypt>x</Encrypt></xml>", {**signed(), "encrypt_type": "aes"}).status_code == 400


def test_event_makes_a_real_waiting_delivery_ready_now(app: Flask, client: FlaskClient) -> None:
    office = factories.Office(app, "ZBS")
    st = office.approved(channels=["wechat"])
    later = utcnow() + timedelta(minutes=10)
    with app.app_context():
        delivery = db.session.scalar(select(Delivery).where(Delivery.statement_id == st["id"]))
        delivery.data = {"media_id": "m", "publish_id": "2247483777"}
        delivery.next_attempt_at = later
        db.session.commit()
        delivery_id = delivery.id

    assert post(client, event("2247483777"), signed()).get_data(as_text=True) == "success"
    with app.app_context():
        woken = db.session.get(Delivery, delivery_id)
        assert woken.state == "pending" and woken.next_attempt_at <= utcnow()
