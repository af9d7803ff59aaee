"""The WeChat sandbox behaves like the official API: fields, token rules, errcodes, async publish."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
import requests
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from wechatpy import WeChatClient
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import WeChatClientException
from werkzeug.serving import make_server

from app import accounts
from tests import factories
from tests.conftest import SANDBOX_REDIS_URL
from tests.wechat.helpers import migrated_sqlite, sandbox_secret
from wechat.sandbox.store import FAULTS_MAX, TOKENS_KEPT, StorageFull, Store, TokenState, TooManyFaults

REDIS_URL = SANDBOX_REDIS_URL
APP_ID, SECRET = "wxsandbox000000001", sandbox_secret()
PREFIX = "/sandbox/wechat"
API = f"{PREFIX}/cgi-bin"
#: The whole app as the tests configure it (WECHAT_SANDBOX=1), its sandbox on Redis database 14, switches on.
SANDBOX = {"REDIS_URL": REDIS_URL, "WECHAT_SANDBOX_PUBLISH_DELAY": 0, "WECHAT_SANDBOX_FAULTS": True}


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated_sqlite(tmp_path_factory)


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
    """A real, small image file of the given format."""
    out = io.BytesIO()
    Image.new("RGB", size, (7, 193, 96)).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def sandbox_config() -> dict[str, Any]:
    """Per-test changes to `SANDBOX`."""
    return {}


@pytest.fixture
def app_config(sandbox_config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The app's configuration (tests/conftest.py builds the app), on a flushed Redis database 14."""
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield {**SANDBOX, **sandbox_config}
    client.flushdb()


def sign_in(app: Flask, *roles: str) -> FlaskClient:
    """A browser signed in as a new person with these roles."""
    person = factories.user(app, factories.unit(app, "OFFICE", "院办公室"), *roles)
    web = app.test_client()
    page = web.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    assert web.post("/login", data={"username": person.username, "password": factories.PASSWORD,
                                    "csrf_token": csrf}).status_code == 302
    return web


def bearer(app: Flask, *roles: str) -> dict[str, str]:
    """The Authorization header of a new person with these roles."""
    person = factories.user(app, factories.unit(app, "OFFICE", "院办公室"), *roles)
    with app.app_context():
        return {"Authorization": f"Bearer {accounts.create_token(person.username)}"}


@pytest.fixture
def admin_headers(app: Flask) -> dict[str, str]:
    return bearer(app, "admin")


@pytest.fixture
def client(app: Flask, admin_headers: dict[str, str]) -> FlaskClient:
    """An admin's browser: signed in (the viewer), with a bearer token (the switches)."""
    web = sign_in(app, "admin")
    web.environ_base["HTTP_AUTHORIZATION"] = admin_headers["Authorization"]
    return web


