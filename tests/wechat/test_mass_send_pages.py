"""Mass send on the pages (issue 19, interface §14): the editor's 微信发送方式 with the quota left, the mode in
the leader's release plan, a statement waiting for the quota and 改为发布, /desk's quota panel, the mass-send
lines of the deliveries, 发到我的微信预览, and the WeChat ID on /account and in the users API.

The waiting statements are made by the real release worker against the sandbox (staging, then the quota says
wait); pages are read through the test client, as the people concerned, on both databases.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from app.extensions import db
from app.models import User
from publishing.models import Delivery, DeliveryState
from review.models import Statement
from tests.factories import Api, Office, user
from tests.review.test_web import Browser, text
from tests.wechat.test_mass_send import fill_period, live, mass, settle, wechat_of  # noqa: F401 (live: a fixture)
from wechat.models import ItemState, MassItem

TITLE = "关于网传小麦品种问题的回应"


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


def at_leader_stage(office: Office, **fields: Any) -> dict[str, Any]:
    st = office.submitted(channels=["portal", "wechat"], **fields)
    assert office.review(office.expert, st, "expert").status_code == 201
    return st


def waiting_ones(app: Flask, office: Office, *wanted: tuple[str, str]) -> list[int]:
    """Approved `mass_send` statements (priority, title) left waiting for the next period by the worker."""
    fill_period(app)
    ids = [mass(office, priority, title=title)["id"] for priority, title in wanted]
    for statement_id in ids:
        assert settle(app, office, statement_id, want="pending")["waiting_for_quota"] is True
    return ids


def stored(app: Flask, statement_id: int) -> Statement:
    with app.app_context():
        st = db.session.get(Statement, statement_id)
        assert st is not None
        db.session.expunge(st)
        return st


def words(resp: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text(resp)))


# --- the editor ---------------------------------------------------------------------------------------


def test_the_editor_offers_the_mode_with_the_quota_left_and_saves_it(app: Flask, office: Office) -> None:
    web = Browser(app, office.drafter.user.username)
    editor = web.get("/statements/new")
    mode = section_of(editor, "wechat-mode")
    assert "微信发送方式" in mode and "发布" in mode and "不推送给粉丝，不占群发名额" in mode
    assert "推送给全部粉丝，占用今日群发名额（今日剩 1 次）" in mode
    assert "特急、急的回应立即改为发布" in mode and "普通、低的回应等待下一期名额" in mode
    assert re.search(r'value="publish"\s+checked', mode) and "允许留言" in mode
    fill_period(app)
    assert "（今日剩 0 次）" in section_of(web.get("/statements/new"), "wechat-mode")

    resp = web.post("/statements/new", {"title": TITLE, "digest": "", "body": "经核实，网传信息不实。",
                                        "priority": "normal", "channels": ["portal", "wechat"],
                                        "wechat_mode": "mass_send", "comments_open": "0", "go_live_at": "",
                                        "agencies": "", "case_ids": ""})
    assert resp.status_code == 302, text(resp)
    statement_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    saved = stored(app, statement_id)
    assert (saved.wechat_mode, saved.comments_open) == ("mass_send", False)
    again = web.get(f"/statements/{statement_id}/edit")
    mode = section_of(again, "wechat-mode")
    assert re.search(r'value="mass_send"\s+checked', mode)
    assert not re.search(r'name="comments_open" value="1"\s+checked', mode)
    facts = words(web.get(f"/statements/{statement_id}"))
    assert "微信发送方式 群发（今日名额：剩 0），不允许留言" in facts

    # WeChat unticked: the mass send is left behind, not refused
    resp = web.post(f"/statements/{statement_id}/edit", {
        "title": TITLE, "digest": "", "body": "经核实，网传信息不实。", "priority": "normal", "channels": ["portal"],
        "wechat_mode": "mass_send", "comments_open": ["0", "1"], "go_live_at": "", "agencies": "", "case_ids": ""})
    assert resp.status_code == 302, text(resp)
    saved = stored(app, statement_id)
    assert (saved.channels, saved.wechat_mode, saved.comments_open) == (["portal"], "publish", True)


def test_a_wrong_mode_is_named_beside_the_choice(app: Flask, office: Office) -> None:
    web = Browser(app, office.drafter.user.username)
    resp = web.post("/statements/new", {"title": TITLE, "digest": "", "body": "经核实。", "priority": "normal",
                                        "channels": ["portal", "wechat"], "wechat_mode": "push",
                                        "comments_open": ["0", "1"], "go_live_at": "", "agencies": "",
                                        "case_ids": ""})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/statements/new")
    page = web.get("/statements/new")
    assert page.status_code == 400
    mode = section_of(page, "wechat-mode")
    assert "has-error" in mode and "应为 publish（发布）或 mass_send（群发）" in mode
    assert "wechat_mode：" not in text(page)  # beside the field, not in the list of other problems
    assert stored_count(app) == 0


def stored_count(app: Flask) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Statement.id)).all())


def section_of(resp: Any, ident: str) -> str:
    """The HTML of the element with this id (a fieldset, a div or a section), its own tag closing it."""
    found = re.search(rf'<(fieldset|div|section|details)[^>]*id="{ident}".*?</\1>', resp.get_data(as_text=True),
                      re.S)
    assert found, f"no #{ident}"
    return html.unescape(found.group(0))


# --- reviewers and the leader ------------------------------------------------------------------------


def test_the_leader_reads_the_mode_and_the_quota_in_the_release_plan(app: Flask, office: Office) -> None:
    pushed = at_leader_stage(office, wechat_mode="mass_send", title="群发的回应")
    quiet = at_leader_stage(office, title="发布的回应")
    leader = Browser(app, office.leader.user.username)
    plan = section_of(leader.get(f"/statements/{pushed['id']}"), "release-plan")
    assert re.search(r"微信发送方式</dt>\s*<dd[^>]*>群发（今日名额：剩 1）</dd>", plan), plan
    plan = section_of(leader.get(f"/statements/{quiet['id']}"), "release-plan")
    assert re.search(r"微信发送方式</dt>\s*<dd[^>]*>发布（不推送）</dd>", plan), plan
    fill_period(app)
    plan = section_of(leader.get(f"/statements/{pushed['id']}"), "release-plan")
    assert "群发（今日名额：剩 0）" in plan
    portal_only = office.submitted(channels=["portal"])
    assert "微信发送方式" not in text(Browser(app, office.expert.user.username).get(f"/statements/{portal_only['id']}"))


def test_a_service_account_counts_the_month(app: Flask, office: Office) -> None:
    app.config["WECHAT_ACCOUNT_TYPE"] = "service"
    st = at_leader_stage(office, wechat_mode="mass_send")
    plan = section_of(Browser(app, office.leader.user.username).get(f"/statements/{st['id']}"), "release-plan")
    assert "群发（本月名额：剩 4）" in plan
    editor = Browser(app, office.drafter.user.username).get("/statements/new")
    assert "占用本月群发名额（本月剩 4 次）" in section_of(editor, "wechat-mode")


# --- waiting for the quota: the statement page, /desk, 改为发布 ------------------------------------------


def test_desk_lists_the_waiting_ones_in_sending_order(app: Flask, office: Office, live: str) -> None:  # noqa: F811
    ids = waiting_ones(app, office, ("low", "低优先级的回应"), ("normal", "普通一"), ("normal", "普通二"))
    other = Office(app, "NJS")
    desk = Browser(app, office.office.user.username).get("/desk")
    panel = section_of(desk, "wechat-quota")
    assert "群发名额" in panel and "今日已用 1/1 次，剩 0 次" in panel
    titles = re.findall(r'<li class="record" data-statement="(\d+)">', panel)
    assert [int(t) for t in titles] == [ids[1], ids[2], ids[0]]  # priority first, then approval time
    assert [t for t in ("普通一", "普通二", "低优先级的回应") if t in panel] == ["普通一", "普通二", "低优先级的回应"]
    assert panel.index("普通一") < panel.index("普通二") < panel.index("低优先级的回应")
    assert "普通" in panel and "低" in panel and "批准于" in panel
    assert f'href="/statements/{ids[0]}"' in panel
    # a leader of another unit sees the account's queue, but no link into statements not theirs
    theirs = section_of(Browser(app, other.leader.user.username).get("/desk"), "wechat-quota")
    assert "普通一" in theirs and f'href="/statements/{ids[1]}"' not in theirs
    assert Browser(app, office.drafter.user.username).get("/desk").status_code == 403


def test_a_waiting_statement_says_so_and_its_leader_switches_it_to_publish(app: Flask, office: Office,
                                                                          live: str) -> None:  # noqa: F811
    [statement_id] = waiting_ones(app, office, ("normal", TITLE))
    expert = Browser(app, office.expert.user.username)
    page = words(expert.get(f"/statements/{statement_id}"))
    assert "等待群发名额" in page
    assert re.search(r"等待下一期群发名额，预计 \d{4}-\d\d-\d\d \d\d:\d\d 发出（排第 1 位）", page)
    assert "改为发布" not in page  # an expert may not
    assert expert.post(f"/statements/{statement_id}/wechat-publish").status_code == 403

    leader = Browser(app, office.leader.user.username)
    page = leader.get(f"/statements/{statement_id}")
    assert "改为发布" in section_of(page, "publishing")
    resp = leader.post(f"/statements/{statement_id}/wechat-publish")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/statements/{statement_id}")
    assert "已改为发布：将立即在微信公众号发布，不推送给粉丝" in text(leader.get(f"/statements/{statement_id}"))
    with app.app_context():
        item = db.session.scalar(select(MassItem).where(MassItem.statement_id == statement_id))
        assert item is not None and item.state == ItemState.SWITCHED
    assert stored(app, statement_id).wechat_mode == "publish"
    again = leader.post(f"/statements/{statement_id}/wechat-publish")
    assert again.status_code == 302
    assert "该回应没有在等待群发名额，不能改为发布" in text(leader.get(f"/statements/{statement_id}"))

    out = settle(app, office, statement_id)
    assert out["mode"] == "publish" and out["url"]
    deliveries = section_of(leader.get(f"/statements/{statement_id}"), "publishing")
    assert "已改为发布（不推送给粉丝）" in deliveries and "等待群发名额" not in deliveries


def test_office_may_switch_any_units_waiting_statement(app: Flask, office: Office, live: str) -> None:  # noqa: F811
    [statement_id] = waiting_ones(app, office, ("low", TITLE))
    web = Browser(app, office.office.user.username)
    assert "改为发布" in section_of(web.get(f"/statements/{statement_id}"), "publishing")
    web.post(f"/statements/{statement_id}/wechat-publish")
    assert stored(app, statement_id).wechat_mode == "publish"


def test_the_deliveries_tell_a_mass_sent_article_and_its_reach(app: Flask, office: Office) -> None:
    st = mass(office, "normal")
    with app.app_context():
        # as the channel leaves a statement sent as the 2nd article of a mass send (wechat/mass.py _settled)
        db.session.execute(update(Delivery).where(Delivery.statement_id == st["id"], Delivery.channel == "wechat")
                           .values(state=DeliveryState.PUBLISHED, url="https://mp.weixin.qq.com/s?mid=1",
                                   data={"mode": "mass_send", "msg_id": "1000001", "article_idx": 2,
                                         "sent_count": 1180, "total_count": 1200, "waiting_for_quota": False}))
        db.session.commit()
    deliveries = section_of(Browser(app, office.drafter.user.username).get(f"/statements/{st['id']}"),
                            "publishing")
    assert re.search(r"群发 · 第 2 篇 · 送达 1180/1200", re.sub(r"\s+", " ", deliveries)), deliveries
    assert wechat_of(office, st["id"])["sent_count"] == 1180


# --- 发到我的微信预览 ------------------------------------------------------------------------------------


def test_the_preview_button_is_offered_to_those_who_may_send_one(app: Flask, office: Office) -> None:
    st = office.submitted(channels=["portal", "wechat"], wechat_mode="mass_send")
    expert = Browser(app, office.expert.user.username)
    box = section_of(expert.get(f"/statements/{st['id']}"), "phone-preview")
    assert "发到我的微信预览" in box and 'id="wx-towxname"' in box and 'href="/account#wechat"' in box
    assert f'data-url="/api/v1/statements/{st["id"]}/wechat-preview"' in box
    with app.app_context():
        db.session.execute(update(User).where(User.id == office.expert.user.id).values(wechat_id="wang_ming_1980"))
        db.session.commit()
    box = section_of(expert.get(f"/statements/{st['id']}"), "phone-preview")
    assert "wx-towxname" not in box and "把已保存的第 1 稿发到微信号 wang_ming_1980" in box
    # the drafter, in the editor beside the live WeChat preview (the form itself after the editor's own)
    editor = Browser(app, office.drafter.user.username).get(f"/statements/{st['id']}/edit")
    page = editor.get_data(as_text=True)
    assert page.index('id="cp-wechat"') < page.index("发到我的微信预览") < page.index('name="agencies"')
    assert page.index('<form id="wx-preview"') > page.index('name="case_ids"')  # after the editor's own form
    assert "发到我的微信预览" not in text(Browser(app, office.drafter.user.username).get("/statements/new"))
    # office may see the statement but not preview it; the leader, at the leader's stage, in the release plan
    assert "发到我的微信预览" not in text(Browser(app, office.office.user.username).get(f"/statements/{st['id']}"))
    assert office.review(office.expert, st, "expert").status_code == 201
    leader_page = Browser(app, office.leader.user.username).get(f"/statements/{st['id']}")
    assert "发到我的微信预览" in section_of(leader_page, "release-plan")
    assert text(leader_page).count('id="phone-preview"') == 1
    portal_only = office.submitted(channels=["portal"])
    assert "发到我的微信预览" not in text(expert.get(f"/statements/{portal_only['id']}"))


def test_the_preview_form_without_a_wechat_id_asks_for_one(app: Flask, office: Office) -> None:
    st = office.submitted(channels=["portal", "wechat"])
    expert = Browser(app, office.expert.user.username)
    resp = expert.post(f"/statements/{st['id']}/wechat-preview", {"towxname": "", "next": f"/statements/{st['id']}"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/statements/{st['id']}")
    assert "请填写微信号，或先在“我的账户”中填写自己的微信号" in text(expert.get(f"/statements/{st['id']}"))
    resp = expert.post(f"/statements/{st['id']}/wechat-preview", {"next": "https://elsewhere.example/"})
    assert resp.headers["Location"].endswith(f"/statements/{st['id']}")  # never off the site
    stranger = Browser(app, Office(app, "QTS").expert.user.username)
    assert stranger.post(f"/statements/{st['id']}/wechat-preview", {"towxname": "wang_ming"}).status_code == 403


def test_the_preview_form_sends_to_the_phone_and_counts_it(app: Flask, office: Office,
                                                           live: str) -> None:  # noqa: F811
    st = office.submitted(channels=["portal", "wechat"])
    expert = Browser(app, office.expert.user.username)
    resp = expert.post(f"/statements/{st['id']}/wechat-preview",
                       {"towxname": "wang_ming_1980", "next": f"/statements/{st['id']}/diff?a=1&b=1"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/statements/{st['id']}/diff?a=1&b=1")
    page = text(expert.get(f"/statements/{st['id']}"))
    assert "已发送到微信号 wang_ming_1980（今日已用 1/100）" in page, re.findall(r"flash-error\">([^<]*)", page)


# --- the WeChat ID: /account and the users API ----------------------------------------------------------


def test_a_person_saves_their_wechat_id_on_the_account_page(app: Flask, office: Office) -> None:
    web = Browser(app, office.expert.user.username)
    page = section_of(web.get("/account"), "wechat")
    assert "我的微信号" in page and 'name="wechat_id"' in page
    for wrong in ("1wang_ming", "wang", "wang.ming.1980", "王明明明明明", "w" * 21):
        resp = web.post("/account", {"action": "wechat_id", "wechat_id": wrong})
        assert resp.status_code == 302
        shown = web.get("/account")
        assert shown.status_code == 400, wrong
        box = section_of(shown, "wechat")
        assert "微信号应为 6–20 个字符，以字母开头，只能包含字母、数字、下划线和减号" in box and "has-error" in box
        assert f'value="{wrong}"' in box  # what was typed, to correct
    assert wechat_id_of(app, office.expert.user.username) is None
    web.post("/account", {"action": "wechat_id", "wechat_id": "  wang_ming-1980 "})
    assert "已保存微信号 wang_ming-1980" in text(web.get("/account"))
    assert wechat_id_of(app, office.expert.user.username) == "wang_ming-1980"
    assert 'value="wang_ming-1980"' in section_of(web.get("/account"), "wechat")
    web.post("/account", {"action": "wechat_id", "wechat_id": ""})
    assert "已清除微信号" in text(web.get("/account"))
    assert wechat_id_of(app, office.expert.user.username) is None


def wechat_id_of(app: Flask, username: str) -> str | None:
    with app.app_context():
        return db.session.scalar(select(User.wechat_id).where(User.username == username))


def test_the_users_api_takes_and_answers_the_wechat_id(app: Flask, office: Office) -> None:
    admin = Api(app, user(app, "OFFICE", "admin"))
    resp = admin.post("/users", {"username": "zbs_wang", "unit": "ZBS", "roles": ["expert"],
                                 "wechat_id": "wang_ming_1980"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["wechat_id"] == "wang_ming_1980"
    bad = admin.post("/users", {"username": "zbs_li", "unit": "ZBS", "roles": ["expert"], "wechat_id": "1li"})
    assert bad.status_code == 400 and "以字母开头" in bad.get_json()["error"]["fields"]["wechat_id"]
    bad = admin.put("/users/zbs_wang", {"wechat_id": "wang ming"})
    assert bad.status_code == 400 and "wechat_id" in bad.get_json()["error"]["fields"]
    assert admin.put("/users/zbs_wang", {"wechat_id": "li-hua_2"}).get_json()["wechat_id"] == "li-hua_2"
    listed = {u["username"]: u for u in admin.get("/users").get_json()["items"]}
    assert listed["zbs_wang"]["wechat_id"] == "li-hua_2" and listed[office.expert.user.username]["wechat_id"] is None
    assert admin.put("/users/zbs_wang", {"wechat_id": ""}).get_json()["wechat_id"] is None
    assert wechat_id_of(app, "zbs_wang") is None
