"""What a new user tripped over on the intake and 转办 forms (issue 27, item 11)."""

from __future__ import annotations

import re

from flask import Flask

from tests.cases.helpers import Cast
from tests.review.test_web import Browser, section, text

FORM = {"summary": "有网民发帖", "source": "forum", "discovered_at": ""}


def checked_units(html: str) -> list[str]:
    return re.findall(r'<input type="checkbox" name="units" value="([^"]+)"[^>]*\bchecked\b', html)


def test_the_lead_unit_is_chosen_not_the_first_ticked(app: Flask) -> None:
    cast = Cast(app)
    office = Browser(app, "office")
    page = text(office.get("/cases/new"))
    assert checked_units(page) == [], "no unit is ticked for the office, its own 院办公室 least of all"
    assert re.search(r'<select[^>]*name="lead_unit"', page), "the lead unit is its own choice"
    # A comes first in the list, B is chosen to lead
    resp = office.post("/cases/new", {**FORM, "title": "论坛反映试验田焚烧秸秆", "lead_unit": "B",
                                      "units": ["A", "B"]})
    assert resp.status_code == 302, text(resp)
    case = cast.office.get(f"/cases/{resp.headers['Location'].rsplit('/', 1)[1]}").get_json()
    assert case["lead_unit"] == "B" and sorted(case["units"]) == ["A", "B"]
    # leading is concerning: a lead unit not ticked is concerned all the same
    resp = office.post("/cases/new", {**FORM, "title": "另一条舆情", "lead_unit": "A", "units": ["B"]})
    case = cast.office.get(f"/cases/{resp.headers['Location'].rsplit('/', 1)[1]}").get_json()
    assert case["lead_unit"] == "A" and sorted(case["units"]) == ["A", "B"]
    # without a lead unit the office is asked for one, beside the field
    resp = office.post("/cases/new", {**FORM, "title": "第三条", "lead_unit": "", "units": ["A"]},
                       follow_redirects=True)
    assert resp.status_code == 400 and "field-error" in re.search(
        r'<div class="field[^"]*">\s*<label for="lead_unit">.*?</div>', text(resp), re.S).group(0)
    # a drafter's own unit is offered as the lead
    drafter = text(Browser(app, "drafter_a").get("/cases/new"))
    assert re.search(r'<option value="A" selected>', drafter)


def test_a_long_title_is_refused_beside_the_field_not_cut(app: Flask) -> None:
    Cast(app)
    browser = Browser(app, "drafter_a")
    page = text(browser.get("/cases/new"))
    title_input = re.search(r'<input[^>]*id="title"[^>]*>', page).group(0)  # type: ignore[union-attr]
    assert "maxlength" not in title_input, "the browser would cut a pasted title silently"
    assert 'data-count-for="title"' in page and "/static/counter.js" in page
    long_title = "关于" + "网传某研究所试验田焚烧秸秆污染环境" * 8  # 138 characters
    assert len(long_title) == 138
    resp = browser.post("/cases/new", {**FORM, "title": long_title, "lead_unit": "A", "units": ["A"]},
                        follow_redirects=True)
    assert resp.status_code == 400
    field = re.search(r'<div class="field[^"]*">\s*<label for="title">.*?</div>', text(resp), re.S).group(0)
    assert "field-error" in field and "100" in field and "138" in field
    assert f'value="{long_title}"' in field, "what was typed is kept whole"


def test_the_assign_form_keeps_the_assisting_units_after_an_error(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("assessed")
    office = Browser(app, "office")
    resp = office.post(f"/cases/{case['id']}/assign", {"lead_unit": "A", "assisting_units": ["B"],
                                                       "note": "请核实" * 2000}, follow_redirects=True)
    assert resp.status_code == 400
    form = section(resp, "assign")
    assert "field-error" in form
    assert re.search(r'name="assisting_units" value="B"[^>]*\bchecked\b', form), "the valid choice stays ticked"


def test_the_source_link_is_a_link(app: Flask) -> None:
    cast = Cast(app)
    case = cast.case(source_url="https://weibo.com/1234/abcd")
    page = text(Browser(app, "office").get(f"/cases/{case['id']}"))
    link = re.search(r'<a [^>]*href="https://weibo.com/1234/abcd"[^>]*>', page)
    assert link is not None and 'rel="noopener noreferrer' in link.group(0)
