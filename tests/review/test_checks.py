"""Pre-publication checks (interface §10): each code fires on what it is for, and not on its near-misses;
a `block` stops submission and the leader's approval through the API, a `warn` stops nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from review import checks
from review.checks import Draft, Lexicon
from tests.factories import Api, Office, user

LEX = Lexicon(
    sensitive=["法轮功", "六四"],
    allowed=["六四分成"],
    leaders=[{"name": "张建国", "title": "院长"}, {"name": "李明", "title": "所长"}],
    units=["植物保护研究所", "植物营养与资源环境研究所", "院办公室"],
)


def codes(app: Flask, body: str, title: str = "关于网传信息的说明", digest: str = "",
          channels: tuple[str, ...] = ("portal",)) -> list[tuple[str, str]]:
    with app.test_request_context():
        return [(f["code"], f["excerpt"]) for f in checks.run(Draft(title, digest, body, channels), LEX)]


def test_sensitive_terms_and_allowed_exceptions(app: Flask) -> None:
    assert codes(app, "有人借法轮功造谣。") == [("sensitive_term", "法轮功")]
    assert codes(app, "关于六四的传言") == [("sensitive_term", "六四")]
    # the allowed phrase covers the sensitive term inside it; elsewhere in the same text it still fires
    assert codes(app, "合同约定六四分成。") == []
    assert codes(app, "合同约定六四分成，另见六四。") == [("sensitive_term", "六四")]
    assert codes(app, "法轮", title="法轮") == []


def test_leader_name_near_misses(app: Flask) -> None:
    # a homophone of a registered leader's name
    assert codes(app, "张健国同志出席会议。") == [("leader_name", "张健国")]
    # one character off, next to the leader's own title
    assert codes(app, "张建图院长指出，") == [("leader_name", "张建图")]
    # the right name with a title that is not theirs
    assert codes(app, "张建国副院长指出，") == [("leader_name", "张建国")]
    # must not fire: the exact name and title; one character off with no title and no homophone
    assert codes(app, "张建国院长指出，院长张建国强调，") == []
    assert codes(app, "防止过度扩张建设用地。") == []
    assert codes(app, "李明所长、李铭同学") == [("leader_name", "李铭")]
    assert codes(app, "李敏同学") == []
    assert codes(app, "李白的诗") == []


def test_unit_name_near_misses(app: Flask) -> None:
    assert codes(app, "植物保护研究院专家表示") == [("unit_name", "植物保护研究院")]
    assert codes(app, "植物保户研究所专家表示") == [("unit_name", "植物保户研究所")]
    # must not fire: the registered name, and another real institute two edits away
    assert codes(app, "植物保护研究所专家表示") == []
    assert codes(app, "植物营养研究所专家表示") == []
    assert codes(app, "院办公室通知") == []


def test_traditional_characters(app: Flask) -> None:
    assert codes(app, "經核實，网传信息不实。") == [("traditional_chars", "經"), ("traditional_chars", "實")]
    # simplified words that share a form with a traditional one must not fire
    assert codes(app, "著名专家在乾坤湾考察，皇后镇干净整洁，于是返回沈阳。") == []


def test_personal_id_bank_card_and_phone(app: Flask) -> None:
    valid_id = "11010519491231002X"
    assert codes(app, f"当事人身份证号{valid_id}。") == [("personal_id", valid_id)]
    # an 18-digit number with a wrong check digit is not an ID number, and not a card either
    assert codes(app, "编号110105194912310021。") == []
    assert codes(app, "编号410105199001011234。") == []
    card = "6222020200112233446"[:-1]
    card += next(d for d in "0123456789" if checks.luhn(card + d))
    assert codes(app, f"请汇款至{card}。") == [("bank_card", card)]
    assert codes(app, f"卡号 {card[:4]} {card[4:8]} {card[8:12]} {card[12:16]} {card[16:]}")[0][0] == "bank_card"
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert codes(app, f"订单号{wrong}。") == []
    assert codes(app, "联系电话13812345678。") == [("phone_number", "13812345678")]
    assert codes(app, "咨询 138-1234-5678") == [("phone_number", "138-1234-5678")]
    # not a mobile number: a landline, a 12-digit number, a number starting 12
    assert codes(app, "电话0371-65712345，编号138123456789，流水12345678901") == []


def test_links(app: Flask) -> None:
    found = codes(app, "详见[此前说明](/releases/999)与 https://example.org/a 。")
    assert found == [("dead_internal_link", "/releases/999"), ("external_link", "https://example.org/a")]
    assert codes(app, "详见 http://huiying.test/releases/998") == [("dead_internal_link", "http://huiying.test/releases/998")]
    assert codes(app, "详见[首页](/releases)") == []


def test_raw_html_asks_for_markdown_and_does_not_block(app: Flask) -> None:
    found = codes(app, "经核实，网传消息不实。\n<b>原文</b>\n\n<figure><img src=\"/media/x.png\"></figure>")
    assert found == [("raw_html", "<b>"), ("raw_html", "</b>"),
                     ("raw_html", '<figure><img src="/media/x.png"></figure>')]
    assert codes(app, "经核实，**网传消息不实**，5 < 6。") == []
    with app.app_context():
        assert checks.SEVERITY[checks.Code.RAW_HTML] == checks.Severity.WARN


def test_wechat_limits(app: Flask) -> None:
    long_title = "关于网传某某研究所小麦新品种存在严重质量问题等多方面情况的说明与回应"
    assert len(long_title) > 32
    assert ("wechat_limit", "") in codes(app, "正文", title=long_title, channels=("portal", "wechat"))
    assert codes(app, "正文", title=long_title, channels=("portal",)) == []
    body = "经核实，网传信息不实。\n\n" * 1600
    assert codes(app, body, channels=("wechat",)) == [("wechat_limit", "")]
    assert codes(app, body[:5000], channels=("wechat",)) == []


def test_severity_defaults(app: Flask) -> None:
    with app.test_request_context():
        found = checks.run(Draft("标题", "", "联系13812345678，身份证11010519491231002X", ("portal",)), LEX)
    assert {f["code"]: f["severity"] for f in found} == {"phone_number": "warn", "personal_id": "block"}


# --- through the API ---------------------------------------------------------------------------


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


@pytest.fixture
def admin(app: Flask) -> Api:
    return Api(app, user(app, "OFFICE", "admin"))


def test_block_stops_submit_and_warn_does_not(office: Office) -> None:
    st = office.draft(body="当事人身份证号11010519491231002X，电话13812345678。")
    found = st["revision"]["checks"]
    assert [(c["code"], c["severity"]) for c in found] == [("personal_id", "block"), ("phone_number", "warn")]
    assert all(c["message"] and c["excerpt"] for c in found)
    resp = office.drafter.post(f"/statements/{st['id']}/submit")
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["code"] == "checks_failed"
    assert [c["code"] for c in error["fields"]["checks"]] == ["personal_id"]
    assert office.drafter.get(f"/statements/{st['id']}").get_json()["status"] == "draft"

    st = office.drafter.put(f"/statements/{st['id']}", {"body": "当事人已联系，电话13812345678。"}).get_json()
    assert [c["code"] for c in st["revision"]["checks"]] == ["phone_number"]
    resp = office.drafter.post(f"/statements/{st['id']}/submit")
    assert resp.status_code == 200 and resp.get_json()["status"] == "in_review"


def test_terms_api_is_admin_only_and_rechecks_open_drafts(office: Office, admin: Api) -> None:
    assert office.drafter.get("/terms").status_code == 403
    assert office.drafter.put("/terms", {"sensitive": ["网传"]}).status_code == 403
    resp = admin.put("/terms", {"sensitive": "网传"})
    assert resp.status_code == 400 and "sensitive" in resp.get_json()["error"]["fields"]

    st = office.submitted()
    assert st["revision"]["checks"] == []
    st = office.review(office.expert, st, "expert").get_json()
    resp = admin.put("/terms", {"sensitive": ["网传"], "leaders": [{"name": "张建国", "title": "院长"}]})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["sensitive"] == ["网传"] and body["leaders"] == [{"name": "张建国", "title": "院长"}]
    assert body["allowed"] == [] and body["rechecked"] >= 1
    assert admin.get("/terms").get_json()["sensitive"] == ["网传"]

    st = office.drafter.get(f"/statements/{st['id']}").get_json()
    # in the title and in the body
    assert [(c["code"], c["field"]) for c in st["revision"]["checks"]] == [
        ("sensitive_term", "title"), ("sensitive_term", "body")]
    # the expert approved before the list changed; the leader cannot approve a text that now blocks
    resp = office.review(office.leader, st, "leader")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "checks_failed"
    # a leader may still send it back
    resp = office.review(office.leader, st, "leader", "request_changes", comment="删去敏感词")
    assert resp.status_code == 201


def test_checks_endpoint_answers_as_you_type(office: Office, app: Flask) -> None:
    resp = office.drafter.post("/checks", {"title": "说明", "body": "經核實，电话13812345678", "channels": ["portal"]})
    assert resp.status_code == 200
    answer = resp.get_json()
    assert [c["code"] for c in answer["checks"]] == ["traditional_chars", "traditional_chars", "phone_number"]
    assert answer["blocking"] == 0
    assert office.drafter.post("/checks", {"body": 5}).status_code == 400
    assert app.test_client().post("/api/v1/checks", json={"body": "x"}).status_code == 401


def test_terms_import_cli(app: Flask, tmp_path: Any, office: Office) -> None:
    path = tmp_path / "terms.txt"
    path.write_text("# 词表\n网传\n谣言\n[allowed]\n网传说法\n[leaders]\n张建国 院长\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["terms", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "sensitive 2" in result.output and "leaders 1" in result.output
    st = office.draft(title="情况说明", body="关于网传说法与谣言")
    assert [(c["code"], c["excerpt"]) for c in st["revision"]["checks"]] == [("sensitive_term", "谣言")]


# --- in the pages --------------------------------------------------------------------------------


def test_statement_page_shows_findings_beside_the_text_and_the_form(office: Office, app: Flask) -> None:
    from tests.review.test_web import Browser, text

    st = office.submitted(body="如有疑问请致电13812345678咨询。")
    page = text(Browser(app, office.expert.user.username).get(f"/statements/{st['id']}"))
    assert 'id="checks"' in page and 'id="review-checks"' in page
    assert "含有手机号码，请确认可以公开" in page
    assert "请致电<mark>13812345678</mark>咨询" in page

    # the drafter sees the submit refused with the reason, on the page, not a bare error
    blocked = office.draft(body="身份证号11010519491231002X")
    drafter = Browser(app, office.drafter.user.username)
    resp = drafter.post(f"/statements/{blocked['id']}/submit", follow_redirects=True)
    assert resp.status_code == 409
    page = text(resp)
    assert "发布前检查未通过" in page and "含有居民身份证号码" in page
    assert "'severity'" not in page and 'href="#checks"' in page


def test_editor_checks_as_you_type(office: Office, app: Flask) -> None:
    from tests.review.test_web import Browser, csrf

    drafter = Browser(app, office.drafter.user.username)
    page = drafter.get("/statements/new").get_data(as_text=True)
    assert 'id="live-checks"' in page and "/static/checks.js" in page and 'data-url="/api/v1/checks"' in page
    assert "<script>" not in page  # CSP: no inline script
    # the call the script makes: the session cookie and the page's CSRF token
    resp = drafter.client.post("/api/v1/checks", json={"title": "说明", "body": "张健国同志"},
                               headers={"X-CSRFToken": csrf(drafter.get("/statements/new"))})
    assert resp.status_code == 200 and resp.get_json()["checks"] == []
    resp = drafter.client.post("/api/v1/checks", json={"body": "經"})
    assert resp.status_code == 403  # a session call without the CSRF token
