"""The WeChat client against the live sandbox: one shared token, errors mapped for the outbox."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_lib
import requests
from flask import Flask
from PIL import Image

from app import accounts
from publishing.channels import PermanentError, TransientError
from tests import factories
from tests.conftest import TEST_REDIS_URL
from tests.live import serving
from tests.wechat.helpers import migrated_sqlite, sandbox_secret
from wechat import client as wechat_client
from wechat.client import WechatPermanent, WechatTransient

PREFIX = "/sandbox/wechat"


class Sandbox:
    """The sandbox's test switches, over HTTP, as an admin (interface §13)."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.base = base
        self.headers = headers

    @classmethod
    def on(cls, app: Flask, base: str) -> Sandbox:
        """The switches of `app`'s sandbox at `base`: turned on (they start off), used with a new admin's token."""
        app.config["WECHAT_SANDBOX_FAULTS"] = True
        admin = factories.user(app, factories.unit(app, "OFFICE", "院办公室"), "admin")
        with app.app_context():
            token = accounts.create_token(admin.username)
        return cls(base, {"Authorization": f"Bearer {token}"})

    def fault(self, **spec: Any) -> None:
        response = requests.post(f"{self.base}/_faults", json=spec, headers=self.headers, timeout=5)
        assert response.status_code in (200, 201), response.text

    def calls(self, path: str | None = None) -> list[dict[str, Any]]:
        log = requests.get(f"{self.base}/_calls", headers=self.headers, timeout=5).json()
        return [entry for entry in log if path is None or entry["path"] == path]

    def paths(self) -> list[str]:
        return [entry["path"] for entry in self.calls()]


