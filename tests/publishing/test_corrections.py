"""A correction is marked as one on every channel and page (issue 11, bug 6).

Before: the WeChat article of a correction carried no notice, /releases listed two identical titles, the
correction's draft did not say what it corrected and /record's `corrected` entry linked nowhere. Now each
says 更正说明 and names the original (原文), as Chinese government sites do.
"""

from __future__ import annotations

import html
import re
import time
from typing import Any

import pytest
from flask import Flask

from tests.factories import Office
from tests.publishing.helpers import deliveries, drain
from tests.publishing.test_pages import login
from tests.review.test_browser import assert_fits_the_phone, phone, sign_in  # noqa: F401

TITLE = "关于网传小麦品种问题的回应"


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


def settle(app: Flask, statement_id: int, channels: tuple[str, ...]) -> None:
    deadline = time.monotonic() + 20
    while any(deliveries(app, statement_id)[c]["state"] != "published" for c in channels):
        assert time.monotonic() < deadline, deliveries(app, statement_id)
        drain(app)
        time.sleep(0.2)


def corrected(app: Flask, office: Office, channels: tuple[str, ...] = ("portal",)
              ) -> tuple[dict[str, Any], dict[str, Any]]:
    """An original, published; its correction drafted, approved and published."""
    st = office.approved(channels=list(channels))
    settle(app, st["id"], channels)
    fix = office.drafter.post(f"/statements/{st['id']}/correct").get_json()
    office.drafter.put(f"/statements/{fix['id']}", {"body": "经核实，网传信息不实。检测批次应为 2026-11。"})
    fix = office.drafter.post(f"/statements/{fix['id']}/submit").get_json()
    assert office.review(office.expert, fix, "expert").status_code == 201
    assert office.review(office.leader, fix, "leader").status_code == 201
    settle(app, fix["id"], channels)
    return st, fix


def plain(page: str) -> str:
    """The text of a page, the sandbox viewer's article frame (an escaped srcdoc) included."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(page)))


def test_the_correction_draft_says_what_it_corrects(app: Flask, office: Office) -> None:
    st = office.approved(channels=["portal"])
    drain(app)
    fix = office.drafter.post(f"/statements/{st['id']}/correct").get_json()
    web = login(app, office.drafter.user.username)
    for path in (f"/statements/{fix['id']}", f"/statements/{fix['id']}/edit"):
        page = web.get(path).get_data(as_text=True)
        notice = page[page.index('id="corrects"'):]
        notice = notice[:notice.index("</div>")]
        assert "更正说明" in notice and f"《{TITLE}》的更正" in notice
        assert f'href="/statements/{st["id"]}"' in notice and f'href="/releases/{st["id"]}"' in notice


def test_public_pages_mark_the_correction_and_the_original(app: Flask, office: Office) -> None:
    st, fix = corrected(app, office)
    public = app.test_client()
    listing = plain(public.get("/releases").get_data(as_text=True))
    assert f"[更正] {TITLE}" in listing and "更正说明：更正" in listing and f"发布的《{TITLE}》" in listing
    assert "已更正， 以更正后的内容为准" in listing or "已更正，以更正后的内容为准" in listing
    page = public.get(f"/releases/{fix['id']}").get_data(as_text=True)
    assert "更正说明" in page and f"/releases/{st['id']}" in page and "原文" in page
    original = public.get(f"/releases/{st['id']}").get_data(as_text=True)
    assert "以更正后的内容为准" in original and f"/releases/{fix['id']}" in original
    record = public.get("/record").get_data(as_text=True)
    row = record[record.index(">更正</td>"):]
    row = row[:row.index("</tr>")]
    assert f'href="/releases/{st["id"]}"' in row and f'href="/releases/{fix["id"]}"' in row
    feed = public.get("/releases/feed.xml").get_data(as_text=True)
    assert f"<title>[更正] {TITLE}</title>" in feed and "更正说明" in feed


def test_the_wechat_article_of_a_correction_opens_with_the_notice(app: Flask, office: Office, server: str) -> None:
    app.config["WECHAT_SANDBOX_BASE"] = f"{server}/sandbox/wechat"
    st, fix = corrected(app, office, ("portal", "wechat"))
    viewer = login(app, office.drafter.user.username)
    original = plain(viewer.get(deliveries(app, st["id"])["wechat"]["url"].replace(server, "")).get_data(as_text=True))
    assert "更正说明" not in original
    article = plain(viewer.get(deliveries(app, fix["id"])["wechat"]["url"].replace(server, "")).get_data(as_text=True))
    assert "更正说明" in article and f"发布的《{TITLE}》的更正，以本文为准" in article and "原文" in article
    assert article.index("更正说明") < article.index("检测批次应为 2026-11")
    # the read-back still finds the approved text whole
    assert deliveries(app, fix["id"])["wechat"]["error"] is None


@pytest.mark.browser
def test_corrections_are_marked_on_a_phone(app: Flask, office: Office, phone: Any, server: str  # noqa: F811
                                           ) -> None:
    app.config["WECHAT_SANDBOX_BASE"] = f"{server}/sandbox/wechat"
    st, fix = corrected(app, office, ("portal", "wechat"))
    phone.goto(f"{server}/releases")
    items = phone.locator("ul.list li")
    assert items.count() == 2
    assert items.nth(0).inner_text().startswith("[更正]") and "更正说明" in items.nth(0).inner_text()
    assert "已更正" in items.nth(1).inner_text()
    assert_fits_the_phone(phone)
    phone.goto(f"{server}/record")
    phone.locator("table.record").get_by_role("link", name=TITLE).first.click()
    assert re.search(r"/releases/\d+$", phone.url)
    sign_in(phone, server, office.drafter.user.username)
    phone.goto(deliveries(app, fix["id"])["wechat"]["url"])
    assert "更正说明" in phone.frame_locator(".frame").locator("body").inner_text()
    assert_fits_the_phone(phone)
