"""The admin's term lists and case deadlines, and everyone's own sessions, walked through on a 390 px phone."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests.app.test_admin import Institution
from tests.review.test_browser import PHONE, assert_fits_the_phone, open_menu, phone  # noqa: F401
from tests.review.test_browser import sign_in as phone_sign_in

pytestmark = pytest.mark.browser


def test_admin_edits_terms_and_deadlines_on_a_phone(app: Flask, server: str, phone: Any) -> None:  # noqa: F811
    inst = Institution(app)
    assert PHONE["width"] == 390
    phone_sign_in(phone, server, inst.admin.user.username)

    open_menu(phone)
    phone.get_by_role("link", name="词表").click()
    expect(phone.locator("h1")).to_have_text("词表")
    assert_fits_the_phone(phone)
    phone.fill("#sensitive", "绝密\n内部资料")
    phone.fill("#leaders", "张建国 院长")
    phone.get_by_role("button", name="保存词表").click()
    expect(phone.locator(".flash")).to_contain_text("词表已保存")
    expect(phone.locator("#sensitive")).to_have_value("绝密\n内部资料")
    assert inst.admin.get("/terms").get_json()["leaders"] == [{"name": "张建国", "title": "院长"}]
    assert_fits_the_phone(phone)

    open_menu(phone)
    phone.get_by_role("link", name="处置时限").click()
    expect(phone.locator("h1")).to_have_text("舆情处置时限")
    assert_fits_the_phone(phone)
    phone.fill("#n-1-authoritative_release", "0")
    phone.get_by_role("button", name="保存", exact=True).click()
    expect(phone.locator("#level-1 .field-error")).to_contain_text("应为 1–9999 小时或工作日")
    assert_fits_the_phone(phone)
    phone.fill("#n-1-authoritative_release", "4")
    phone.fill("#n-4-response", "5")
    phone.select_option("#u-4-response", "wd")
    phone.get_by_role("button", name="保存", exact=True).click()
    expect(phone.locator(".flash")).to_contain_text("已保存处置时限")
    expect(phone.locator("#n-4-response")).to_have_value("5")
    expect(phone.locator("#u-4-response")).to_have_value("wd")
    expect(phone.locator(".notice").first).to_contain_text("当前使用管理员的设置")
    assert_fits_the_phone(phone)
    phone.screenshot(path="/tmp/huiying-phone-deadlines.png", full_page=True)

    phone.goto(f"{server}/account")
    expect(phone.locator("#sessions")).to_contain_text("本设备")
    expect(phone.locator("#sessions")).to_contain_text("Chrome")
    assert_fits_the_phone(phone)
    phone.screenshot(path="/tmp/huiying-phone-account-sessions.png", full_page=True)