def png(size: tuple[int, int] = (8, 8), colour: tuple[int, int, int] = (7, 193, 96)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated_sqlite(tmp_path_factory)


@pytest.fixture
def app(app: Flask) -> Iterator[Flask]:
    """The app (tests/conftest.py: WECHAT_SANDBOX=1) on a loopback port; the client talks to its sandbox."""
    with serving(app) as origin:
        app.config["WECHAT_SANDBOX_BASE"] = f"{origin}{PREFIX}"
        yield app


@pytest.fixture
def sandbox(app: Flask) -> Sandbox:
    return Sandbox.on(app, app.config["WECHAT_SANDBOX_BASE"])


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield


def test_token_is_fetched_once_and_shared(ctx: None, sandbox: Sandbox) -> None:
    first, second = wechat_client.from_app(), wechat_client.from_app()
    assert first.draft.count() == {"total_count": 0}
    assert second.draft.count() == {"total_count": 0}
    assert first.access_token == second.access_token
    assert sandbox.paths() == ["stable_token", "draft/count", "draft/count"]


def test_workers_starting_together_fetch_one_token(app: Flask, sandbox: Sandbox) -> None:
    answers: list[Any] = []

    def worker() -> None:
        with app.app_context():
            answers.append(wechat_client.from_app().draft.count())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert answers == [{"total_count": 0}] * 8
    assert len(sandbox.calls("stable_token")) == 1


def test_expired_token_is_refreshed_once_and_the_call_retried(ctx: None, sandbox: Sandbox) -> None:
    api = wechat_client.from_app()
    api.draft.count()
    old = api.access_token
    sandbox.fault(path="*", mode="expire_token")
    assert wechat_client.from_app().draft.count() == {"total_count": 0}
    assert api.access_token != old
    assert [(c["path"], c["errcode"]) for c in sandbox.calls()] == [
        ("stable_token", 0), ("draft/count", 0), ("draft/count", 42001), ("stable_token", 0), ("draft/count", 0),
    ]


def test_a_token_refused_again_after_refresh_is_transient(ctx: None, sandbox: Sandbox) -> None:
    api = wechat_client.from_app()
    api.draft.count()
    sandbox.fault(path="draft/count", errcode=40001, times=2)
    with pytest.raises(TransientError) as caught:
        api.draft.count()
    assert caught.value.errcode == 40001  # type: ignore[attr-defined]
    # The plain stable_token call handed back the refused token, so the refresh was forced.
    assert sandbox.paths() == ["stable_token", "draft/count", "draft/count", "stable_token", "stable_token",
                               "draft/count"]
    assert api.draft.count() == {"total_count": 0}


@pytest.mark.parametrize("errcode", [45009, -1])
def test_busy_platform_is_transient_and_the_next_try_works(ctx: None, sandbox: Sandbox, errcode: int) -> None:
    api = wechat_client.from_app()
    sandbox.fault(path="draft/count", errcode=errcode, times=2)
    for _ in range(2):
        with pytest.raises(WechatTransient) as caught:
            api.draft.count()
        assert caught.value.errcode == errcode
        assert str(errcode) in caught.value.reason
    assert api.draft.count() == {"total_count": 0}


def test_http_500_is_transient(ctx: None, sandbox: Sandbox) -> None:
    sandbox.fault(path="draft/count", mode="http500")
    with pytest.raises(TransientError) as caught:
        wechat_client.from_app().draft.count()
    assert "HTTP 500" in caught.value.reason


@pytest.mark.parametrize("app_config", [{"WECHAT_TIMEOUT": 1}])
def test_a_late_answer_is_a_transient_timeout(ctx: None, sandbox: Sandbox) -> None:
    sandbox.fault(path="draft/count", mode="delay", seconds=3)
    with pytest.raises(TransientError) as caught:
        wechat_client.from_app().draft.count()
    assert "1 秒未应答" in caught.value.reason


def test_nobody_listening_is_transient(app: Flask) -> None:
    app.config["WECHAT_SANDBOX_BASE"] = "http://127.0.0.1:9/sandbox/wechat"
    with app.app_context(), pytest.raises(TransientError) as caught:
        wechat_client.from_app().draft.count()
    assert "无法连接微信接口" in caught.value.reason


@pytest.mark.parametrize(("errcode", "meaning"), [(48001, "公众号未获得该接口权限"), (40007, "不合法的媒体文件 ID")])
def test_refusals_are_permanent_with_a_reason_in_chinese(
    ctx: None, sandbox: Sandbox, errcode: int, meaning: str
) -> None:
    sandbox.fault(path="freepublish/submit", errcode=errcode)
    with pytest.raises(PermanentError) as caught:
        wechat_client.from_app().freepublish.submit("some-draft")
    assert caught.value.reason.startswith(f"微信接口返回 {errcode}：{meaning}")
    assert "freepublish/submit" in caught.value.reason


def test_a_real_refusal_names_the_errcode(ctx: None) -> None:
    with pytest.raises(WechatPermanent) as caught:
        wechat_client.from_app().draft.get("no-such-draft")
    assert caught.value.errcode == 40007


def test_a_wrong_secret_is_permanent(ctx: None, sandbox: Sandbox) -> None:
    api = wechat_client.WechatClient("wxsandbox000000001", "not-the-secret", base=sandbox.base,
                                     redis_client=redis_lib.Redis.from_url(TEST_REDIS_URL))
    with pytest.raises(PermanentError) as caught:
        api.draft.count()
    assert "40125" in caught.value.reason and "AppSecret" in caught.value.reason


def test_an_upload_retried_after_a_token_error_still_sends_its_bytes(ctx: None, sandbox: Sandbox) -> None:
    api = wechat_client.from_app()
    api.draft.count()
    sandbox.fault(path="*", mode="expire_token")
    data = png((12, 12))
    url = api.upload_body_image(data, "body.png", "image/png")
    assert [c["errcode"] for c in sandbox.calls("media/uploadimg")] == [42001, 0]
    assert requests.get(url, timeout=5).content == data

    sandbox.fault(path="*", mode="expire_token")
    cover = api.add_image_material(data, "cover.png", "image/png")
    assert requests.get(cover["url"], timeout=5).content == data


def test_without_an_account_the_client_uses_the_sandbox(app: Flask) -> None:
    with app.app_context():
        # the instance's own random secret, with nothing to configure (issue 28, item 13)
        assert wechat_client.account() == ("wxsandbox000000001", sandbox_secret(), app.config["WECHAT_SANDBOX_BASE"])
        app.config.update(WECHAT_APP_ID="wx123", WECHAT_APP_SECRET="s3cret", WECHAT_API_BASE="https://api.example")
        assert wechat_client.account() == ("wx123", "s3cret", "https://api.example")
        assert wechat_client.from_app().API_BASE_URL == "https://api.example/cgi-bin/"
