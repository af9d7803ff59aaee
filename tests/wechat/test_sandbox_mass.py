"""The sandbox's mass sends (群发) behave as WeChat's (interface §14): the quota by account type and period,
clientmsgid, the job's statuses, mass-send protection, deleting one article, the MASSSENDJOBFINISH push,
previews, and the follower's view of it all."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
import xmltodict
from flask import Flask
from flask.testing import FlaskClient

from tests import factories
from tests.review.test_browser import assert_fits_the_phone, phone  # noqa: F401
from tests.review.test_browser import sign_in as sign_in_on_a_phone
from tests.wechat.helpers import migrated_sqlite
from tests.wechat.test_sandbox import (
    APP_ID,
    PREFIX,
    REDIS_URL,
    SANDBOX,
    SECRET,
    Receiver,
    _plain_signature,
    article,
    bearer,
    call,
    faults,
    image_bytes,
    sign_in,
    upload,
)
from wechat.sandbox.mass import MassSends, Plan
from wechat.sandbox.quota import SHANGHAI, Period
from wechat.sandbox.store import Store

#: A Tuesday morning in Beijing; the tests move the sandbox's clock from here.
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI).timestamp()


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    """A moment in Beijing, as Unix seconds."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).timestamp()


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated_sqlite(tmp_path_factory)


@pytest.fixture
def sandbox_config() -> dict[str, Any]:
    """Per-test changes to `SANDBOX`."""
    return {}


