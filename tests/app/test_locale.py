"""Every page in the person's language (issue 11, bug 3).

Message ids are the Simplified Chinese strings themselves; English is the one catalogue. The catalogue test
extracts every message id the code and templates use (babel.cfg, as `pybabel extract` does) and fails on any
the English catalogue lacks, leaves empty or marks fuzzy, or whose placeholders differ. The page tests look
for the English that leaked onto Chinese pages: werkzeug's error texts, raw channel names, "0 分钟前".
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from flask import Flask

from tests.factories import Office
from tests.publishing.helpers import drain
from tests.publishing.test_pages import login
from tests.review.test_browser import assert_fits_the_phone, phone, sign_in  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
ENGLISH = ROOT / "app" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
#: babel.cfg's own extraction keywords (its header), besides Babel's defaults (_, gettext, ngettext, pgettext …)
KEYWORDS = ["_l", "_lp:1c,2", "lazy_pgettext:1c,2", "_m"]  # _m: app.notifications.texts
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")
#: What werkzeug and Flask write in English when nobody translated them.
WERKZEUG = ("Not Found", "Method Not Allowed", "Forbidden", "The requested URL", "You don't have the permission",
            "The method is not allowed")


def extracted(tmp_path: Path) -> Catalog:
    pot = tmp_path / "messages.pot"
    keywords = [arg for k in KEYWORDS for arg in ("-k", k)]
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
                    *keywords, "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as f:
        return read_po(f)


def _strings(value: Any) -> list[str]:
    return list(value) if isinstance(value, (tuple, list)) else [value]


def test_the_english_catalogue_translates_every_message_id(tmp_path: Path) -> None:
    template = extracted(tmp_path)
    assert len(template) > 500, "extraction found the project's messages"
    with ENGLISH.open("rb") as f:
        english = read_po(f)
    untranslated, fuzzy, wrong = [], [], []
    for message in template:
        if not message.id:
            continue
        found = english.get(message.id, message.context)
        where = f"{message.context + ' | ' if message.context else ''}{_strings(message.id)[0]!r} " \
                f"({message.locations[0][0]}:{message.locations[0][1]})"
        if found is None or not all(_strings(found.string)):
            untranslated.append(where)
        elif found.fuzzy:
            fuzzy.append(where)
        else:
            wanted = {n for pair in PLACEHOLDER.findall(_strings(message.id)[0]) for n in pair if n}
            if any({n for pair in PLACEHOLDER.findall(s) for n in pair if n} != wanted
                   for s in _strings(found.string)):
                wrong.append(where)
    assert not untranslated, f"{len(untranslated)} message ids have no English:\n" + "\n".join(untranslated)
    assert not fuzzy, "fuzzy English entries:\n" + "\n".join(fuzzy)
    assert not wrong, "English placeholders differ from the message id's:\n" + "\n".join(wrong)


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


def words(page: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.get_data(as_text=True)))


def test_chinese_pages_carry_no_english_ui_words(app: Flask, office: Office) -> None:
    st = office.approved(channels=["portal"])
    drain(app)
    drafter = login(app, office.drafter.user.username)
    for resp, status, heading in (
        (drafter.get("/statements/999999"), 404, "找不到该页面"),
        (drafter.get("/no/such/page"), 404, "找不到该页面"),
        (drafter.get("/desk"), 403, "无权进行此操作"),
        (drafter.delete(f"/statements/{st['id']}"), 405, "不支持该操作"),
    ):
        text = words(resp)
        assert resp.status_code == status and heading in text, (status, text[:300])
        assert not [w for w in WERKZEUG if w in text], text
    desk = words(login(app, office.leader.user.username).get("/desk"))
    assert "门户网站" in desk and not re.search(r"\bportal\b|\bwechat\b", desk)
    fresh = office.submitted(title="刚提交的回应")
    home = words(login(app, office.expert.user.username).get("/"))
    assert "刚提交的回应" in home and "刚刚" in home and "0 分钟前" not in home
    assert fresh


def test_english_pages_say_retract_and_nothing_yet(app: Flask, office: Office) -> None:
    st = office.approved(channels=["portal"])
    drain(app)
    leader = login(app, office.leader.user.username)
    page = leader.get(f"/statements/{st['id']}?lang=en").get_data(as_text=True)
    summary = re.search(r'id="retract"[^>]*><summary>([^<]+)</summary>', page)
    assert summary and summary.group(1) == "Retract"
    text = words(leader.get(f"/statements/{st['id']}"))
    assert not re.search(r"\bNone\b", text), "an empty list reads as Python's None"
    assert "Nothing yet" in words(login(app, office.drafter.user.username).get("/?lang=en"))


@pytest.mark.browser
def test_a_phone_in_chinese_sees_chinese_error_pages_and_channel_names(
    app: Flask, office: Office, phone: Any, server: str  # noqa: F811
) -> None:
    office.approved(channels=["portal"])
    drain(app)
    sign_in(phone, server, office.leader.user.username)
    phone.goto(f"{server}/statements/999999")
    body = phone.locator("main").inner_text()
    assert "找不到该页面" in body and not [w for w in WERKZEUG if w in body]
    assert_fits_the_phone(phone)
    phone.goto(f"{server}/desk")
    body = phone.locator("main").inner_text()
    assert "门户网站" in body and not re.search(r"\bportal\b", body)
    assert_fits_the_phone(phone)
