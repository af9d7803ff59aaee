"""The statement page follows publishing live without reloading (issue 11, bug 1 and 7).

It used to reload every 3 s while anything was in flight, which wiped a retraction reason being typed and
folded the form; after a retraction the deliveries read "待发送（正在撤下）" with attempts back at 0.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask

from tests.factories import Office
from tests.publishing.helpers import drain
from tests.publishing.test_pages import login
from tests.review.test_browser import PHONE, assert_fits_the_phone, phone, sign_in  # noqa: F401


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "LIVE")


def test_the_live_block_is_json_and_the_page_never_reloads(app: Flask, office: Office) -> None:
    st = office.approved(channels=["portal"])  # queued, not yet sent: in flight
    web = login(app, office.leader.user.username)
    page = web.get(f"/statements/{st['id']}").get_data(as_text=True)
    assert "location.reload" not in page
    assert f'data-live-url="/statements/{st["id"]}/live"' in page and "live.js" in page
    live = web.get(f"/statements/{st['id']}/live").get_json()
    assert live["in_flight"] is True and live["status"] == "approved" and "待发送" in live["html"]
    drain(app)
    live = web.get(f"/statements/{st['id']}/live").get_json()
    assert live["in_flight"] is False and live["status"] == "published" and "已发布" in live["html"]
    assert live["status_label"] == "已发布"
    assert "data-live-url" not in web.get(f"/statements/{st['id']}").get_data(as_text=True)
    other = login(app, Office(app, "ELSE").drafter.user.username)
    assert other.get(f"/statements/{st['id']}/live").status_code == 403


def test_retraction_is_told_in_plain_words(app: Flask, office: Office) -> None:
    out = office.approved(channels=["portal"], body="经核实，网传信息不实。（一）")
    drain(app)
    never = office.approved(channels=["portal"], body="经核实，网传信息不实。（二）")
    for st in (out, never):
        assert office.leader.post(f"/statements/{st['id']}/retract", {"reason": "数据有误"}).status_code == 200
    web = login(app, office.leader.user.username)
    taking_down = web.get(f"/statements/{out['id']}").get_data(as_text=True)
    assert "等待撤下" in taking_down and "撤下尚未开始" in taking_down and "待发送" not in taking_down
    assert "未发出，已取消" in web.get(f"/statements/{never['id']}").get_data(as_text=True)
    drain(app)
    assert "已从该渠道撤下" in web.get(f"/statements/{out['id']}").get_data(as_text=True)


@pytest.mark.browser
def test_a_retraction_reason_being_typed_survives_the_live_updates(
    app: Flask, office: Office, phone: Any, server: str  # noqa: F811
) -> None:
    st = office.approved(channels=["portal"])  # stays in flight: no worker runs
    sign_in(phone, server, office.leader.user.username)
    phone.goto(f"{server}/statements/{st['id']}")
    phone.get_by_text("撤回", exact=True).click()
    phone.fill("#reason", "标题中的日期有误，撤回后更正")
    time.sleep(7.5)  # two live updates
    assert phone.input_value("#reason") == "标题中的日期有误，撤回后更正"
    assert phone.locator("details.action-form").first.evaluate("d => d.open")
    assert_fits_the_phone(phone)
    drain(app)
    from playwright.sync_api import expect

    expect(phone.locator("[data-live-status]")).to_contain_text("已发布", timeout=15_000)  # patched, not reloaded
    assert phone.input_value("#reason") == "标题中的日期有误，撤回后更正"