def call(client: FlaskClient, path: str, body: Any = None, token: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """POST a JSON body the way wechatpy does (raw bytes, no content type); the JSON answer."""
    query = {"access_token": token} if token else {}
    query.update(kwargs.pop("query", {}))
    data = kwargs.pop("data", json.dumps(body, ensure_ascii=False).encode() if body is not None else b"")
    response = client.post(f"{API}/{path}", query_string=query, data=data, **kwargs)
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture
def token(client: FlaskClient) -> str:
    answer = client.get(
        f"{API}/token", query_string={"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET}
    )
    return answer.get_json()["access_token"]


def upload(client: FlaskClient, token: str, path: str, data: bytes, **query: str) -> dict[str, Any]:
    return call(client, path, token=token, query=query, data={"media": (io.BytesIO(data), "file")})


@pytest.fixture
def thumb(client: FlaskClient, token: str) -> str:
    return upload(client, token, "material/add_material", image_bytes("JPEG"), type="image")["media_id"]


def article(thumb: str, **fields: Any) -> dict[str, Any]:
    return {
        "title": "关于网传信息的情况说明",
        "author": "办公室",
        "digest": "",
        "content": "<p>经核实，网传信息不实。</p>",
        "content_source_url": "http://huiying.test/releases/1",
        "thumb_media_id": thumb,
        "need_open_comment": 0,
        "only_fans_can_comment": 0,
        **fields,
    }


def add_draft(client: FlaskClient, token: str, thumb: str, **fields: Any) -> str:
    return call(client, "draft/add", {"articles": [article(thumb, **fields)]}, token)["media_id"]


def faults(client: FlaskClient, spec: dict[str, Any]) -> Any:
    response = client.post(f"{PREFIX}/_faults", json=spec)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


# --- tokens ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "errcode"),
    [
        ({"grant_type": "client_credential", "secret": SECRET}, 41002),
        ({"grant_type": "authorization_code", "appid": APP_ID, "secret": SECRET}, 40002),
        ({"grant_type": "client_credential", "appid": "wxother", "secret": SECRET}, 40013),
        ({"grant_type": "client_credential", "appid": APP_ID}, 41004),
        ({"grant_type": "client_credential", "appid": APP_ID, "secret": "wrong"}, 40125),
    ],
)
def test_token_refuses_bad_credentials(client: FlaskClient, query: dict[str, str], errcode: int) -> None:
    answer = client.get(f"{API}/token", query_string=query)
    assert answer.status_code == 200
    assert answer.get_json()["errcode"] == errcode


def test_token_is_issued_for_the_configured_account(client: FlaskClient) -> None:
    query = {"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET}
    first = client.get(f"{API}/token", query_string=query).get_json()
    second = client.get(f"{API}/token", query_string=query).get_json()
    assert first["expires_in"] == 7200 and len(first["access_token"]) >= 100
    assert first["access_token"] != second["access_token"]
    # Both the new token and (for five more minutes) the previous one work.
    for access_token in (first["access_token"], second["access_token"]):
        assert call(client, "draft/count", token=access_token) == {"total_count": 0}


def test_previous_token_lasts_five_minutes_then_reads_expired() -> None:
    now = [1_000_000.0]
    store = Store(redis.Redis.from_url(REDIS_URL), clock=lambda: now[0])
    store.r.flushdb()
    old, _ = store.issue_token(7200)
    new, _ = store.issue_token(7200)
    now[0] += 299
    assert store.token_state(old) is TokenState.VALID
    now[0] += 2
    assert store.token_state(old) is TokenState.EXPIRED
    assert store.token_state(new) is TokenState.VALID
    now[0] += 7200
    assert store.token_state(new) is TokenState.EXPIRED
    assert store.token_state("never-issued") is TokenState.UNKNOWN


def test_stable_token_is_stable_until_force_refresh(client: FlaskClient) -> None:
    body = {"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET}
    first = call(client, "stable_token", body)
    again = call(client, "stable_token", {**body, "force_refresh": False})
    assert again["access_token"] == first["access_token"]
    refreshed = call(client, "stable_token", {**body, "force_refresh": True})
    assert refreshed["access_token"] != first["access_token"]
    assert call(client, "draft/count", token=first["access_token"])["errcode"] == 40001
    assert call(client, "draft/count", token=refreshed["access_token"]) == {"total_count": 0}
    assert call(client, "stable_token", {**body, "secret": "wrong"})["errcode"] == 40125


def test_calls_need_a_valid_unexpired_token(client: FlaskClient, token: str) -> None:
    assert call(client, "draft/count")["errcode"] == 41001
    assert call(client, "draft/count", token="not-a-token")["errcode"] == 40001
    assert faults(client, {"path": "*", "mode": "expire_token"}) == {"ok": True, "expired": 1}
    expired = call(client, "draft/count", token=token)
    assert expired["errcode"] == 42001
    assert expired["errmsg"].startswith("access_token expired")


@pytest.mark.parametrize("sandbox_config", [{"WECHAT_SANDBOX_TOKEN_TTL": 1}])
def test_token_expires_after_its_ttl(client: FlaskClient, token: str) -> None:
    assert call(client, "draft/count", token=token) == {"total_count": 0}
    time.sleep(1.1)
    assert call(client, "draft/count", token=token)["errcode"] == 42001


def test_wrong_method_and_unknown_path(client: FlaskClient, token: str) -> None:
    assert call(client, "token", query={"appid": APP_ID})["errcode"] == 43001
    answer = client.get(f"{API}/draft/add", query_string={"access_token": token}).get_json()
    assert answer["errcode"] == 43002
    assert call(client, "no/such/api", {}, token)["errcode"] == 40066


# --- images ----------------------------------------------------------------------------


def test_uploadimg_accepts_jpg_and_png_by_content_under_1mb(client: FlaskClient, token: str) -> None:
    png = image_bytes("PNG")
    url = upload(client, token, "media/uploadimg", png)["url"]
    assert url.startswith(f"http://localhost{PREFIX}/media/") and url.endswith(".png")
    served = client.get(urlsplit(url).path)
    assert served.status_code == 200 and served.mimetype == "image/png" and served.data == png
    assert upload(client, token, "media/uploadimg", image_bytes("JPEG"))["url"].endswith(".jpg")

    assert upload(client, token, "media/uploadimg", image_bytes("GIF"))["errcode"] == 40005
    assert upload(client, token, "media/uploadimg", b"<svg></svg>")["errcode"] == 40005
    too_big = png + b"\0" * (1024 * 1024)
    assert upload(client, token, "media/uploadimg", too_big)["errcode"] == 40009
    assert call(client, "media/uploadimg", token=token, data={"other": (io.BytesIO(png), "x.png")})["errcode"] == 41005


def test_add_material_keeps_permanent_images(client: FlaskClient, token: str) -> None:
    answer = upload(client, token, "material/add_material", image_bytes("GIF"), type="image")
    assert set(answer) == {"media_id", "url"} and answer["url"].endswith(".gif")
    assert client.get(urlsplit(answer["url"]).path).mimetype == "image/gif"
    assert upload(client, token, "material/add_material", image_bytes("PNG"), type="voice")["errcode"] == 40004
    assert upload(client, token, "material/add_material", b"plain text", type="image")["errcode"] == 40005


# --- what the sandbox keeps is bounded ---------------------------------------------------


def stored_bytes() -> int:
    return Store(redis.Redis.from_url(REDIS_URL)).stored_bytes()


@pytest.mark.parametrize("sandbox_config", [{"WECHAT_SANDBOX_MAX_CALL_BYTES": 4096}])
def test_a_call_over_the_per_call_limit_is_refused_and_nothing_is_kept(
    client: FlaskClient, token: str, thumb: str
) -> None:
    kept = stored_bytes()
    big = image_bytes("PNG") + b"\0" * 8192  # a PNG by its leading bytes, under the platform's own limits
    for path, query in (("material/add_material", {"type": "image"}), ("media/uploadimg", {})):
        answer = upload(client, token, path, big, **query)
        assert answer["errcode"] == 45001 and "at most 4096 bytes per call" in answer["errmsg"], answer
    long_text = "<p>" + "经核实，网传信息不实。" * 300 + "</p>"  # 10,800 bytes of UTF-8, under 20,000 characters
    assert call(client, "draft/add", {"articles": [article(thumb, content=long_text)]}, token)["errcode"] == 45001
    assert call(client, "draft/count", token=token) == {"total_count": 0}
    assert stored_bytes() == kept


@pytest.mark.parametrize("sandbox_config", [{"WECHAT_SANDBOX_MAX_BYTES": 20_000}])
def test_the_sandbox_keeps_at_most_its_total_and_says_when_it_is_full(client: FlaskClient, token: str) -> None:
    cover = upload(client, token, "material/add_material", image_bytes("JPEG"), type="image")["media_id"]
    padded = image_bytes("PNG") + b"\0" * 6000
    answers = [upload(client, token, "media/uploadimg", padded) for _ in range(4)]
    assert [("url" in a) for a in answers] == [True, True, True, False]
    assert answers[3]["errcode"] == 45001 and "at most 20000 bytes in all" in answers[3]["errmsg"]
    assert stored_bytes() <= 20_000
    refused = call(client, "draft/add", {"articles": [article(cover, content="<p>" + "字" * 1000 + "</p>")]}, token)
    assert refused["errcode"] == 45001 and call(client, "draft/count", token=token) == {"total_count": 0}


def test_a_deleted_draft_no_longer_counts() -> None:
    store = Store(redis.Redis.from_url(REDIS_URL), max_bytes=10_000)
    store.r.flushdb()
    media_id = store.add_draft([{"title": "说明", "content": "<p>" + "字" * 3000 + "</p>"}])
    assert 9000 < store.stored_bytes() <= 10_000
    with pytest.raises(StorageFull):
        store.add_draft([{"title": "说明", "content": "<p>" + "字" * 300 + "</p>"}])
    assert store.delete_draft(media_id) and store.stored_bytes() == 0
    store.add_draft([{"title": "说明", "content": "<p>" + "字" * 300 + "</p>"}])


def test_remembered_tokens_and_armed_faults_are_capped() -> None:
    store = Store(redis.Redis.from_url(REDIS_URL))
    store.r.flushdb()
    first, _ = store.issue_token(7200)
    for _ in range(TOKENS_KEPT + 20):
        latest, _ = store.issue_token(7200)
    assert len(list(store.r.scan_iter(match=Store.key("token", "*"), count=1000))) == TOKENS_KEPT
    assert store.token_state(first) is TokenState.UNKNOWN and store.token_state(latest) is TokenState.VALID
    for _ in range(FAULTS_MAX):
        store.add_fault({"mode": "errcode", "path": "*", "errcode": -1}, 1)
    with pytest.raises(TooManyFaults):
        store.add_fault({"mode": "errcode", "path": "*", "errcode": -1}, 1)


# --- drafts ----------------------------------------------------------------------------


def test_draft_add_get_list_count_delete(client: FlaskClient, token: str, thumb: str) -> None:
    media_id = add_draft(client, token, thumb)
    draft = call(client, "draft/get", {"media_id": media_id}, token)
    (item,) = draft["news_item"]
    assert item["title"] == "关于网传信息的情况说明"
    assert item["thumb_media_id"] == thumb and item["thumb_url"].startswith("http://localhost/")
    assert item["digest"] == "经核实，网传信息不实。"  # empty digest: the text's first 54 characters
    assert call(client, "draft/count", token=token) == {"total_count": 1}

    listed = call(client, "draft/batchget", {"offset": 0, "count": 20, "no_content": 1}, token)
    assert listed["total_count"] == listed["item_count"] == 1
    assert listed["item"][0]["media_id"] == media_id
    assert "content" not in listed["item"][0]["content"]["news_item"][0]

    assert call(client, "draft/delete", {"media_id": media_id}, token) == {"errcode": 0, "errmsg": "ok"}
    assert call(client, "draft/get", {"media_id": media_id}, token)["errcode"] == 40007
    assert call(client, "draft/delete", {"media_id": media_id}, token)["errcode"] == 40007


@pytest.mark.parametrize(
    ("fields", "errcode"),
    [
        ({"title": "标" * 33}, 45003),
        ({"digest": "摘" * 129}, 45004),
        ({"content": "x" * 20_000}, 45002),
        ({"content": ""}, 44004),
        ({"thumb_media_id": "unknown-media-id"}, 40007),
    ],
)
def test_draft_add_enforces_the_official_limits(
    client: FlaskClient, token: str, thumb: str, fields: dict[str, Any], errcode: int
) -> None:
    answer = call(client, "draft/add", {"articles": [article(thumb, **fields)]}, token)
    assert answer["errcode"] == errcode
    assert call(client, "draft/count", token=token) == {"total_count": 0}


def test_draft_add_at_the_limits_is_accepted(client: FlaskClient, token: str, thumb: str) -> None:
    fields = {"title": "标" * 32, "digest": "摘" * 128, "content": "x" * 19_999}
    assert "media_id" in call(client, "draft/add", {"articles": [article(thumb, **fields)]}, token)


def test_draft_add_refuses_malformed_bodies(client: FlaskClient, token: str) -> None:
    assert call(client, "draft/add", token=token)["errcode"] == 44002
    assert call(client, "draft/add", token=token, data=b"{not json")["errcode"] == 47001
    assert call(client, "draft/add", {"articles": []}, token)["errcode"] == 44003


# --- publishing ------------------------------------------------------------------------


@pytest.mark.parametrize("sandbox_config", [{"WECHAT_SANDBOX_PUBLISH_DELAY": 0.4}])
def test_publish_is_asynchronous_and_consumes_the_draft(client: FlaskClient, token: str, thumb: str) -> None:
    media_id = add_draft(client, token, thumb)
    submitted = call(client, "freepublish/submit", {"media_id": media_id}, token)
    assert submitted["errcode"] == 0 and submitted["errmsg"] == "ok"
    assert isinstance(submitted["publish_id"], str) and isinstance(submitted["msg_data_id"], int)
    publish_id = submitted["publish_id"]

    assert call(client, "freepublish/get", {"publish_id": publish_id}, token)["publish_status"] == 1
    assert call(client, "freepublish/batchget", {"offset": 0, "count": 20}, token)["total_count"] == 0
    # The draft left the draft box: submitting it again cannot publish twice.
    assert call(client, "draft/get", {"media_id": media_id}, token)["errcode"] == 40007
    assert call(client, "freepublish/submit", {"media_id": media_id}, token)["errcode"] == 40007

    time.sleep(0.45)
    done = call(client, "freepublish/get", {"publish_id": publish_id}, token)
    assert done["publish_status"] == 0 and done["fail_idx"] == []
    article_id = done["article_id"]
    assert done["article_detail"]["count"] == 1
    (detail,) = done["article_detail"]["item"]
    assert detail["idx"] == 1 and detail["article_url"] == f"http://localhost{PREFIX}/articles/{article_id}"

    (item,) = call(client, "freepublish/getarticle", {"article_id": article_id}, token)["news_item"]
    assert item["url"] == detail["article_url"] and item["is_deleted"] is False
    listed = call(client, "freepublish/batchget", {"offset": 0, "count": 20}, token)
    assert listed["total_count"] == 1 and listed["item"][0]["article_id"] == article_id

    assert call(client, "freepublish/get", {"publish_id": "1"}, token)["errcode"] == 53502
    assert call(client, "freepublish/getarticle", {"article_id": "nope"}, token)["errcode"] == 53600


def test_delete_marks_the_article_deleted(client: FlaskClient, token: str, thumb: str) -> None:
    submitted = call(client, "freepublish/submit", {"media_id": add_draft(client, token, thumb)}, token)
    article_id = call(client, "freepublish/get", {"publish_id": submitted["publish_id"]}, token)["article_id"]
    assert client.get(f"{PREFIX}/articles/{article_id}").status_code == 200

    ok = call(client, "freepublish/delete", {"article_id": article_id, "index": 0}, token)
    assert ok == {"errcode": 0, "errmsg": "ok"}
    (item,) = call(client, "freepublish/getarticle", {"article_id": article_id}, token)["news_item"]
    assert item["is_deleted"] is True
    assert call(client, "freepublish/batchget", {"offset": 0, "count": 20}, token)["total_count"] == 0
    assert call(client, "freepublish/get", {"publish_id": submitted["publish_id"]}, token)["publish_status"] == 5
    assert client.get(f"{PREFIX}/articles/{article_id}").status_code == 410
    assert call(client, "freepublish/delete", {"article_id": "nope"}, token)["errcode"] == 53600


def test_publish_status_fault_ends_the_next_publish_rejected(client: FlaskClient, token: str, thumb: str) -> None:
    faults(client, {"publish_status": 4, "times": 1})
    rejected = call(client, "freepublish/submit", {"media_id": add_draft(client, token, thumb)}, token)
    status = call(client, "freepublish/get", {"publish_id": rejected["publish_id"]}, token)
    assert status == {"publish_id": rejected["publish_id"], "publish_status": 4, "fail_idx": [1]}
    assert call(client, "freepublish/batchget", {"offset": 0, "count": 20}, token)["total_count"] == 0

    fine = call(client, "freepublish/submit", {"media_id": add_draft(client, token, thumb)}, token)
    assert call(client, "freepublish/get", {"publish_id": fine["publish_id"]}, token)["publish_status"] == 0


# --- fault switch and call log ---------------------------------------------------------


def test_errcode_fault_fires_the_armed_number_of_times(client: FlaskClient, token: str, thumb: str) -> None:
    media_id = add_draft(client, token, thumb)
    client.delete(f"{PREFIX}/_calls")
    armed = faults(client, {"path": "freepublish/submit", "errcode": 45009, "times": 1})
    assert armed["times"] == 1 and armed["mode"] == "errcode"

    refused = call(client, "freepublish/submit", {"media_id": media_id}, token)
    assert refused["errcode"] == 45009 and refused["errmsg"].startswith("reach max api daily quota limit")
    assert call(client, "draft/get", {"media_id": media_id}, token)["news_item"]  # untouched
    assert call(client, "freepublish/submit", {"media_id": media_id}, token)["errcode"] == 0

    log = client.get(f"{PREFIX}/_calls").get_json()
    submits = [entry for entry in log if entry["path"] == "freepublish/submit"]
    assert [entry["errcode"] for entry in submits] == [45009, 0]
    assert client.get(f"{PREFIX}/_faults").get_json() == []


def test_wildcard_fault_and_clearing(client: FlaskClient, token: str) -> None:
    faults(client, {"path": "*", "errcode": -1, "times": 5})
    assert call(client, "draft/count", token=token)["errcode"] == -1
    assert client.get(f"{PREFIX}/_faults").get_json()[0]["times"] == 4
    assert client.delete(f"{PREFIX}/_faults").status_code == 200
    assert call(client, "draft/count", token=token) == {"total_count": 0}


def test_http500_fault_answers_without_acting(client: FlaskClient, token: str, thumb: str) -> None:
    media_id = add_draft(client, token, thumb)
    faults(client, {"path": "freepublish/submit", "mode": "http500", "times": 1})
    answer = client.post(f"{API}/freepublish/submit", query_string={"access_token": token}, json={"media_id": media_id})
    assert answer.status_code == 500
    assert call(client, "draft/count", token=token) == {"total_count": 1}


def test_delay_fault_acts_then_answers_late(client: FlaskClient, token: str, thumb: str) -> None:
    media_id = add_draft(client, token, thumb)
    faults(client, {"path": "freepublish/submit", "mode": "delay", "seconds": 0.5, "times": 1})
    started = time.monotonic()
    submitted = call(client, "freepublish/submit", {"media_id": media_id}, token)
    assert time.monotonic() - started >= 0.5
    assert submitted["errcode"] == 0
    assert call(client, "draft/count", token=token) == {"total_count": 0}


def test_faults_count_down_atomically_across_concurrent_callers() -> None:
    store = Store(redis.Redis.from_url(REDIS_URL))
    store.r.flushdb()
    store.add_fault({"mode": "errcode", "path": "draft/add", "errcode": -1}, times=3)
    fired: list[bool] = []

    def take() -> None:
        fired.append(store.take_fault("draft/add", frozenset({"errcode"})) is not None)

    workers = [threading.Thread(target=take) for _ in range(12)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert fired.count(True) == 3
    assert store.faults() == []


@pytest.mark.parametrize(
    "spec",
    [
        {"path": "draft/nope", "errcode": 45009},
        {"path": "draft/add"},
        {"path": "draft/add", "errcode": 45009, "times": 0},
        {"path": "draft/add", "mode": "delay"},
        {"publish_status": 1},
        {"path": "draft/add", "mode": "explode"},
    ],
)
def test_bad_fault_specs_are_refused(client: FlaskClient, spec: dict[str, Any]) -> None:
    response = client.post(f"{PREFIX}/_faults", json=spec)
    assert response.status_code == 400 and response.get_json()["error"]


@pytest.mark.parametrize("sandbox_config", [{"WECHAT_SANDBOX_FAULTS": False}])
def test_switches_are_absent_when_disabled(client: FlaskClient) -> None:
    assert client.post(f"{PREFIX}/_faults", json={"path": "*", "errcode": -1}).status_code == 404
    assert client.get(f"{PREFIX}/_calls").status_code == 404


# --- the PUBLISHJOBFINISH event --------------------------------------------------------


class Receiver:
    """A tiny developer server that records every POST it gets."""

    def __init__(self) -> None:
        received: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                received.put((query, self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"success")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/wechat/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


def _plain_signature(query: dict[str, str], token: str) -> str:
    return hashlib.sha1("".join(sorted([token, query["timestamp"], query["nonce"]])).encode()).hexdigest()


def test_publish_pushes_a_signed_event(
    app: Flask, client: FlaskClient, token: str, thumb: str, receiver: Receiver
) -> None:
    app.config.update(WECHAT_SANDBOX_CALLBACK_URL=receiver.url, WECHAT_TOKEN="callback-token")
    submitted = call(client, "freepublish/submit", {"media_id": add_draft(client, token, thumb)}, token)

    query, body = receiver.received.get(timeout=5)
    assert query["signature"] == _plain_signature(query, "callback-token")
    assert "encrypt_type" not in query
    xml = body.decode()
    assert "<Event><![CDATA[PUBLISHJOBFINISH]]></Event>" in xml
    assert "<MsgType><![CDATA[event]]></MsgType>" in xml
    assert f"<publish_id>{submitted['publish_id']}</publish_id><publish_status>0</publish_status>" in xml
    article_id = call(client, "freepublish/get", {"publish_id": submitted["publish_id"]}, token)["article_id"]
    assert f"<article_id><![CDATA[{article_id}]]></article_id>" in xml
    assert (
        "<article_detail><count>1</count><item><idx>1</idx>"
        f"<article_url><![CDATA[http://localhost{PREFIX}/articles/{article_id}]]></article_url>"
    ) in xml


def test_event_is_encrypted_in_safe_mode(
    app: Flask, client: FlaskClient, token: str, thumb: str, receiver: Receiver
) -> None:
    aes_key = base64.b64encode(os.urandom(32)).decode().rstrip("=")
    app.config.update(WECHAT_SANDBOX_CALLBACK_URL=receiver.url, WECHAT_TOKEN="t0ken", WECHAT_ENCODING_AES_KEY=aes_key)
    faults(client, {"publish_status": 3})
    call(client, "freepublish/submit", {"media_id": add_draft(client, token, thumb)}, token)

    query, body = receiver.received.get(timeout=5)
    assert query["encrypt_type"] == "aes" and query["signature"] == _plain_signature(query, "t0ken")
    crypto = WeChatCrypto("t0ken", aes_key, APP_ID)
    xml = crypto.decrypt_message(body.decode(), query["msg_signature"], query["timestamp"], query["nonce"])
    assert "<publish_status>3</publish_status>" in xml and "<fail_idx>1</fail_idx>" in xml
    assert "<article_id>" not in xml


def test_lost_event_does_not_disturb_publishing(app: Flask, client: FlaskClient, token: str, thumb: str) -> None:
    app.config.update(WECHAT_SANDBOX_CALLBACK_URL="http://127.0.0.1:9/nobody-listens")
    submitted = call(client, "freepublish/submit", {"media_id": add_draft(client, token, thumb)}, token)
    assert call(client, "freepublish/get", {"publish_id": submitted["publish_id"]}, token)["publish_status"] == 0


# --- viewer ----------------------------------------------------------------------------


def test_viewer_lists_published_articles_newest_first(client: FlaskClient, token: str, thumb: str) -> None:
    assert "还没有发布的文章" in client.get(f"{PREFIX}/").get_data(as_text=True)
    for title in ("第一份说明", "第二份说明"):
        call(client, "freepublish/submit", {"media_id": add_draft(client, token, thumb, title=title)}, token)
        time.sleep(0.01)
    page = client.get(f"{PREFIX}/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'lang="zh-CN"' in html and "width=device-width" in html
    assert html.index("第二份说明") < html.index("第一份说明")
    assert "沙箱公众号" in html


def test_viewer_shows_content_where_scripts_cannot_run(client: FlaskClient, token: str, thumb: str) -> None:
    content = '<p>正文<script>alert("x")</script><img src=x onerror="alert(1)"></p>'
    submitted = call(
        client, "freepublish/submit", {"media_id": add_draft(client, token, thumb, content=content)}, token
    )
    article_id = call(client, "freepublish/get", {"publish_id": submitted["publish_id"]}, token)["article_id"]

    page = client.get(f"{PREFIX}/articles/{article_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "script-src 'none'" in page.headers["Content-Security-Policy"]
    # The body exists only inside srcdoc, escaped: no tag of it is live in the page.
    assert "<script" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=" in html
    sandbox_attr = html.split("sandbox=", 1)[1].split('"')[1]
    assert "allow-scripts" not in sandbox_attr and "allow-same-origin" not in sandbox_attr
    assert "关于网传信息的情况说明" in html and "沙箱公众号" in html
    assert client.get(f"{PREFIX}/articles/unknown").status_code == 404


# --- the production client, wechatpy, against a live sandbox ---------------------------


@pytest.fixture
def live_base(app: Flask) -> Iterator[str]:
    """The sandbox served over real HTTP on a free loopback port."""
    app.config["WECHAT_SANDBOX_PUBLISH_DELAY"] = 0.3
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}{PREFIX}"
    server.shutdown()
    thread.join(timeout=5)


def sandbox_client(base: str) -> WeChatClient:
    class SandboxClient(WeChatClient):
        API_BASE_URL = f"{base}/cgi-bin/"

        def fetch_access_token(self) -> dict[str, Any]:
            params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
            return self._fetch_access_token(url=f"{self.API_BASE_URL}token", params=params)

    return SandboxClient(APP_ID, SECRET, timeout=5)


def test_wechatpy_publishes_end_to_end(live_base: str, admin_headers: dict[str, str]) -> None:
    wx = sandbox_client(live_base)
    body_image = wx.media.upload_image(io.BytesIO(image_bytes("PNG")))
    assert body_image.startswith(f"{live_base}/media/")
    cover = wx.material.add("image", io.BytesIO(image_bytes("JPEG")))

    content = f'<p>经核实，网传信息不实。</p><p><img src="{body_image}"></p>'
    draft = wx.draft.add([{"title": "情况说明", "content": content, "thumb_media_id": cover["media_id"]}])
    assert wx.draft.count() == {"total_count": 1}
    submitted = wx.freepublish.submit(draft["media_id"])
    assert submitted["errcode"] == 0

    deadline = time.monotonic() + 5
    status = wx.freepublish.get(submitted["publish_id"])
    while status["publish_status"] == 1 and time.monotonic() < deadline:
        time.sleep(0.1)
        status = wx.freepublish.get(submitted["publish_id"])
    assert status["publish_status"] == 0
    article_id = status["article_id"]
    article_url = status["article_detail"]["item"][0]["article_url"]
    assert article_url == f"{live_base}/articles/{article_id}"

    (item,) = wx.freepublish.getarticle(article_id)["news_item"]
    assert item["content"] == content and item["thumb_url"] == cover["url"]
    assert wx.freepublish.batchget(0, 20)["item"][0]["article_id"] == article_id

    # An expired token is refreshed by the client and the call retried, as in production.
    requests.post(f"{live_base}/_faults", json={"path": "*", "mode": "expire_token"}, headers=admin_headers,
                  timeout=5)
    assert wx.freepublish.delete(article_id, 0) == {"errcode": 0, "errmsg": "ok"}
    assert wx.freepublish.getarticle(article_id)["news_item"][0]["is_deleted"] is True
    assert wx.freepublish.batchget(0, 20)["total_count"] == 0
    log = requests.get(f"{live_base}/_calls", headers=admin_headers, timeout=5).json()
    assert [entry["errcode"] for entry in log if entry["path"] == "freepublish/delete"] == [42001, 0]

    with pytest.raises(WeChatClientException) as refused:
        wx.freepublish.submit(draft["media_id"])
    assert refused.value.errcode == 40007
