"""The pages in a real browser on a phone-sized screen: Debian's chromium driven by Playwright."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from review.models import Statement
from tests.factories import PASSWORD, Office

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
SCREENSHOT = "/tmp/huiying-phone-{}.png"


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def sign_in(page: Any, server: str, username: str) -> None:
    page.goto(f"{server}/")
    assert "/login" in page.url, "pages need a signed-in person"
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{server}/")


def assert_fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"horizontal overflow on {page.url}: {width}px"


def open_menu(page: Any) -> None:
    """On a phone, tap 菜单 first, as a person does (the menu folds behind it); on a desktop it is always open."""
    toggle = page.locator(".menu-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()


def test_expert_approves_on_a_phone(app: Flask, server: str, phone: Any, office_in_review: tuple[Office, Any]) -> None:
    office, st = office_in_review
    sign_in(phone, server, office.expert.user.username)
    work = phone.locator("#work-review")
    assert "待我审核" in work.inner_text()
    assert_fits_the_phone(phone)
    phone.screenshot(path=SCREENSHOT.format("home"), full_page=True)

    work.get_by_role("link", name=re.compile("关于网传小麦品种问题的回应")).click()
    phone.wait_for_url(f"{server}/statements/{st['id']}")
    review = phone.locator("#review")
    assert st["revision"]["hash"][:12] in review.text_content()  # folded under 技术信息
    assert "经核实，网传信息不实。" in phone.locator("#text").inner_text()
    assert_fits_the_phone(phone)
    phone.screenshot(path=SCREENSHOT.format("statement"), full_page=True)

    phone.fill("#comment", "数据准确，同意。")
    review.get_by_role("button", name="同意").click()
    phone.wait_for_url(f"{server}/statements/{st['id']}")
    body = phone.locator("main").inner_text()
    assert "已同意该修订稿" in body and "待机构确认" in body
    assert phone.locator("#review").count() == 0
    assert_fits_the_phone(phone)

    with app.app_context():
        stored = db.session.get(Statement, st["id"])
        assert stored is not None and stored.pending_stage == "agency"
        decisions = [(d.stage, d.decision, d.comment) for d in stored.decisions]
        assert decisions == [("expert", "approve", "数据准确，同意。")]
    seen = office.office.get(f"/statements/{st['id']}").get_json()
    assert seen["pending_stage"] == "agency" and seen["reviews"][0]["revision_hash"] == st["revision"]["hash"]


@pytest.fixture
def office_in_review(app: Flask) -> tuple[Office, Any]:
    office = Office(app, "ZBS")
    return office, office.submitted(agencies=["河南省农业农村厅"])


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 32), (31, 58, 95)).save(buf, "PNG")
    return buf.getvalue()


def test_drafter_drafts_in_the_editor_on_a_phone(app: Flask, server: str, phone: Any) -> None:
    office = Office(app, "ZBS")
    sign_in(phone, server, office.drafter.user.username)
    open_menu(phone)
    phone.get_by_role("link", name="新建回应").click()
    phone.wait_for_url(f"{server}/statements/new")
    assert_fits_the_phone(phone)

    phone.fill("#title", "关于网传玉米种子问题的说明")
    phone.fill("#digest", "情况说明")
    phone.fill("#body", "经核实，网传信息不实。\n\n")
    phone.select_option("#priority", "urgent")
    phone.fill("#go_live_at", "2031-05-01T09:30")
    phone.fill("#agencies", "省农业农村厅")
    phone.set_input_files("#image-file", files=[{"name": "现场.png", "mimeType": "image/png", "buffer": _png()}])
    # not wait_for_function: its string predicate is eval'd in the page, which the CSP (no unsafe-eval) forbids
    expect(phone.locator("#body")).to_have_value(re.compile(r"!\[\]\(/media/"))

    phone.get_by_role("button", name="预览").click()
    preview = phone.locator("#preview")
    preview.wait_for()
    assert preview.locator("img[src^='/media/']").count() == 1
    assert_fits_the_phone(phone)
    phone.screenshot(path=SCREENSHOT.format("editor"), full_page=True)

    phone.get_by_role("button", name="保存").click()
    phone.wait_for_url(re.compile(rf"{server}/statements/\d+$"))
    assert "已保存草稿" in phone.locator("main").inner_text()
    assert phone.locator("#text img[src^='/media/']").count() == 1
    assert_fits_the_phone(phone)

    with app.app_context():
        stored = db.session.scalar(select(Statement))
        assert stored is not None and stored.current_revision is not None
        assert stored.current_revision.title == "关于网传玉米种子问题的说明"
        assert re.search(r"!\[\]\(/media/[0-9a-f]{64}\.png\)", stored.current_revision.body)
        assert stored.priority == "urgent" and stored.agencies == ["省农业农村厅"]
        assert stored.go_live_at == datetime(2031, 5, 1, 1, 30, tzinfo=UTC)
