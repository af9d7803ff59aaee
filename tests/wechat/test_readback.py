"""Read-back of WeChat articles (interface §10) through the real worker and the live sandbox: what the account
shows is compared with what was approved; an article altered on the platform is a mismatch on the record."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask

from publishing import readback
from tests import factories
from tests.live import serving
from tests.publishing.helpers import deliveries, drain
from tests.wechat.test_client import Sandbox

BODY = "经核实，网传信息不实。\n\n相关地块黄化系低温冻害所致，不具有传染性。\n\n详见[通报](https://www.moa.gov.cn/notice)。"


@pytest.fixture
def live(app: Flask) -> Iterator[Sandbox]:
    with serving(app) as origin:
        app.config["WECHAT_SANDBOX_BASE"] = f"{origin}/sandbox/wechat"
        app.config["WECHAT_SANDBOX_CALLBACK_URL"] = f"{origin}/wechat/callback"
        yield Sandbox.on(app, app.config["WECHAT_SANDBOX_BASE"])


def published_on_wechat(app: Flask, office: factories.Office) -> dict[str, Any]:
    st = office.approved(channels=["portal", "wechat"], body=BODY)
    deadline = time.monotonic() + 15
    while deliveries(app, st["id"])["wechat"]["state"] != "published":
        assert time.monotonic() < deadline, deliveries(app, st["id"])["wechat"]["error"]
        drain(app)
        time.sleep(0.2)
    drain(app)
    return st


def wechat_delivery(office: factories.Office, st: dict[str, Any]) -> dict[str, Any]:
    st = office.drafter.get(f"/statements/{st['id']}").get_json()
    return next(d for d in st["deliveries"] if d["channel"] == "wechat")


def test_published_article_reads_back_as_a_match(app: Flask, live: Sandbox) -> None:
    office = factories.Office(app, "ZBS")
    st = published_on_wechat(app, office)
    assert wechat_delivery(office, st)["readback"]["state"] == "match"
    assert len(live.calls("freepublish/getarticle")) == 1


def test_article_altered_on_the_platform_is_a_mismatch(app: Flask, live: Sandbox) -> None:
    office = factories.Office(app, "ZBS")
    st = published_on_wechat(app, office)
    delivery = wechat_delivery(office, st)
    altered = requests.post(f"{live.base}/_alter", json={"article_id": delivery["external_id"],
                                                          "find": "不具有传染性", "replace": "具有传染性"},
                            headers=live.headers, timeout=5)
    assert altered.status_code == 200, altered.text
    with app.app_context():
        readback.enqueue(deliveries(app, st["id"])["wechat"]["id"])
    drain(app)
    result = wechat_delivery(office, st)["readback"]
    assert result["state"] == "mismatch" and result["detail"] == "−不"
    kinds = [e["kind"] for e in office.office.get("/ledger").get_json()["entries"]]
    assert kinds == ["published", "readback_mismatch"]
    notices = office.office.get("/notifications").get_json()["items"]
    assert any(n["kind"] == "readback_mismatch" for n in notices)
