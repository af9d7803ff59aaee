"""Mass send on a phone (issue 19): a drafter chooses 群发 in the editor and sees the quota line, the leader
reads "群发（今日名额：剩 1）" in the release plan and asks for a preview on their phone — Debian's chromium at
390 px, the real pages and scripts."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from playwright.sync_api import expect

from app.extensions import db
from review.models import Statement
from tests.factories import Office
from tests.review.test_browser import SCREENSHOT, assert_fits_the_phone, phone, sign_in  # noqa: F401 (phone: a fixture)


def test_a_drafter_chooses_mass_send_and_the_leader_sees_the_quota(app: Flask, server: str,
                                                                   phone: Any) -> None:  # noqa: F811
    office = Office(app, "ZBS")
    sign_in(phone, server, office.drafter.user.username)
    phone.goto(f"{server}/statements/new")
    mode = phone.locator("#wechat-mode")
    expect(mode).to_be_visible()
    expect(mode).to_contain_text("推送给全部粉丝，占用今日群发名额（今日剩 1 次）")
    expect(mode).to_contain_text("不推送给粉丝，不占群发名额")
    assert_fits_the_phone(phone)
    phone.uncheck('input[name="channels"][value="wechat"]')
    expect(mode).to_be_hidden()  # nothing to choose without WeChat
    phone.check('input[name="channels"][value="wechat"]')
    expect(mode).to_be_visible()
    phone.check("#wechat-mode-mass")
    phone.fill("#title", "关于网传小麦品种问题的回应")
    phone.fill("#body", "经核实，网传信息不实。")
    phone.get_by_role("button", name="保存", exact=True).click()
    phone.wait_for_url(re.compile(rf"{server}/statements/\d+$"))
    statement_id = int(phone.url.rsplit("/", 1)[1])
    expect(phone.locator(".facts")).to_contain_text("群发（今日名额：剩 1）")
    assert_fits_the_phone(phone)
    with app.app_context():
        st = db.session.get(Statement, statement_id)
        assert st is not None and (st.wechat_mode, st.comments_open) == ("mass_send", True)

    st_json = office.drafter.post(f"/statements/{statement_id}/submit").get_json()
    assert office.review(office.expert, st_json, "expert").status_code == 201
    phone.context.clear_cookies()
    sign_in(phone, server, office.leader.user.username)
    phone.goto(f"{server}/statements/{statement_id}")
    plan = phone.locator("#release-plan")
    expect(plan.locator(".wechat-mode-fact")).to_have_text("群发（今日名额：剩 1）")
    assert_fits_the_phone(phone)
    phone.screenshot(path=SCREENSHOT.format("mass-send-plan"), full_page=True)

    # 发到我的微信预览: the leader has no WeChat ID yet, so the page asks for one, in place
    preview = plan.locator("#phone-preview")
    expect(preview.locator("#wx-towxname")).to_be_visible()
    expect(preview.get_by_role("link", name="在“我的账户”中保存")).to_have_attribute("href", "/account#wechat")
    preview.get_by_role("button", name="发到我的微信预览").click()
    expect(preview.locator(".phone-preview-result")).to_have_text("请填写微信号，或先在“我的账户”中填写自己的微信号")
    assert phone.url == f"{server}/statements/{statement_id}"  # answered without leaving the page
    assert_fits_the_phone(phone)
