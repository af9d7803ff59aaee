"""Checks as you type and the public verify page, in a real browser on a 390 px phone screen."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.factories import Api, Office, user
from tests.publishing.helpers import drain
from tests.review.test_browser import (  # noqa: F401  (fixtures)
    SCREENSHOT,
    assert_fits_the_phone,
    phone,
    sign_in,
)

pytestmark = pytest.mark.browser


def test_leader_name_typo_is_flagged_while_typing(app: Flask, server: str, phone: Any) -> None:  # noqa: F811
    office = Office(app, "ZBS")
    admin = Api(app, user(app, "OFFICE", "admin"))
    assert admin.put("/terms", {"leaders": [{"name": "张建国", "title": "院长"}]}).status_code == 200
    sign_in(phone, server, office.drafter.user.username)
    phone.goto(f"{server}/statements/new")
    phone.fill("#title", "关于网传信息的说明")
    phone.fill("#body", "张健国同志强调，")
    panel = phone.locator("#live-checks")
    panel.locator("li.check-warn").first.wait_for()
    assert "疑为领导姓名「张建国」之误" in panel.inner_text()
    phone.fill("#body", "当事人身份证号11010519491231002X")
    panel.locator("li.check-block").first.wait_for()
    assert "has-block" in (panel.get_attribute("class") or "")
    assert "含有居民身份证号码" in panel.inner_text()
    assert_fits_the_phone(phone)
    phone.screenshot(path=SCREENSHOT.format("live-checks"), full_page=True)


def test_verify_page_on_a_phone(app: Flask, server: str, phone: Any) -> None:  # noqa: F811
    office = Office(app, "ZBS")
    body = "经核实，网传“小麦感染新型病害”一事不实。\n\n相关地块黄化系低温冻害所致，不具有传染性。"
    st = office.approved(channels=["portal"], body=body)
    drain(app)
    phone.goto(f"{server}/releases/{st['id']}")
    assert phone.locator(".verify-qr img").evaluate("img => img.naturalWidth") > 0
    assert_fits_the_phone(phone)
    phone.goto(f"{server}/verify")
    phone.fill("#text", body.replace("不具有", "具有"))
    phone.get_by_role("button", name="核验").click()
    verdict = phone.locator("#verdict")
    assert "不一致" in verdict.inner_text() and phone.locator("#verdict del").count() >= 1
    assert_fits_the_phone(phone)
    phone.screenshot(path=SCREENSHOT.format("verify"), full_page=True)
