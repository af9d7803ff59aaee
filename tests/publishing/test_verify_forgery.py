"""/verify must never certify a forgery, and must recognise a true copy or a true quote (issues 27 and 28,
interface §20): the exact rule as a property over the pure judgement, and the cases the probe found over HTTP."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publishing import verify as v
from tests.factories import Office
from tests.publishing.helpers import drain
from tests.publishing.test_verify import verify
from tests.review.test_evidence import png

BODY = """据测算，项目总投资300.5万元，其中省级财政补助120万元。

2026年度共完成示范推广面积3.5万亩、带动农户1200户。

1. 试验田位于郑州市;
2. 测产结果已报送省农业农村厅。
"""
TITLE = "关于示范项目经费的说明"
#: What a reader copies from /releases/{id}: no markers, Chinese punctuation as shown.
AS_SHOWN = """据测算，项目总投资300.5万元，其中省级财政补助120万元。
2026年度共完成示范推广面积3.5万亩、带动农户1200户。
试验田位于郑州市;
测产结果已报送省农业农村厅。"""


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


def publish(app: Flask, office: Office, body: str, title: str = TITLE) -> dict[str, Any]:
    st_ = office.approved(channels=["portal"], title=title, body=body)
    drain(app)
    st_ = office.drafter.get(f"/statements/{st_['id']}").get_json()
    assert st_["status"] == "published", st_
    return st_


@pytest.mark.parametrize("forged", [
    "网传消息：本项目另有隐情。\n" + AS_SHOWN,                                   # a paragraph before
    AS_SHOWN + "\n另据知情人士透露，资金已被挪用。",                              # a paragraph after
    AS_SHOWN.replace("300.5万元", "900.5万元"),                                  # a number at a line's start
    AS_SHOWN.replace("2026年度", "2025年度"),
    AS_SHOWN.replace("3.5万亩", "35万亩"),                                       # punctuation inside a line
    AS_SHOWN + "\n[1]: http://evil.example/真相",                                # a link-reference line
    AS_SHOWN + "\n<!-- 另有隐情 -->",                                            # an HTML comment
    BODY + "\n[1]: http://evil.example/",                                         # the same, on the source
    BODY + "<!-- x -->",
    BODY.replace("300.5", "900.5"),
])
def test_a_forgery_is_never_authentic(app: Flask, office: Office, forged: str) -> None:
    st_ = publish(app, office, BODY)
    assert verify(app, AS_SHOWN).get_json()["verdict"] == "authentic"
    answer = verify(app, forged).get_json()
    assert answer["verdict"] == "modified", answer
    assert answer["statement_id"] == st_["id"] and answer["differences"], answer


def test_differences_carry_context(app: Flask, office: Office) -> None:
    publish(app, office, BODY)
    answer = verify(app, AS_SHOWN.replace("300.5万元", "900.5万元")).get_json()
    (deleted,) = [d for d in answer["differences"] if d["type"] == "deleted"]
    (inserted,) = [d for d in answer["differences"] if d["type"] == "inserted"]
    assert deleted["text"] == "3" and inserted["text"] == "9"
    assert deleted["before"] == "据测算,项目总投资" and deleted["after"] == "00.5万元,其中省"
    client = app.test_client()
    from tests.publishing.test_verify import _csrf

    html = client.post("/verify", data={"text": AS_SHOWN.replace("300.5万元", "900.5万元"),
                                        "csrf_token": _csrf(client)}).get_data(as_text=True)
    assert "据测算,项目总投资</span><del>3</del><ins>9</ins><span class=\"ctx\">00.5万元" in html


def test_a_true_quote_is_an_excerpt(app: Flask, office: Office) -> None:
    st_ = publish(app, office, BODY)
    answer = verify(app, "2026年度共完成示范推广面积3.5万亩、带动农户1200户。").get_json()
    assert answer["verdict"] == "excerpt" and answer["statement_id"] == st_["id"], answer
    assert answer["differences"] == [] and 0 < answer["similarity"] < 1
    client = app.test_client()
    from tests.publishing.test_verify import _csrf

    html = client.post("/verify", data={"text": "试验田位于郑州市;测产结果已报送省农业农村厅。",
                                        "csrf_token": _csrf(client)}).get_data(as_text=True)
    assert "verdict-excerpt" in html and "摘录" in html
    assert f"记录第 {st_['ledger_seq']} 号" in html  # ledger seqs are 记录第 N 号 everywhere (issue 27.13)
    # a quote with one word changed is not a quote
    assert verify(app, "2026年度共完成示范推广面积3.5万亩、带动农户2200户。").get_json()["verdict"] != "excerpt"


def test_a_true_copy_of_a_statement_with_an_image(app: Flask, office: Office) -> None:
    """Issue 27.1: pasted as the release page shows it (caption included, alt text or not) it is authentic."""
    answer = office.drafter.client.post("/api/v1/images", headers=office.drafter.headers,
                                        data={"file": (io.BytesIO(png()), "wheat.png")})
    assert answer.status_code == 201, answer.get_json()
    url = answer.get_json()["url"]
    body = "田间调查情况如下。\n\n![小麦长势](" + url + ")\n*图1 小麦返青期长势*\n\n- 苗情总体正常\n- 无新型病害\n"
    st_ = publish(app, office, body)
    page = app.test_client().get(f"/releases/{st_['id']}").get_data(as_text=True)
    assert "图1 小麦返青期长势" in page
    for copy in ("田间调查情况如下。\n图1 小麦返青期长势\n苗情总体正常\n无新型病害",
                 "田间调查情况如下。\n小麦长势\n图1 小麦返青期长势\n• 苗情总体正常\n• 无新型病害",
                 body):
        answer = verify(app, copy).get_json()
        assert answer["verdict"] == "authentic", (copy, answer)
    answer = verify(app, "田间调查情况如下。\n苗情总体正常\n无新型病害").get_json()
    assert answer["verdict"] == "modified", answer  # the caption is text a reader reads


def test_a_retracted_statement_shows_no_changes(app: Flask, office: Office) -> None:
    st_ = publish(app, office, BODY)
    assert office.leader.post(f"/statements/{st_['id']}/retract", {"reason": "数据有误"}).status_code == 200
    drain(app)
    answer = verify(app, AS_SHOWN.replace("300.5", "900.5")).get_json()
    assert answer["verdict"] == "retracted" and answer["differences"] == [], answer
    client = app.test_client()
    from tests.publishing.test_verify import _csrf

    html = client.post("/verify", data={"text": AS_SHOWN.replace("300.5", "900.5"),
                                        "csrf_token": _csrf(client)}).get_data(as_text=True)
    assert "verdict-retracted" in html and "改动之处" not in html


# --- the rule as a property ----------------------------------------------------------------------------------

FORM = v.statement_form(BODY)
SHOWN = v.normalize(AS_SHOWN)
TITLE_N = v.normalize(TITLE)
SOURCE = v.normalize(BODY)
#: Characters a forger types: CJK, digits, ASCII and Chinese punctuation, Markdown and HTML syntax.
ALPHABET = st.sampled_from(list("的是不了人我在有他这中大来上国个到说们为子和你地出道也时年0123456789.,;:!?-+*_#"
                                "[]()<>/`~|=，。、；：！？“”（）《》—…·") + ["\n", " ", "<!--", "-->", "[1]: "])
EDIT = st.lists(ALPHABET, min_size=1, max_size=6).map("".join)


def exact(text: str) -> bool:
    match = v.judge(v.normalize(text), FORM, TITLE_N, SOURCE)
    return match is not None and match.rank == v.EXACT


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.floats(min_value=0, max_value=1), insert=EDIT, cut=st.integers(min_value=0, max_value=8),
       base=st.sampled_from([AS_SHOWN, BODY]))
def test_property_no_insertion_deletion_or_change_is_authentic(position: float, insert: str, cut: int,
                                                               base: str) -> None:
    """Any insertion, deletion or change of a published text (in what a reader reads) never answers authentic."""
    at = int(position * len(base))
    for edited in (base[:at] + insert + base[at:], base[:at] + base[at + cut:], base[:at] + insert + base[at + cut:]):
        changed = v.normalize(edited) not in (v.normalize(base), TITLE_N + v.normalize(base))
        if changed and exact(edited):
            # the only edits that may stay authentic: a list marker or alt text where the statement has one
            assert v.normalize(edited) in _faithful_copies(), edited


def _faithful_copies() -> set[str]:
    """The finite set of exact forms of BODY as the rule allows them (markers present or not, title or not)."""
    bare = v.bare(FORM)
    with_markers = v.full(FORM)
    one = bare.replace("测产", "2.测产")
    other = bare.replace("试验田", "1.试验田")
    forms = {bare, with_markers, one, other, SOURCE}
    for marker in (".", ",", ")"):
        forms.add(bare.replace("试验田", f"1{marker}试验田"))
        forms.add(bare.replace("测产", f"2{marker}测产"))
        forms.add(bare.replace("试验田", f"1{marker}试验田").replace("测产", f"2{marker}测产"))
        for second in (".", ",", ")"):
            forms.add(bare.replace("试验田", f"1{marker}试验田").replace("测产", f"2{second}测产"))
    return forms | {TITLE_N + f for f in forms}
