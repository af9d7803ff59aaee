"""The office enters next year's holidays on a 390 px phone (issue 29: "on a phone in a minute")."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests.cases.helpers import Cast
from tests.cases.test_calendar import SPRING_FESTIVAL_2027, _assess, _due, _found_at
from tests.cases.test_clock import cst
from tests.review.test_browser import PHONE, assert_fits_the_phone, open_menu, phone  # noqa: F401
from tests.review.test_browser import sign_in as phone_sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"CASE_DEADLINES": '{"4": {"response": "5wd"}}'}


def test_the_office_enters_the_spring_festival_on_a_phone(app: Flask, server: str, phone: Any) -> None:  # noqa: F811
    cast = Cast(app)
    case_id = cast.case()["id"]
    _found_at(app, case_id, cst(2027, 2, 4, 10))
    assert _assess(cast, case_id) == cst(2027, 2, 12)
    assert PHONE["width"] == 390
    phone_sign_in(phone, server, "office")

    open_menu(phone)
    phone.get_by_role("link", name="工作日历").click()
    expect(phone.locator("h1")).to_have_text("舆情处置时限")
    assert_fits_the_phone(phone)
    phone.get_by_role("link", name="2027 年", exact=True).click()
    expect(phone.locator("#source-2027")).to_contain_text("只按周末")
    phone.fill("#calendar-text", SPRING_FESTIVAL_2027 + "2027-10-08 至 2027-10-01 国庆节")
    phone.get_by_role("button", name="保存工作日历").click()
    expect(phone.locator("#calendar .form-error")).to_contain_text("第 3 行：结束日期早于开始日期")
    assert_fits_the_phone(phone)

    phone.fill("#calendar-text", SPRING_FESTIVAL_2027 + "2027-10-01 至 2027-10-07 国庆节")
    phone.get_by_role("button", name="保存工作日历").click()
    expect(phone.locator(".flash")).to_contain_text("已保存 2027 年的工作日历；1 件舆情的时限已按新日历重新计算")
    expect(phone.locator("#source-2027")).to_contain_text("按本页录入的 16 天和周末")
    expect(phone.locator("#calendar-text")).to_have_value(SPRING_FESTIVAL_2027 + "2027-10-01 至 2027-10-07 国庆节")
    assert_fits_the_phone(phone)
    phone.screenshot(path="/tmp/huiying-phone-calendar.png", full_page=True)
    assert _due(cast, case_id) == cst(2027, 2, 18)

    phone.goto(f"{server}/cases/{case_id}")
    expect(phone.locator("#timeline")).to_contain_text("2027-02-12 00:00 → 2027-02-18 00:00")
    assert_fits_the_phone(phone)
