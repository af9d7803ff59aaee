"""Plain words for officials, and the result of an action on screen (issue 11, "finish the workflow").

Hashes, attempt counts and channel ids sit in a folded 技术信息 section; after an action the flash message or
the form's error scrolls into view on a phone; the expert's reason for sending a text back heads the
drafter's page.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from tests.factories import Office
from tests.publishing.helpers import drain
from tests.review.test_browser import PHONE, assert_fits_the_phone, phone, sign_in  # noqa: F401
from tests.review.test_web import Browser

LONG_BODY = "\n\n".join(f"第{i}段：经核实，网传信息不实，特此说明。" * 3 for i in range(1, 25))


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


def unfolded(page: str) -> str:
    """What a page shows before anything is unfolded: the text outside every <details class="tech">."""
    page = re.sub(r'<details class="tech">.*?</details>', " ", page, flags=re.S)
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_hashes_attempts_and_ids_are_folded_under_technical_details(app: Flask, office: Office) -> None:
    st = office.approved(channels=["portal"])
    drain(app)
    page = Browser(app, office.leader.user.username).get(f"/statements/{st['id']}").get_data(as_text=True)
    shown = unfolded(page)
    assert st["revision"]["hash"][:12] not in shown and "尝试" not in shown
    assert "已发布" in shown and page.count('<details class="tech">') >= 3
    tech = " ".join(re.findall(r'<details class="tech">.*?</details>', page, flags=re.S))
    assert st["revision"]["hash"] in tech and "已尝试 1 次" in tech and "投递编号" in tech
    desk = Browser(app, office.office.user.username).get("/desk").get_data(as_text=True)
    assert not re.search(r"\bportal\b", unfolded(desk))


def test_the_reason_for_sending_back_heads_the_drafters_page(app: Flask, office: Office) -> None:
    st = office.submitted()
    assert office.review(office.expert, st, "expert", "request_changes", "第二段的日期需核实").status_code == 201
    page = Browser(app, office.drafter.user.username).get(f"/statements/{st['id']}").get_data(as_text=True)
    assert page.index('id="sent-back"') < page.index('id="text"')
    notice = page[page.index('id="sent-back"'):]
    assert "退回修改意见" in notice[:500] and "第二段的日期需核实" in notice[:800]


def in_view(page: Any, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + min(box["height"], 40) <= PHONE["height"]


@pytest.mark.browser
def test_the_result_of_an_action_is_on_screen_on_a_phone(app: Flask, office: Office, phone: Any,  # noqa: F811
                                                         server: str) -> None:
    st = office.submitted(body=LONG_BODY)
    sign_in(phone, server, office.expert.user.username)
    phone.goto(f"{server}/statements/{st['id']}")
    phone.locator("#review button[value='request_changes']").click()  # no comment: refused
    phone.wait_for_url(f"{server}/statements/{st['id']}")
    phone.wait_for_timeout(300)
    assert in_view(phone, "#review .form-error"), "the refusal is scrolled into view"
    assert phone.evaluate("document.activeElement.id") == "comment"
    phone.fill("#comment", "第二段的日期需核实")
    phone.locator("#review button[value='request_changes']").click()
    phone.wait_for_url(f"{server}/statements/{st['id']}")
    phone.wait_for_timeout(300)
    assert in_view(phone, ".flashes") and "已退回修改" in phone.locator(".flashes").inner_text()
    assert_fits_the_phone(phone)
    phone.context.clear_cookies()
    sign_in(phone, server, office.drafter.user.username)
    phone.goto(f"{server}/statements/{st['id']}")
    assert in_view(phone, "#sent-back") and "第二段的日期需核实" in phone.locator("#sent-back").inner_text()
    assert_fits_the_phone(phone)
