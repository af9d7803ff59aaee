"""The register pages as people use them on a phone: list, intake, the case page and its forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask

from tests.cases.helpers import Cast
from tests.review.test_web import Browser, section, text


def test_intake_form_registers_and_redirects_to_the_case(app: Flask) -> None:
    cast = Cast(app)
    browser = Browser(app, "drafter_a")
    page = browser.get("/cases/new")
    assert page.status_code == 200 and 'name="title"' in text(page)
    resp = browser.post("/cases/new", {"title": "论坛反映试验田焚烧秸秆", "summary": "有网民发帖", "source": "forum",
                                       "source_url": "https://bbs.example.cn/t/1", "discovered_at": "",
                                       "units": ["A"]})
    assert resp.status_code == 302
    case_page = browser.get(resp.headers["Location"])
    body = text(case_page)
    assert "论坛反映试验田焚烧秸秆" in body and "0371-65711111" in body  # whom to call
    assert 'href="https://bbs.example.cn/t/1"' in body  # never fetched by the server, but a link for people
    assert cast.office.get("/cases").get_json()["total"] == 1


def test_intake_errors_stand_beside_their_fields_and_keep_what_was_typed(app: Flask) -> None:
    Cast(app)
    browser = Browser(app, "drafter_a")
    future = (datetime.now(UTC) + timedelta(days=1)).astimezone().strftime("%Y-%m-%dT%H:%M")
    resp = browser.post("/cases/new", {"title": "标题保留", "source": "forum", "source_url": "ftp://x",
                                       "discovered_at": future, "units": ["A"]}, follow_redirects=True)
    assert resp.status_code == 400
    body = text(resp)
    assert "标题保留" in body
    assert body.count('class="field-error"') == 2
    assert "http://" in body  # the link's message


def test_case_page_shows_the_clock_and_only_the_forms_a_person_may_use(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("assigned", discovered_at=(datetime.now(UTC) - timedelta(hours=40)).isoformat())
    office = Browser(app, "office")
    page = office.get(f"/cases/{case['id']}")
    assert "countdown-red" in text(page)  # 40 of 48 hours gone
    assert section(page, "assign") and section(page, "assess") and not section(page, "accept")
    drafter = Browser(app, "drafter_a")
    page = drafter.get(f"/cases/{case['id']}")
    assert section(page, "accept") and not section(page, "assign") and not section(page, "assess")
    assert f"/statements/new?unit=A&amp;priority=normal&amp;case_id={case['id']}" in page.get_data(as_text=True)
    resp = drafter.post(f"/cases/{case['id']}/accept", {"note": "已受理"})
    assert resp.status_code == 302
    resp = drafter.post(f"/cases/{case['id']}/feedback", {"note": ""}, follow_redirects=True)
    assert resp.status_code == 400 and 'class="field-error"' in section(resp, "feedback")
    resp = drafter.post(f"/cases/{case['id']}/respond", {"form": "press_conference", "held_at": "", "note": "x"},
                        follow_redirects=True)
    assert resp.status_code == 400 and "field-error" in section(resp, "respond")
    held = (datetime.now(UTC) - timedelta(hours=1)).astimezone().strftime("%Y-%m-%dT%H:%M")
    resp = drafter.post(f"/cases/{case['id']}/respond", {"form": "press_conference", "held_at": held})
    assert resp.status_code == 302
    assert cast.office.get(f"/cases/{case['id']}").get_json()["status"] == "responded"
    english = text(drafter.get(f"/cases/{case['id']}?lang=en"))
    assert "Whom to call" in english and "Timeline" in english and "Press conference" in english
    other = Browser(app, "expert_b")
    assert other.get(f"/cases/{case['id']}").status_code == 200  # B assists
    assert not section(other.get(f"/cases/{case['id']}"), "feedback")


def test_register_page_filters_and_colours(app: Flask) -> None:
    cast = Cast(app)
    late = cast.case(title="已超时的舆情", discovered_at=(datetime.now(UTC) - timedelta(hours=50)).isoformat())
    cast.office.post(f"/cases/{late['id']}/assessment", {"level": 3, "rationale": "较大"})
    fresh = cast.case(title="刚发现的舆情")
    cast.office.post(f"/cases/{fresh['id']}/assessment", {"level": 4, "rationale": "一般"})
    browser = Browser(app, "office")
    page = text(browser.get("/cases"))
    assert "clock-overdue" in page and "clock-green" in page
    page = text(browser.get("/cases?overdue=true"))
    assert "已超时的舆情" in page and "刚发现的舆情" not in page
    resp = browser.get("/cases?level=7")
    assert resp.status_code == 400 and "field-error" in text(resp)
    assert browser.get("/cases?lang=en").status_code == 200
