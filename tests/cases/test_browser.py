"""A case from intake to a published answer, as people do it on their phones: Debian's chromium through Playwright.

The office registers, assesses and hands the case over; the lead unit's drafter accepts it and drafts the
answer from the case page; an expert and a leader approve it on the statement page; the real release worker
publishes it; the case then reads 已回应 with its clock met, and the drafter's inbox holds what they were told.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.timeutil import SHANGHAI
from cases.models import Case
from review.models import Statement
from tests.cases.helpers import Cast
from tests.factories import PASSWORD
from tests.publishing.helpers import drain
from tests.review.test_browser import open_menu

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TITLE = "网传某品种小麦种子发芽率低"
ANSWER = "关于小麦种子发芽率问题的说明"


class Phones:
    """One phone (browser context: its own cookies) per person, signed in on first use."""

    def __init__(self, browser: Any, server: str) -> None:
        self.browser, self.server = browser, server
        self.contexts: list[Any] = []

    def of(self, username: str) -> Any:
        context = self.browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                           locale="zh-CN", timezone_id="Asia/Shanghai")
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = context.new_page()
        page.goto(f"{self.server}/")
        assert "/login" in page.url, "pages need a signed-in person"
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{self.server}/")
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def phones(browser: Any, server: str) -> Iterator[Phones]:
    held = Phones(browser, server)
    try:
        yield held
    finally:
        held.close()


def fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"horizontal overflow on {page.url}: {width}px"


def flashed(page: Any) -> str:
    return str(page.locator(".flashes").inner_text())


def status_of(page: Any) -> str:
    return str(page.locator("main .meta-block .status").inner_text()).strip()


def test_a_case_from_intake_to_a_published_answer_on_phones(app: Flask, server: str, phones: Phones,
                                                           tmp_path: Path) -> None:
    cast = Cast(app)

    # 院办公室 registers the case from the register, on the intake form
    office = phones.of("office")
    open_menu(office)  # on a phone the menu folds behind 菜单
    office.get_by_role("navigation").get_by_role("link", name="舆情台账").click()
    office.wait_for_url(f"{server}/cases")
    fits_the_phone(office)
    office.locator("main").get_by_role("link", name="登记舆情").click()
    office.wait_for_url(f"{server}/cases/new")
    fits_the_phone(office)
    discovered = (datetime.now(SHANGHAI) - timedelta(hours=1)).replace(second=0, microsecond=0)
    office.fill("#title", TITLE)
    office.fill("#summary", "微博用户称在某农资店购买的小麦种子发芽率不足五成，转发两千余次。")
    office.select_option("#source", "weibo")
    office.fill("#source_url", "https://weibo.com/1234567890/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789")
    office.fill("#discovered_at", discovered.strftime("%Y-%m-%dT%H:%M"))
    assert office.locator("#title-counter").inner_text() == f"{len(TITLE)} / 100 字"  # counted as typed
    office.select_option("#lead_unit", "A")  # nothing is chosen for the office: the lead unit is its choice
    fits_the_phone(office)
    office.get_by_role("button", name="登记").click()
    office.wait_for_url(re.compile(rf"{server}/cases/\d+$"))
    case_id = int(office.url.rsplit("/", 1)[1])
    case_url = f"{server}/cases/{case_id}"
    assert "已登记舆情" in flashed(office)
    assert status_of(office) == "已登记"
    assert "植物保护研究所" in office.locator("#facts").inner_text()
    fits_the_phone(office)

    # assesses it 重大 (level 2), which sets its clocks from the discovery time
    assess = office.locator("#assess")
    assess.locator("input[name=level][value='2']").check()
    office.fill("#rationale", "涉及种子质量和农民切身利益，传播较快。")
    assess.locator("input[name=must_respond]").check()
    assess.get_by_role("button", name="保存研判").click()
    office.wait_for_url(case_url)
    assert "已保存" in flashed(office)
    assert status_of(office) == "已研判"
    assert office.locator("main .meta-block .badge.level-2").inner_text() == "重大"
    clocks = office.locator("#deadlines")
    assert "发布权威信息" in clocks.inner_text() and "召开新闻发布会" in clocks.inner_text()
    fits_the_phone(office)

    # and hands it to unit A
    assign = office.locator("#assign")
    office.select_option("#lead_unit", "A")
    office.fill("#assign-note", "请植保所牵头核实并及时回应。")
    assign.get_by_role("button", name="转办").click()
    office.wait_for_url(case_url)
    assert status_of(office) == "已转办"
    assert "牵头 植物保护研究所" in office.locator("#timeline").inner_text()  # the unit's name, not its code
    fits_the_phone(office)

    # the unit's drafter (a spokesperson) finds it under 我的工作 and accepts it
    drafter = phones.of(cast.drafter.user.username)
    waiting = drafter.locator("#work-cases")
    assert "待我处置的舆情" in waiting.inner_text()
    fits_the_phone(drafter)
    waiting.get_by_role("link", name=re.compile(TITLE)).click()
    drafter.wait_for_url(case_url)
    responsible = drafter.locator("#responsible").inner_text()
    assert "0371-65711111" in responsible and "drafter_a" in responsible
    fits_the_phone(drafter)
    drafter.locator("#accept").get_by_role("button", name="受理").click()
    drafter.wait_for_url(case_url)
    assert status_of(drafter) == "处置中"
    assert drafter.locator("#accept").count() == 0

    # 起草回应 opens the editor with the case and its urgency filled in
    drafter.get_by_role("link", name="起草回应").click()
    drafter.wait_for_url(re.compile(rf"{server}/statements/new\?"))
    assert drafter.input_value("#case_ids") == str(case_id)
    assert drafter.input_value("#priority") == "urgent"
    assert drafter.locator("#priority option:checked").inner_text().strip() == "特急"
    assert TITLE in drafter.locator("main form.editor").inner_text()  # the linked case is named under the field
    fits_the_phone(drafter)
    drafter.fill("#title", ANSWER)
    drafter.fill("#digest", "经核实，相关种子质量合格。")
    drafter.fill("#body", "经核实，网传信息不实。该品种小麦种子经省种子站抽检，发芽率符合国家标准。\n")
    drafter.uncheck("input[name=channels][value=wechat]")  # no WeChat sandbox in this test: the portal only
    drafter.get_by_role("button", name="保存", exact=True).click()
    drafter.wait_for_url(re.compile(rf"{server}/statements/\d+$"))
    statement_id = int(drafter.url.rsplit("/", 1)[1])
    statement_url = f"{server}/statements/{statement_id}"
    assert "已保存草稿" in flashed(drafter)
    assert drafter.locator("main .meta-block .badge-urgent").inner_text() == "特急"
    fits_the_phone(drafter)
    drafter.get_by_role("button", name="提交审核").click()
    drafter.wait_for_url(statement_url)
    assert "已提交审核" in flashed(drafter)

    # an expert, then a leader, approve the text on the statement page
    for username in (cast["expert", cast.a].user.username, cast.leader.user.username):
        reviewer = phones.of(username)
        reviewer.goto(statement_url)
        review = reviewer.locator("#review")
        assert "经核实，网传信息不实。" in reviewer.locator("#text").inner_text()
        fits_the_phone(reviewer)
        reviewer.fill("#comment", "同意。")
        if username == cast.leader.user.username:  # the leader confirms what goes out, where and when
            assert "门户网站" in reviewer.locator("#release-plan").inner_text()
            review.locator("#confirm-release").check()
        review.get_by_role("button", name="同意").click()
        reviewer.wait_for_url(statement_url)
        leader = username == cast.leader.user.username
        assert ("已批准，正在发布" if leader else "已同意该修订稿") in flashed(reviewer)
        assert reviewer.locator("#review").count() == 0
    with app.app_context():
        st = db.session.get(Statement, statement_id)
        assert st is not None and st.status == "approved" and st.priority == "urgent"
        assert st.channels == ["portal"] and st.case_ids == [case_id]

    # the release worker publishes it; the case counts it as its response at the ledger entry's time
    drain(app)
    with app.app_context():
        st = db.session.get(Statement, statement_id)
        assert st is not None and st.status == "published"
        case = db.session.scalar(select(Case).where(Case.id == case_id))
        assert case is not None and case.status == "responded"

    office.goto(case_url)
    assert status_of(office) == "已回应"
    release = office.locator("#deadlines li.clock", has_text="发布权威信息")
    assert "clock-met" in (release.get_attribute("class") or "")
    assert release.locator(".countdown-met").inner_text().startswith("按时完成")
    press = office.locator("#deadlines li.clock", has_text="召开新闻发布会")  # only a press conference meets it
    assert "clock-met" not in (press.get_attribute("class") or "")
    answers = office.locator("#responses").inner_text()
    assert f"#{statement_id} {ANSWER}" in answers and "已发布" in answers
    timeline = office.locator("#timeline").inner_text()
    assert "关联回应稿" in timeline and "回应" in timeline
    fits_the_phone(office)
    office.screenshot(path=str(tmp_path / "case.png"), full_page=True)

    office.goto(f"{server}/cases?status=responded")
    listed = office.locator("ul.cases")
    assert TITLE in listed.inner_text() and "已回应" in listed.inner_text()
    fits_the_phone(office)

    # the lead unit's drafter was told of the hand-over and of the publication
    open_menu(drafter)  # the phone's menu folds behind 菜单
    drafter.get_by_role("navigation").get_by_role("link", name=re.compile("收件箱")).click()
    drafter.wait_for_url(f"{server}/inbox")
    inbox = drafter.locator("ul.inbox").inner_text()
    assert f"【转办】{TITLE}：请植物保护研究所牵头处置" in inbox
    assert f"已发布：{ANSWER}" in inbox
    fits_the_phone(drafter)
