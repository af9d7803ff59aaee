"""English that reads as English (issue 27 item 7): 回应 the deadline is a Response, not the product's name,
and no English text carries Chinese punctuation (which a CJK font also draws full-width)."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po
from flask import Flask

from tests.app.test_locale import ENGLISH
from tests.cases.helpers import Cast
from tests.publishing.test_pages import login

CHINESE_PUNCTUATION = set("，。：；（）“”、！？《》【】")


def test_no_english_message_carries_chinese_punctuation() -> None:
    with ENGLISH.open("rb") as f:
        catalogue = read_po(f)
    found = [(m.id, s) for m in catalogue if m.id
             for s in (m.string if isinstance(m.string, (list, tuple)) else [m.string])
             if CHINESE_PUNCTUATION & set(s)]
    assert not found, "\n".join(f"{i!r} → {s!r}" for i, s in found)


def test_the_response_deadline_reads_response_in_english(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("assessed")  # level 3: one `response` clock of 48 h
    web = login(app, "office")
    register = web.get("/cases?lang=en").get_data(as_text=True)
    countdowns = re.findall(r'class="countdown[^"]*">([^<]+)<', register)
    assert countdowns and all(c.startswith("Response · ") for c in countdowns), countdowns
    assert re.search(r"<title>[^<]* · Huiying</title>", register)  # the product keeps its name, once
    page = web.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert re.search(r"<strong>Response</strong>", page) and "<strong>Huiying</strong>" not in page
    reports = web.get("/reports").get_data(as_text=True)
    assert "<td>Response</td>" in reports and "<td>Huiying</td>" not in reports
