"""The finished workflow on a 390 px phone: live channel preview, the editor's aids, stand-ins, evidence."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from app.timeutil import SHANGHAI
from tests.factories import Office
from tests.review.test_browser import PHONE, _png, assert_fits_the_phone, open_menu, sign_in
from tests.review.test_evidence import PDF

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="zh-CN")
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_typing_updates_the_wechat_preview_without_a_reload(app: Flask, server: str, phone: Any) -> None:
    office = Office(app, "ZBS")
    sign_in(phone, server, office.drafter.user.username)
    phone.goto(f"{server}/statements/new")
    phone.evaluate("window.__samePage = 'yes'")
    wechat = phone.locator("#cp-wechat")
    expect(wechat).to_be_visible()  # a phone shows the WeChat tab first
    expect(phone.locator("#cp-portal")).to_be_hidden()

    phone.fill("#title", "关于网传玉米种子问题的说明")
    phone.fill("#digest", "经核实，网传信息不实")
    phone.locator("#body").type("## 情况说明\n\n经核实，**网传信息不实**。")
    content = wechat.locator('[data-cp-html="wechat"]')
    expect(content.locator("strong")).to_have_text("网传信息不实")
    expect(content.locator("h2")).to_have_text("情况说明")
    assert "font-weight:bold" in (content.locator("strong").get_attribute("style") or ""), "WeChat's inline styles"
    expect(wechat.locator(".cp-wx-title")).to_have_text("关于网传玉米种子问题的说明")
    expect(wechat.locator(".cp-share-digest")).to_have_text("经核实，网传信息不实")
    assert phone.evaluate("window.__samePage") == "yes", "the page never reloaded"
    assert_fits_the_phone(phone)
    phone.screenshot(path="/tmp/huiying-phone-preview-wechat.png", full_page=True)

    phone.get_by_role("tab", name="门户网站").click()
    portal = phone.locator("#cp-portal")
    expect(portal).to_be_visible()
    expect(wechat).to_be_hidden()
    expect(portal.locator("strong")).to_have_text("网传信息不实")
    expect(portal.locator(".cp-site-digest")).to_have_text("经核实，网传信息不实")

    # counters against the channel limits: WeChat's 32 characters while WeChat is chosen
    phone.fill("#title", "标" * 33)
    counter = phone.locator('[data-count-for="title"]')
    expect(counter).to_contain_text("33 / 64")
    expect(counter.locator(".over")).to_have_text("微信 33 / 32 字")
    phone.locator('input[name="channels"][value="wechat"]').uncheck()
    expect(counter.locator(".over")).to_have_count(0)
    expect(phone.locator("#cp-wechat")).to_have_attribute("data-off", "")

    # a body too convoluted to render is explained, not rendered
    phone.fill("#body", "[" * 501)
    expect(phone.locator(".cp-problem")).to_contain_text("方括号")
    assert phone.evaluate("window.__samePage") == "yes"


def test_toolbar_autosave_and_the_warning_before_leaving(app: Flask, server: str, phone: Any) -> None:
    office = Office(app, "ZBS")
    st = office.draft(body="第一段")
    sign_in(phone, server, office.drafter.user.username)
    phone.goto(f"{server}/statements/{st['id']}/edit")
    body = phone.locator("#body")
    body.click()
    phone.keyboard.press("End")
    phone.keyboard.type("\n\n要点")
    phone.keyboard.press("Shift+Home")
    phone.get_by_role("button", name="加粗").click()
    expect(body).to_have_value("第一段\n\n**要点**")
    phone.get_by_role("button", name="列表", exact=True).click()
    expect(body).to_have_value("第一段\n\n- **要点**")
    phone.get_by_role("button", name="链接").click()
    phone.fill("#link-text", "通报原文")
    phone.fill("#link-url", "javascript:alert(1)")
    phone.get_by_role("button", name="插入链接").click()
    expect(phone.locator("#link-error")).to_be_visible()
    phone.fill("#link-url", "https://www.example.gov.cn/a")
    phone.get_by_role("button", name="插入链接").click()
    expect(body).to_have_value(re.compile(r"\[通报原文\]\(https://www\.example\.gov\.cn/a\)"))
    expect(phone.locator('#cp-wechat [data-cp-html="wechat"]')).to_contain_text("通报原文")

    # leaving with unsaved changes asks first; the text is kept in this browser and offered again
    dialogs: list[str] = []
    phone.on("dialog", lambda d: (dialogs.append(d.type), d.accept()))
    phone.goto(f"{server}/")
    assert dialogs == ["beforeunload"]
    phone.goto(f"{server}/statements/{st['id']}/edit")
    notice = phone.locator("#autosave")
    expect(notice).to_be_visible()
    expect(phone.locator("#body")).to_have_value("第一段")
    notice.get_by_role("button", name="恢复").click()
    expect(phone.locator("#body")).to_have_value(re.compile(r"- \*\*要点\*\*"))
    phone.get_by_role("button", name="保存").click()
    phone.wait_for_url(f"{server}/statements/{st['id']}")
    assert dialogs == ["beforeunload"], "saving is not leaving"
    saved = office.drafter.get(f"/statements/{st['id']}").get_json()
    assert "- **要点**" in saved["body"] and "https://www.example.gov.cn/a" in saved["body"]
    phone.goto(f"{server}/statements/{st['id']}/edit")
    expect(phone.locator("#body")).to_have_value(saved["body"])
    expect(phone.locator("#autosave")).to_be_hidden()


def test_stand_in_approves_as_dai_on_a_phone(app: Flask, server: str, phone: Any) -> None:
    office = Office(app, "ZBS")
    st = office.submitted()
    assert office.review(office.expert, st, "expert").status_code == 201

    sign_in(phone, server, office.leader.user.username)
    open_menu(phone)
    phone.get_by_role("link", name="代理").click()
    phone.wait_for_url(f"{server}/delegations")
    assert_fits_the_phone(phone)
    phone.select_option("#deputy", office.expert2.user.username)
    phone.select_option("#role", "leader")
    until = (datetime.now(SHANGHAI) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    phone.fill("#ends_at", until)
    phone.fill("#delegation-note", "出差")
    phone.locator("#new-delegation").get_by_role("button", name="指定代理人").click()
    phone.wait_for_url(f"{server}/delegations")
    expect(phone.locator("main")).to_contain_text("对方已收到通知")
    expect(phone.locator("#given")).to_contain_text("生效中")
    phone.context.clear_cookies()

    sign_in(phone, server, office.expert2.user.username)
    approve = phone.locator("#work-approve")
    expect(approve).to_contain_text("关于网传小麦品种问题的回应")
    approve.get_by_role("link", name=re.compile("关于网传小麦品种问题的回应")).click()
    phone.wait_for_url(f"{server}/statements/{st['id']}")
    acting = phone.locator("#on-behalf-of")
    expect(acting).to_have_value(office.leader.user.username)
    expect(acting.locator("option")).to_have_count(1)
    assert_fits_the_phone(phone)
    phone.check("#confirm-release")
    phone.locator("#review").get_by_role("button", name=re.compile("同意")).first.click()
    phone.wait_for_url(f"{server}/statements/{st['id']}")
    expect(phone.locator("#reviews")).to_contain_text(f"（代 {office.leader.user.username}）")
    stored = office.leader.get(f"/statements/{st['id']}").get_json()
    assert stored["reviews"][-1]["reviewer"] == office.expert2.user.username
    assert stored["reviews"][-1]["on_behalf_of"] == office.leader.user.username


def test_a_stand_in_never_gets_their_own_text(app: Flask, server: str, phone: Any) -> None:
    office = Office(app, "ZBS")
    ends = (datetime.now(SHANGHAI) + timedelta(days=1)).isoformat()
    resp = office.leader.post("/delegations", {"deputy": office.drafter.user.username, "role": "leader",
                                               "ends_at": ends})
    assert resp.status_code == 201
    st = office.submitted()
    assert office.review(office.expert, st, "expert").status_code == 201
    sign_in(phone, server, office.drafter.user.username)
    expect(phone.locator("#work-approve")).not_to_contain_text("关于网传小麦品种问题的回应")
    phone.goto(f"{server}/statements/{st['id']}")
    expect(phone.locator("h1")).to_have_text("关于网传小麦品种问题的回应")
    expect(phone.locator("#review")).to_have_count(0)


def test_agency_evidence_is_uploaded_from_the_phone(app: Flask, server: str, phone: Any) -> None:
    office = Office(app, "ZBS")
    st = office.submitted(agencies=["河南省农业农村厅"])
    assert office.review(office.expert, st, "expert").status_code == 201
    sign_in(phone, server, office.drafter.user.username)
    phone.goto(f"{server}/statements/{st['id']}")
    confirm = phone.locator("#confirm")
    phone.fill("#contact", "张科长")
    phone.select_option("#method", "document")
    phone.set_input_files("#evidence-file", files=[{"name": "省厅复函.pdf", "mimeType": "application/pdf",
                                                     "buffer": PDF}])
    assert_fits_the_phone(phone)
    confirm.get_by_role("button", name="记录确认").click()
    phone.wait_for_url(f"{server}/statements/{st['id']}")
    link = phone.locator("#confirmations .evidence-link")
    expect(link).to_contain_text("省厅复函.pdf")
    href = link.get_attribute("href")
    assert href and href.endswith(".pdf")
    got = phone.request.get(f"{server}{href}")
    assert got.status == 200 and got.body() == PDF
    phone.context.clear_cookies()
    sign_in(phone, server, office.leader.user.username)
    phone.goto(f"{server}/statements/{st['id']}")
    expect(phone.locator("#release-plan")).to_contain_text("省厅复函.pdf")


def test_a_saved_text_is_not_offered_again_as_a_local_copy(app: Flask, server: str, phone: Any) -> None:
    """Issue 27, item 10: the copy kept while typing goes once the save went through (no second statement)."""
    office = Office(app, "ZBS")
    sign_in(phone, server, office.drafter.user.username)
    kept = "localStorage.getItem('huiying:draft:/statements/new')"
    phone.goto(f"{server}/statements/new")
    phone.fill("#title", "关于网传玉米种子问题的说明")
    phone.fill("#body", "经核实，网传信息不实。")
    phone.wait_for_timeout(1200)  # the copy is written after a pause in typing
    assert phone.evaluate(kept), "what is typed is kept in this browser"
    phone.get_by_role("button", name="保存").click()
    phone.wait_for_url(re.compile(rf"{server}/statements/\d+$"))
    assert phone.evaluate(kept) is None
    # tomorrow, or in another tab: a new statement starts empty, with nothing offered
    other = phone.context.new_page()
    other.goto(f"{server}/statements/new")
    expect(other.locator("#body")).to_have_value("")
    expect(other.locator("#autosave")).to_be_hidden()

    # a refused save keeps the copy: the text did not arrive
    other.fill("#title", "标" * 65)
    other.fill("#body", "正文")
    other.get_by_role("button", name="保存").click()
    expect(other.get_by_role("alert").filter(has_text="输入有误")).to_be_visible()
    assert other.evaluate(kept)


def test_the_image_button_writes_markdown_with_a_caption_line(app: Flask, server: str, phone: Any) -> None:
    """Issue 27, item 17: an image with a caption is Markdown (`![说明](/media/…)` and `*图注*` beneath), not
    raw <figure> HTML, and both channels show the image with its caption."""
    office = Office(app, "ZBS")
    sign_in(phone, server, office.drafter.user.username)
    phone.goto(f"{server}/statements/new")
    phone.fill("#title", "关于网传玉米种子问题的说明")
    phone.fill("#body", "经核实，网传信息不实。")
    phone.locator("#body").press("End")
    phone.get_by_role("button", name="插入图片").click()
    phone.fill("#image-alt", "试验田")
    phone.fill("#image-caption", "图为*试验田*长势")
    phone.set_input_files("#image-file", files=[{"name": "现场.png", "mimeType": "image/png", "buffer": _png()}])
    body = phone.locator("#body")
    expect(body).to_have_value(re.compile(r"^经核实，网传信息不实。\n\n!\[试验田\]\(/media/[0-9a-f]{64}\.png\)\n"
                                          r"\*图为\\\*试验田\\\*长势\*\n\n$"))
    assert "<figure" not in body.input_value()
    wechat = phone.locator('#cp-wechat [data-cp-html="wechat"]')
    expect(wechat.locator("img[src^='/media/']")).to_have_count(1)
    expect(wechat.locator("em")).to_have_text("图为*试验田*长势")
    assert_fits_the_phone(phone)
    phone.get_by_role("button", name="保存").click()
    phone.wait_for_url(re.compile(rf"{server}/statements/\d+$"))
    st_id = int(phone.url.rsplit("/", 1)[1])
    for channel in ("portal", "wechat"):
        shown = office.drafter.get(f"/statements/{st_id}/preview?channel={channel}").get_data(as_text=True)
        assert re.search(r'<img[^>]+src="/media/[0-9a-f]{64}\.png"', shown), channel
        assert re.search(r"<em[^>]*>图为\*试验田\*长势</em>", shown), channel
        assert 'alt="试验田"' in shown, channel
