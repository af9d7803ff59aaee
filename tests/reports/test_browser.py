"""The office reads /reports on a phone: nothing wider than the screen, the charts drawn, the picker works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.cases.test_browser import PHONE, Phones  # noqa: F401  (fixtures)
from tests.reports.helpers import known_register
from tests.review.test_browser import open_menu

pytestmark = pytest.mark.browser


@pytest.fixture
def phones(browser: Any, server: str) -> Iterator[Phones]:  # noqa: F811
    people = Phones(browser, server)
    yield people
    people.close()


def test_reports_fit_a_phone_and_the_custom_period_is_picked(app: Flask, phones: Phones, tmp_path: Path) -> None:
    known_register(app)
    page = phones.of("office")
    open_menu(page)
    page.get_by_role("link", name="督查与考核").click()
    page.fill("#from", "2026-09-01")
    page.fill("#to", "2026-09-30")
    page.get_by_role("button", name="统计").click()
    page.wait_for_url("**/reports?period=custom&from=2026-09-01&to=2026-09-30*")
    assert page.locator("svg.chart").count() == 4
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for chart in page.locator("svg.chart").all():
        box = chart.bounding_box()
        assert box is not None and box["width"] <= PHONE["width"] and box["height"] > 50
    assert page.locator(".figures li").first.inner_text().startswith("5")
    page.screenshot(path=str(tmp_path / "reports-phone.png"), full_page=True)