@pytest.fixture
def app_config(sandbox_config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """As tests/wechat/test_sandbox.py, with tokens that outlive any move of the clock."""
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield {**SANDBOX, "WECHAT_SANDBOX_TOKEN_TTL": 10**9, **sandbox_config}
    client.flushdb()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The sandbox's time, frozen at `T0`; a test moves it by setting ``clock[0]``."""
    now = [T0]
    monkeypatch.setattr(Store, "now", staticmethod(lambda: now[0]))
    return now


@pytest.fixture
def token(client: FlaskClient) -> str:
    """An access token (a test that freezes the clock asks for `clock` first, so the token lives in its time)."""
    query = {"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET}
    return str(client.get(f"{PREFIX}/cgi-bin/token", query_string=query).get_json()["access_token"])


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """An admin's browser: signed in (the viewer), with a bearer token (the switches)."""
    web = sign_in(app, "admin")
    web.environ_base["HTTP_AUTHORIZATION"] = bearer(app, "admin")["Authorization"]
    return web


@pytest.fixture
def thumb(client: FlaskClient, token: str) -> str:
    return str(upload(client, token, "material/add_material", image_bytes("JPEG"), type="image")["media_id"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The developer's server, recording every push."""
    running = Receiver()
    yield running
    running.close()


def draft(client: FlaskClient, token: str, thumb: str, *titles: str) -> str:
    """A draft of one article per title (each with its own text); its media_id."""
    articles = [article(thumb, title=title, content=f"<p>{title}：经核实，网传信息不实。</p>", author="办公室")
                for title in titles or ("情况说明",)]
    return str(call(client, "draft/add", {"articles": articles}, token)["media_id"])


def sendall(client: FlaskClient, token: str, media_id: str, clientmsgid: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"filter": {"is_to_all": True}, "mpnews": {"media_id": media_id}, "msgtype": "mpnews",
                            "send_ignore_reprint": 0}
    if clientmsgid is not None:
        body["clientmsgid"] = clientmsgid
    return call(client, "message/mass/sendall", body, token)


def status(client: FlaskClient, token: str, msg_id: int) -> str:
    return str(call(client, "message/mass/get", {"msg_id": str(msg_id)}, token)["msg_status"])


def event(receiver: Receiver, timeout: float = 5) -> dict[str, Any]:
    """The next push the developer's server got, checked for its signature, parsed."""
    query, body = receiver.received.get(timeout=timeout)
    assert query["signature"] == _plain_signature(query, "callback-token")
    parsed: dict[str, Any] = xmltodict.parse(body.decode())["xml"]
    return parsed


def article_urls(pushed: dict[str, Any]) -> list[str]:
    items = pushed["ArticleUrlResult"]["ResultList"]["item"]
    items = items if isinstance(items, list) else [items]
    assert [int(item["ArticleIdx"]) for item in items] == list(range(1, len(items) + 1))
    return [str(item["ArticleUrl"]) for item in items]


def page_of(client: FlaskClient, url: str) -> tuple[int, str]:
    """Open an article URL as a phone would; the status and the page with its frame unescaped."""
    parts = urlsplit(url)
    response = client.get(parts.path, query_string=parts.query)
    return response.status_code, html.unescape(response.get_data(as_text=True))


# --- the quota -----------------------------------------------------------------------------------


def test_a_subscription_account_mass_sends_once_a_calendar_day_in_beijing(
    client: FlaskClient, clock: list[float], token: str, thumb: str
) -> None:
    clock[0] = shanghai(2026, 12, 2, 7, 0)  # still 1 December in UTC
    first = sendall(client, token, draft(client, token, thumb), "hy-1")
    assert first["errcode"] == 0 and first["errmsg"] == "send job submission success"
    assert isinstance(first["msg_id"], int) and isinstance(first["msg_data_id"], int)

    waiting = draft(client, token, thumb, "第二份说明")
    clock[0] = shanghai(2026, 12, 2, 9, 0)  # 2 December in UTC too: the day that counts is Beijing's
    refused = sendall(client, token, waiting, "hy-2")
    assert refused["errcode"] == 45028 and refused["errmsg"].startswith("has no masssend quota")
    assert "msg_id" not in refused
    clock[0] = shanghai(2026, 12, 2, 23, 59, 59)
    assert sendall(client, token, waiting, "hy-2")["errcode"] == 45028
    # a refused send took nothing: the draft is still in the draft box and the clientmsgid is free
    assert call(client, "draft/get", {"media_id": waiting}, token)["news_item"][0]["title"] == "第二份说明"

    clock[0] = shanghai(2026, 12, 3, 0, 0)
    second = sendall(client, token, waiting, "hy-2")
    assert second["errcode"] == 0 and second["msg_id"] != first["msg_id"]


@pytest.mark.parametrize("sandbox_config", [{"WECHAT_ACCOUNT_TYPE": "service"}])
def test_a_service_account_mass_sends_four_times_a_calendar_month(
    client: FlaskClient, clock: list[float], token: str, thumb: str
) -> None:
    clock[0] = shanghai(2026, 12, 1, 0, 0)
    for n in range(4):
        assert sendall(client, token, draft(client, token, thumb), f"hy-{n}")["errcode"] == 0
        clock[0] += 86_400 * 7
    waiting = draft(client, token, thumb)
    clock[0] = shanghai(2026, 12, 31, 23, 59, 59)
    assert sendall(client, token, waiting, "hy-4")["errcode"] == 45028
    clock[0] = shanghai(2027, 1, 1, 0, 0)
    assert sendall(client, token, waiting, "hy-4")["errcode"] == 0


@pytest.mark.parametrize("sandbox_config", [{"WECHAT_MASS_PERIOD_SECONDS": 60}])
def test_a_short_period_is_a_window_of_that_many_seconds_from_the_epoch(
    client: FlaskClient, clock: list[float], token: str, thumb: str
) -> None:
    clock[0] = 60 * 29_500_000 + 59  # the last second of a window
    assert sendall(client, token, draft(client, token, thumb), "hy-a")["errcode"] == 0
    waiting = draft(client, token, thumb)
    assert sendall(client, token, waiting, "hy-b")["errcode"] == 45028
    clock[0] += 1
    assert sendall(client, token, waiting, "hy-b")["errcode"] == 0


def test_bad_mass_sends_are_refused_and_spend_nothing(client: FlaskClient, token: str, thumb: str) -> None:
    media_id = draft(client, token, thumb)
    assert sendall(client, token, "no-such-draft", "hy-x")["errcode"] == 40007
    assert sendall(client, token, media_id, "x" * 65)["errcode"] == 45067
    text = {"filter": {"is_to_all": True}, "text": {"content": "你好"}, "msgtype": "text"}
    assert call(client, "message/mass/sendall", text, token)["errcode"] == 40008
    by_tag = {"filter": {"is_to_all": False, "tag_id": 2}, "mpnews": {"media_id": media_id}, "msgtype": "mpnews"}
    assert call(client, "message/mass/sendall", by_tag, token)["errcode"] == 40097
    faults(client, {"path": "message/mass/sendall", "errcode": -1})
    assert sendall(client, token, media_id, "hy-x")["errcode"] == -1
    # none of those spent the day's one mass send, nor the clientmsgid
    assert sendall(client, token, media_id, "hy-x")["errcode"] == 0
    log = client.get(f"{PREFIX}/_calls").get_json()
    assert [entry["errcode"] for entry in log if entry["path"] == "message/mass/sendall"] == [
        40007, 45067, 40008, 40097, -1, 0]


@pytest.mark.parametrize("sandbox_config", [{"WECHAT_ACCOUNT_TYPE": "service"}])
def test_a_repeated_clientmsgid_sends_nothing_and_names_the_first_send(
    client: FlaskClient, clock: list[float], token: str, thumb: str
) -> None:
    first = sendall(client, token, draft(client, token, thumb), "hy-6f1c")
    again = sendall(client, token, "any-media-id", "hy-6f1c")
    assert again["errcode"] == 45065 and again["errmsg"].startswith("clientmsgid exist")
    assert again["msg_id"] == first["msg_id"] and "msg_data_id" not in again
    other = draft(client, token, thumb)
    assert sendall(client, token, other, "hy-6f1c")["msg_id"] == first["msg_id"]
    assert call(client, "draft/get", {"media_id": other}, token)["news_item"]  # not sent: still a draft
    # one of the month's four was spent, by the first send alone
    for n in range(3):
        assert sendall(client, token, draft(client, token, thumb), f"hy-{n}")["errcode"] == 0
    assert sendall(client, token, other, "hy-last")["errcode"] == 45028
    assert MassSends(Store(redis.Redis.from_url(REDIS_URL))).jobs(0, 20)[0] == 4


# --- the job ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("sandbox_config", [{"WECHAT_SANDBOX_PUBLISH_DELAY": 5}])
def test_get_answers_sending_until_its_time_then_send_success(
    client: FlaskClient, clock: list[float], token: str, thumb: str
) -> None:
    sent = sendall(client, token, draft(client, token, thumb), "hy-1")
    assert status(client, token, sent["msg_id"]) == "SENDING"
    clock[0] = T0 + 4.9
    assert status(client, token, sent["msg_id"]) == "SENDING"
    clock[0] = T0 + 5
    answer = call(client, "message/mass/get", {"msg_id": sent["msg_id"]}, token)
    assert answer == {"msg_id": sent["msg_id"], "msg_status": "SEND_SUCCESS"}
    assert call(client, "message/mass/get", {"msg_id": "1"}, token)["errcode"] == 40007
    assert call(client, "message/mass/get", {}, token)["errcode"] == 40097


def test_deleting_one_article_of_three_leaves_the_others(
    app: Flask, client: FlaskClient, clock: list[float], token: str, thumb: str, receiver: Receiver
) -> None:
    app.config.update(WECHAT_SANDBOX_CALLBACK_URL=receiver.url, WECHAT_TOKEN="callback-token")
    sent = sendall(client, token, draft(client, token, thumb, "第一篇", "第二篇", "第三篇"), "hy-3")
    urls = article_urls(event(receiver))
    for idx, url in enumerate(urls, start=1):
        query = parse_qs(urlsplit(url).query)
        assert url.startswith(f"http://localhost{PREFIX}/s?__biz=")
        assert query["mid"] == [str(sent["msg_data_id"])] and query["idx"] == [str(idx)] and query["sn"][0]
    anyone = app.test_client()  # an article page of a mass send needs no account, as on mp.weixin.qq.com
    for url, title in zip(urls, ("第一篇", "第二篇", "第三篇"), strict=True):
        code, page = page_of(anyone, url)
        assert code == 200 and f'<h1 class="title" id="activity-name">{title}</h1>' in page
        assert f'<div class="content" id="js_content"><p>{title}：经核实，网传信息不实。</p></div>' in page
        assert "<span>办公室</span>" in page

    ok = call(client, "message/mass/delete", {"msg_id": sent["msg_id"], "article_idx": 2}, token)
    assert ok == {"errcode": 0, "errmsg": "ok"}
    assert [page_of(anyone, url)[0] for url in urls] == [200, 410, 200]
    assert "此内容已被发布者删除" in page_of(anyone, urls[1])[1] and "第二篇" not in page_of(anyone, urls[1])[1]
    assert status(client, token, sent["msg_id"]) == "SEND_SUCCESS"
    assert call(client, "message/mass/delete", {"msg_id": sent["msg_id"], "article_idx": 2}, token)["errcode"] == 0
    assert call(client, "message/mass/delete", {"msg_id": sent["msg_id"], "article_idx": 4}, token)["errcode"] == 40114

    assert call(client, "message/mass/delete", {"url": urls[0], "article_idx": 1}, token)["errcode"] == 0
    assert call(client, "message/mass/delete", {"msg_id": sent["msg_id"]}, token)["errcode"] == 0  # all
    assert [page_of(anyone, url)[0] for url in urls] == [410, 410, 410]
    assert status(client, token, sent["msg_id"]) == "DELETE"
    assert call(client, "message/mass/delete", {"msg_id": 1, "article_idx": 1}, token)["errcode"] == 40007
    # a URL the sandbox did not sign is no article
    forged = urls[2].replace("idx=3", "idx=2")
    assert page_of(anyone, forged)[0] == 404
    assert page_of(anyone, urls[2].replace("sn=", "sn=0"))[0] == 404
    assert receiver.received.empty()  # the job finished once, long ago


@pytest.mark.parametrize("sandbox_config", [{"WECHAT_SANDBOX_PUBLISH_DELAY": 5}])
def test_only_a_sent_mass_send_can_be_deleted_or_read(
    app: Flask, client: FlaskClient, clock: list[float], token: str, thumb: str, receiver: Receiver
) -> None:
    app.config.update(WECHAT_SANDBOX_CALLBACK_URL=receiver.url, WECHAT_TOKEN="callback-token")
    sending = sendall(client, token, draft(client, token, thumb), "hy-1")
    assert call(client, "message/mass/delete", {"msg_id": sending["msg_id"]}, token)["errcode"] == 40097
    clock[0] += 5
    assert status(client, token, sending["msg_id"]) == "SEND_SUCCESS"
    event(receiver)

    faults(client, {"mass_status": "err(20001)"})
    clock[0] += 86_400
    failing = sendall(client, token, draft(client, token, thumb), "hy-2")
    clock[0] += 5
    assert status(client, token, failing["msg_id"]) == "SEND_FAIL"
    pushed = event(receiver)
    assert pushed["Status"] == "err(20001)" and pushed["SentCount"] == "0" and "ArticleUrlResult" not in pushed
    assert call(client, "message/mass/delete", {"msg_id": failing["msg_id"]}, token)["errcode"] == 40097
    job = MassSends(Store(redis.Redis.from_url(REDIS_URL))).job(failing["msg_id"])
    assert job is not None
    code, _page = page_of(app.test_client(), job["news_item"][0]["url"])
    assert code == 404  # never sent: nothing at its address


# --- mass-send protection (群发保护) ---------------------------------------------------------------


@pytest.mark.parametrize("sandbox_config", [{"WECHAT_SANDBOX_MASS_PROTECTION": True,
                                             "WECHAT_SANDBOX_PUBLISH_DELAY": 2}])
def test_a_protected_mass_send_waits_for_the_phone_then_sends(
    app: Flask, client: FlaskClient, clock: list[float], token: str, thumb: str, receiver: Receiver
) -> None:
    app.config.update(WECHAT_SANDBOX_CALLBACK_URL=receiver.url, WECHAT_TOKEN="callback-token")
    sent = sendall(client, token, draft(client, token, thumb), "hy-1")
    clock[0] = T0 + 29 * 60
    assert status(client, token, sent["msg_id"]) == "SENDING"
    assert "待手机确认" in client.get(f"{PREFIX}/mass").get_data(as_text=True)

    confirmed = client.post(f"{PREFIX}/_mass/{sent['msg_id']}/confirm")
    assert confirmed.status_code == 200
    assert confirmed.get_json() == {"ok": True, "msg_id": sent["msg_id"], "msg_status": "SENDING"}
    assert client.post(f"{PREFIX}/_mass/{sent['msg_id']}/confirm").status_code == 409
    assert client.post(f"{PREFIX}/_mass/{sent['msg_id']}/reject").status_code == 409
    clock[0] = T0 + 29 * 60 + 1.9
    assert status(client, token, sent["msg_id"]) == "SENDING"
    assert receiver.received.empty()
    clock[0] = T0 + 29 * 60 + 2
    assert status(client, token, sent["msg_id"]) == "SEND_SUCCESS"
    pushed = event(receiver)
    assert pushed["Status"] == "send success" and int(pushed["MsgID"]) == sent["msg_id"]
    assert len(article_urls(pushed)) == 1


def test_protection_switched_on_at_run_time_and_the_admin_refuses(
    app: Flask, client: FlaskClient, clock: list[float], token: str, thumb: str, receiver: Receiver
) -> None:
    app.config.update(WECHAT_SANDBOX_CALLBACK_URL=receiver.url, WECHAT_TOKEN="callback-token")
    assert client.get(f"{PREFIX}/_mass/protection").get_json() == {"protection": False}
    assert client.post(f"{PREFIX}/_mass/protection", json={"on": True}).get_json() == {"protection": True}
    sent = sendall(client, token, draft(client, token, thumb), "hy-1")
    assert status(client, token, sent["msg_id"]) == "SENDING"

    refused = client.post(f"{PREFIX}/_mass/{sent['msg_id']}/reject")
    assert refused.get_json()["msg_status"] == "SEND_FAIL"
    assert status(client, token, sent["msg_id"]) == "SEND_FAIL"
    pushed = event(receiver)
    assert pushed["Status"] == "err(40001)" and "ArticleUrlResult" not in pushed
    # accepted, then refused on the phone: the day's one mass send is spent all the same
    assert sendall(client, token, draft(client, token, thumb), "hy-2")["errcode"] == 45028
    assert client.post(f"{PREFIX}/_mass/protection", json={"on": "yes"}).status_code == 400
    assert client.post(f"{PREFIX}/_mass/protection", json={"on": False}).get_json() == {"protection": False}
    assert client.post(f"{PREFIX}/_mass/1/confirm").status_code == 404


@pytest.mark.parametrize("sandbox_config", [{"WECHAT_SANDBOX_MASS_PROTECTION": True}])
def test_an_unconfirmed_mass_send_fails_after_30_minutes(
    app: Flask, client: FlaskClient, clock: list[float], token: str, thumb: str, receiver: Receiver
) -> None:
    app.config.update(WECHAT_SANDBOX_CALLBACK_URL=receiver.url, WECHAT_TOKEN="callback-token")
    sent = sendall(client, token, draft(client, token, thumb), "hy-1")
    clock[0] += 30 * 60
    assert status(client, token, sent["msg_id"]) == "SEND_FAIL"
    assert event(receiver)["Status"] == "err(40002)"
    assert client.post(f"{PREFIX}/_mass/{sent['msg_id']}/confirm").status_code == 409
    assert "30 分钟内未在手机上确认" in client.get(f"{PREFIX}/mass").get_data(as_text=True)


def test_the_phone_switches_are_guarded_as_the_fault_switches(app: Flask, client: FlaskClient) -> None:
    drafter = bearer(app, "drafter", "office")
    for path in ("/_mass/protection", "/_mass/1000000001/confirm", "/_mass/1000000001/reject"):
        assert client.post(f"{PREFIX}{path}", json={"on": True}, headers=drafter).status_code == 403, path
        assert app.test_client().post(f"{PREFIX}{path}", json={"on": True}).status_code == 401, path
    browser = sign_in(app, "admin")  # a signed-in admin's browser needs the CSRF token, as everywhere
    assert browser.post(f"{PREFIX}/_mass/protection", data={"on": "1"}).status_code == 403
    app.config["WECHAT_SANDBOX_FAULTS"] = False
    assert client.post(f"{PREFIX}/_mass/protection", json={"on": True}).status_code == 404
    assert client.get(f"{PREFIX}/_mass/protection").status_code == 404


# --- the MASSSENDJOBFINISH push --------------------------------------------------------------------


@pytest.mark.parametrize("sandbox_config", [{"WECHAT_SANDBOX_PUBLISH_DELAY": 0.5, "WECHAT_SANDBOX_FOLLOWERS": 42}])
def test_the_finish_event_arrives_exactly_once_however_many_read(
    app: Flask, client: FlaskClient, thumb: str, receiver: Receiver
) -> None:
    app.config.update(WECHAT_SANDBOX_CALLBACK_URL=receiver.url, WECHAT_TOKEN="callback-token")
    token = call(client, "stable_token", {"grant_type": "client_credential", "appid": APP_ID,
                                           "secret": SECRET})["access_token"]
    sent = sendall(client, token, draft(client, token, thumb, "头条", "次条"), "hy-once")
    readers = [app.test_client() for _ in range(6)]
    answers: list[str] = []

    def poll(reader: FlaskClient) -> None:  # the app's worker and the viewer, all reading around the due time
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            answers.append(status(reader, token, sent["msg_id"]))
            time.sleep(0.01)

    def look() -> None:  # someone watching the chat in the viewer
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            assert client.get(f"{PREFIX}/mass").status_code == 200
            time.sleep(0.01)

    threads = [threading.Thread(target=poll, args=(reader,)) for reader in readers]
    threads.append(threading.Thread(target=look))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers[0] == "SENDING" and answers[-1] == "SEND_SUCCESS"

    pushed = event(receiver)
    time.sleep(1)  # the timer has fired meanwhile, and found it done
    assert receiver.received.empty()
    assert pushed["Event"] == "MASSSENDJOBFINISH" and pushed["MsgType"] == "event"
    assert int(pushed["MsgID"]) == sent["msg_id"] and pushed["Status"] == "send success"
    assert (pushed["TotalCount"], pushed["FilterCount"], pushed["SentCount"], pushed["ErrorCount"]) == (
        "42", "42", "42", "0")
    assert pushed["ArticleUrlResult"]["Count"] == "2"
    urls = article_urls(pushed)
    assert [parse_qs(urlsplit(url).query)["mid"] for url in urls] == [[str(sent["msg_data_id"])]] * 2
    assert [page_of(client, url)[0] for url in urls] == [200, 200]


@pytest.mark.parametrize("sandbox_config", [{"WECHAT_SANDBOX_PUBLISH_DELAY": 0}])
def test_without_anyone_reading_the_timer_pushes_the_event(
    app: Flask, client: FlaskClient, token: str, thumb: str, receiver: Receiver
) -> None:
    app.config.update(WECHAT_SANDBOX_CALLBACK_URL=receiver.url, WECHAT_TOKEN="callback-token")
    sent = sendall(client, token, draft(client, token, thumb), "hy-1")
    pushed = event(receiver)
    assert int(pushed["MsgID"]) == sent["msg_id"] and pushed["Status"] == "send success"


def test_concurrent_finishers_finish_a_job_once(clock: list[float]) -> None:
    store = Store(redis.Redis.from_url(REDIS_URL))
    store.r.flushdb()
    media_id = store.add_draft([{"title": "说明", "content": "<p>正文</p>"}])
    mass = MassSends(store)
    job = mass.send(media_id, "hy-1", Period(T0 - 1, T0 + 86_400, 1), lambda: Plan(0, False, "send success", 1),
                    lambda mid, idx: f"http://sandbox/s?mid={mid}&idx={idx}")
    finished: list[dict[str, Any] | None] = []
    barrier = threading.Barrier(8)

    def finish() -> None:
        barrier.wait()
        finished.append(MassSends(Store(redis.Redis.from_url(REDIS_URL))).finish(job["msg_id"]))

    threads = [threading.Thread(target=finish) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(done is not None for done in finished) == 1
    assert mass.finish(job["msg_id"]) is None


# --- previews ------------------------------------------------------------------------------------


def test_previews_go_to_a_wechat_id_100_a_day_and_publish_nothing(
    client: FlaskClient, clock: list[float], token: str, thumb: str
) -> None:
    media_id = draft(client, token, thumb, "预览稿")
    body = {"towxname": "zbs_leader", "mpnews": {"media_id": media_id}, "msgtype": "mpnews"}
    first = call(client, "message/mass/preview", body, token)
    assert first["errcode"] == 0 and first["errmsg"] == "preview success" and isinstance(first["msg_id"], int)
    for _n in range(99):
        assert call(client, "message/mass/preview", body, token)["errcode"] == 0
    over = call(client, "message/mass/preview", body, token)
    assert over["errcode"] == 45009
    # nothing was published or sent: no job, the draft stays, the day's mass send is still there
    assert call(client, "message/mass/get", {"msg_id": first["msg_id"]}, token)["errcode"] == 40007
    assert "还没有群发消息" in client.get(f"{PREFIX}/mass").get_data(as_text=True)
    assert sendall(client, token, media_id, "hy-1")["errcode"] == 0
    clock[0] = shanghai(2026, 12, 2, 0, 0)
    other = draft(client, token, thumb)
    latest = call(client, "message/mass/preview", {**body, "mpnews": {"media_id": other}}, token)
    assert latest["errcode"] == 0
    for wxid in ("13800138000", "ab", "张三丰的号"):
        assert call(client, "message/mass/preview", {**body, "towxname": wxid}, token)["errcode"] == 40132
    assert call(client, "message/mass/preview", {**body, "mpnews": {"media_id": "x"}}, token)["errcode"] == 40007

    listing = client.get(f"{PREFIX}/previews").get_data(as_text=True)
    assert "微信号 zbs_leader 收到的预览" in listing and "预览稿" in listing
    opened = client.get(f"{PREFIX}/previews/{latest['msg_id']}")
    assert opened.status_code == 200 and "预览，仅 zbs_leader 可见" in opened.get_data(as_text=True)
    assert "情况说明：经核实" in html.unescape(opened.get_data(as_text=True))
    # the viewer keeps the latest 100 previews: the first of the 101 is forgotten
    assert client.get(f"{PREFIX}/previews/{first['msg_id']}").status_code == 404


# --- drafts ---------------------------------------------------------------------------------------


def test_drafts_keep_the_comment_settings_for_the_articles(client: FlaskClient, token: str, thumb: str) -> None:
    articles = [article(thumb, need_open_comment=1, only_fans_can_comment=1), article(thumb, title="第二篇")]
    del articles[1]["need_open_comment"], articles[1]["only_fans_can_comment"]
    media_id = call(client, "draft/add", {"articles": articles}, token)["media_id"]
    first, second = call(client, "draft/get", {"media_id": media_id}, token)["news_item"]
    assert (first["need_open_comment"], first["only_fans_can_comment"]) == (1, 1)
    assert (second["need_open_comment"], second["only_fans_can_comment"]) == (0, 0)
    assert call(client, "draft/add", {"articles": [article(thumb)] * 9}, token)["errcode"] == 45008
    assert "media_id" in call(client, "draft/add", {"articles": [article(thumb)] * 8}, token)


# --- the follower's view --------------------------------------------------------------------------


@pytest.mark.parametrize("sandbox_config", [{"WECHAT_SANDBOX_PUBLISH_DELAY": 5, "WECHAT_ACCOUNT_TYPE": "service"}])
def test_the_chat_shows_each_mass_send_as_a_card(
    app: Flask, client: FlaskClient, clock: list[float], token: str, thumb: str
) -> None:
    sent = sendall(client, token, draft(client, token, thumb, "头条说明", "次条说明", "三条说明"), "hy-1")
    clock[0] += 5
    call(client, "message/mass/delete", {"msg_id": sent["msg_id"], "article_idx": 3}, token)
    sending = sendall(client, token, draft(client, token, thumb, "正在发送的说明"), "hy-2")
    client.post(f"{PREFIX}/_mass/protection", json={"on": True})
    waiting = sendall(client, token, draft(client, token, thumb, "等待确认的说明"), "hy-3")

    page = client.get(f"{PREFIX}/mass")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "form-action 'self'" in page.headers["Content-Security-Policy"]
    assert text.index("头条说明") < text.index("正在发送的说明") < text.index("等待确认的说明")  # newest last
    assert "已发送" in text and "发送中" in text and "待手机确认" in text
    assert "送达 1280 / 1280 人" in text and "送达 0 / 1280 人" in text
    assert "本期群发：已用 3 / 4 次" in text and "群发保护：已开启" in text
    card = text[text.index(f'id="msg-{sent["msg_id"]}"'):text.index(f'id="msg-{sending["msg_id"]}"')]
    assert card.count('class="row') == 2 and 'class="row deleted"' in card and "已删除" in card
    assert f'href="{PREFIX}/s?__biz=' in card and card.count("href=") == 2  # the deleted one links nowhere
    assert f"/_mass/{waiting['msg_id']}/confirm" in text and f"/_mass/{sending['msg_id']}/confirm" not in text

    reader = sign_in(app, "drafter")  # anyone signed in sees the chat; only an admin gets the phone's buttons
    seen = reader.get(f"{PREFIX}/mass").get_data(as_text=True)
    assert "待手机确认" in seen and "/_mass/" not in seen
    for path in ("/mass", "/previews", "/previews/1000000001"):
        assert app.test_client().get(f"{PREFIX}{path}").status_code == 302, path
    assert 'aria-current="page">群发消息' in seen and "预览" in reader.get(f"{PREFIX}/").get_data(as_text=True)
    english = reader.get(f"{PREFIX}/mass", query_string={"lang": "en"}).get_data(as_text=True)
    assert "Awaiting confirmation on the phone" in english and "Delivered to 1280 of 1280 followers" in english


@pytest.mark.parametrize("sandbox_config", [{"WECHAT_SANDBOX_MASS_PROTECTION": True,
                                             "WECHAT_SANDBOX_PUBLISH_DELAY": 0}])
def test_an_admin_confirms_a_mass_send_on_a_phone(app: Flask, server: str, phone: Any) -> None:  # noqa: F811
    admin = factories.user(app, factories.unit(app, "OFFICE", "院办公室"), "admin")
    api = app.test_client()
    query = {"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET}
    token = api.get(f"{PREFIX}/cgi-bin/token", query_string=query).get_json()["access_token"]
    cover = upload(api, token, "material/add_material", image_bytes("JPEG"), type="image")["media_id"]
    sent = sendall(api, token, draft(api, token, cover, "请在手机上确认的说明", "附：答问"), "hy-phone")

    sign_in_on_a_phone(phone, server, admin.username)
    phone.goto(f"{server}{PREFIX}/mass")
    card = phone.locator(f"#msg-{sent['msg_id']}")
    assert "待手机确认" in card.inner_text()
    assert_fits_the_phone(phone)
    card.get_by_role("button", name="确认群发").click()
    phone.wait_for_url(f"{server}{PREFIX}/mass")
    assert "已发送" in phone.locator(f"#msg-{sent['msg_id']}").inner_text()
    assert_fits_the_phone(phone)
    phone.locator(f"#msg-{sent['msg_id']} a.head").click()
    phone.wait_for_url(re.compile(re.escape(f"{server}{PREFIX}/s?__biz=")))
    assert phone.frame_locator("iframe").locator("#activity-name").inner_text() == "请在手机上确认的说明"
    assert_fits_the_phone(phone)
