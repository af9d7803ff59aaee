"""The leader sees what goes where before one confirmed tap (issue 11, bug 8).

The leader's 同意 used to publish at once, with the expert and agency records below the buttons: now the
approval shows, above its buttons, the text, the channels and the time it will go out, the records it rests
on and the pre-publication checks, and it goes out only with the confirmation ticked.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from tests.factories import Office
from tests.review.test_browser import assert_fits_the_phone, phone, sign_in  # noqa: F401
from tests.review.test_web import Browser, text


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


def at_leader(office: Office, **fields: Any) -> dict[str, Any]:
    st = office.submitted(agencies=["省林业局"], **fields)
    assert office.review(office.expert, st, "expert", comment="数据已核对").status_code == 201
    resp = office.drafter.post(f"/statements/{st['id']}/confirmations", {
        "revision_hash": st["revision"]["hash"], "agency": "省林业局", "contact": "王处长", "method": "phone",
        "note": "电话确认"})
    assert resp.status_code == 201, resp.get_json()
    return st


def test_what_goes_out_where_and_when_stands_above_the_buttons(app: Flask, office: Office) -> None:
    st = at_leader(office, channels=["portal", "wechat"], go_live_at="2031-05-01T09:30:00+08:00")
    page = Browser(app, office.leader.user.username).get(f"/statements/{st['id']}").get_data(as_text=True)
    review = page[page.index('id="review"'):]
    plan = review.index('id="release-plan"')
    buttons = review.index('name="decision" value="approve"')
    assert plan < review.index('id="review-checks"') < buttons
    shown = re.sub(r"<[^>]+>", "", review[plan:buttons])
    assert "门户网站、微信公众号" in shown and "2031-05-01 09:30" in shown and "上线前可取消" in shown
    assert "关于网传小麦品种问题的回应" in shown and "情况说明" in shown
    expert = office.expert.user.username
    assert f"{expert} 同意本稿" in shown and "数据已核对" in shown
    assert "省林业局：王处长以电话确认本稿" in shown
    assert 'name="confirm_release"' in review[plan:buttons] and "我已核对以上内容，同意按上述渠道和时间发布" in shown


def test_the_approval_needs_the_confirmation(app: Flask, office: Office) -> None:
    st = at_leader(office, channels=["portal"])
    leader = Browser(app, office.leader.user.username)
    data = {"revision_hash": st["revision"]["hash"], "stage": "leader", "decision": "approve"}
    resp = leader.post(f"/statements/{st['id']}/reviews", data)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/statements/{st['id']}")
    page = leader.get(resp.headers["Location"])
    assert page.status_code == 400 and "勾选确认" in text(page)
    assert office.drafter.get(f"/statements/{st['id']}").get_json()["status"] == "in_review"
    resp = leader.post(f"/statements/{st['id']}/reviews", {**data, "confirm_release": "yes"})
    assert resp.status_code == 302
    assert office.drafter.get(f"/statements/{st['id']}").get_json()["status"] == "approved"
    # sending back needs no confirmation
    other = at_leader(office, title="另一份回应")
    resp = leader.post(f"/statements/{other['id']}/reviews", {"revision_hash": other["revision"]["hash"],
                                                              "stage": "leader", "decision": "request_changes",
                                                              "comment": "时间表述需调整"})
    assert resp.status_code == 302
    assert office.drafter.get(f"/statements/{other['id']}").get_json()["status"] == "changes_requested"


@pytest.mark.browser
def test_the_leader_confirms_in_one_step_on_a_phone(app: Flask, office: Office, phone: Any,  # noqa: F811
                                                     server: str) -> None:
    st = at_leader(office, channels=["portal", "wechat"])
    sign_in(phone, server, office.leader.user.username)
    phone.goto(f"{server}/statements/{st['id']}")
    plan = phone.locator("#release-plan")
    approve = phone.locator("#review button[value='approve']")
    assert plan.bounding_box()["y"] < approve.bounding_box()["y"]
    assert "门户网站、微信公众号" in plan.inner_text() and "同意后立即发布" in plan.inner_text()
    assert_fits_the_phone(phone)
    approve.click()  # not ticked: the browser holds the form back, nothing is sent
    phone.wait_for_timeout(500)
    assert phone.url == f"{server}/statements/{st['id']}"
    assert office.drafter.get(f"/statements/{st['id']}").get_json()["status"] == "in_review"
    phone.check("#confirm-release")
    approve.click()
    phone.wait_for_url(f"{server}/statements/{st['id']}")
    from playwright.sync_api import expect

    expect(phone.locator(".flashes")).to_contain_text("已批准，正在发布")  # what the approval set going (issue 27)
    assert office.drafter.get(f"/statements/{st['id']}").get_json()["status"] == "approved"
