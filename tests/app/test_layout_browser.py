"""Layout a new user tripped over (issue 27, item 14), measured in Debian's chromium: the phone menu folds behind
a 菜单 button that works from the keyboard; report tables keep their first column readable at 390 px; the
period picker does not wrap 单位 or 统计 at 1366 px; /record keeps 发布 on one line and its hex folded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.reports.helpers import known_register
from tests.review.test_browser import open_menu, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}

# How many lines a piece of text takes on screen: its text's line boxes, merged by their vertical position.
TEXT_LINES = """el => {
  const range = document.createRange(); range.selectNodeContents(el);
  return new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top))).size;
}"""


@pytest.fixture
def pages(browser: Any) -> Iterator[dict[str, Any]]:
    contexts = {name: browser.new_context(viewport=size, locale="zh-CN", timezone_id="Asia/Shanghai")
                for name, size in (("phone", PHONE), ("desktop", DESKTOP))}
    for context in contexts.values():
        context.set_default_timeout(15_000)
    try:
        yield {name: context.new_page() for name, context in contexts.items()}
    finally:
        for context in contexts.values():
            context.close()


def test_the_phone_menu_folds_behind_a_keyboard_button(app: Flask, server: str, pages: dict[str, Any]) -> None:
    known_register(app)
    phone, desktop = pages["phone"], pages["desktop"]
    sign_in(phone, server, "admin")  # the longest menu: 11 links, the inbox and 退出
    header = phone.locator(".site-header").bounding_box()
    assert header is not None and header["height"] <= 110, f"the header takes {header['height']} of 844 px"
    nav = phone.get_by_role("navigation", name="主导航")
    assert not nav.is_visible()
    toggle = phone.get_by_role("button", name="菜单")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.focus()
    phone.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "true" and nav.is_visible()
    phone.keyboard.press("Escape")
    assert not nav.is_visible() and toggle.get_attribute("aria-expanded") == "false"
    open_menu(phone)
    nav.get_by_role("link", name="舆情台账").click()
    phone.wait_for_url(f"{server}/cases")
    assert not nav.is_visible(), "a new page starts folded"

    sign_in(desktop, server, "admin")
    assert not desktop.locator(".menu-toggle").is_visible()
    assert desktop.get_by_role("navigation", name="主导航").get_by_role("link", name="舆情台账").is_visible()


def test_report_tables_the_period_picker_and_the_record_read_on_one_line(
        app: Flask, server: str, pages: dict[str, Any]) -> None:
    known_register(app)
    phone, desktop = pages["phone"], pages["desktop"]
    period = "/reports?period=custom&from=2026-09-01&to=2026-10-31"
    sign_in(phone, server, "office")
    phone.goto(server + period)
    first_cells = phone.locator("table.figures-table tbody td:first-child")
    assert first_cells.count() > 0
    for cell in first_cells.all():
        assert cell.evaluate(TEXT_LINES) <= 2, f"«{cell.inner_text()}» is squeezed at 390 px"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    sign_in(desktop, server, "office")
    desktop.goto(server + period)
    assert desktop.locator("label[for=unit]").evaluate(TEXT_LINES) == 1, "单位 stands on one line"
    assert desktop.get_by_role("button", name="统计").evaluate(TEXT_LINES) == 1, "统计 is not split"

    phone.goto(f"{server}/record")
    kinds = phone.locator("table.record tr td:nth-child(2)")
    assert kinds.count() > 0
    for kind in kinds.all():
        assert kind.evaluate(TEXT_LINES) == 1, f"«{kind.inner_text()}» wraps"
    assert not phone.locator("#checkpoint code").first.is_visible(), "the list comes first, the hex is folded"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
