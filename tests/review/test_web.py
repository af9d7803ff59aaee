"""The drafting and review pages as people use them: sign in, see their work, draft, review, compare."""

from __future__ import annotations

import html
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, insert, select, update

from app.extensions import db
from app.models import User
from review import worklists
from review.diff import changed, char_diff, side_by_side
from review.models import Revision, Statement, revision_hash
from tests.factories import PASSWORD, Api, Office, user

CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


class Browser:
    """A signed-in person driving the pages with the test client."""

    def __init__(self, app: Flask, username: str) -> None:
        self.client: FlaskClient = app.test_client()
        page = self.client.get("/login")
        resp = self.client.post("/login", data={"username": username, "password": PASSWORD,
                                                "csrf_token": csrf(page)})
        assert resp.status_code == 302, resp.get_data(as_text=True)
        self.token = csrf(self.client.get("/"))

    def get(self, path: str) -> Any:
        return self.client.get(path)

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kw)


def csrf(resp: Any) -> str:
    found = CSRF_RE.search(resp.get_data(as_text=True))
    assert found, "the page carries a CSRF token"
    return found.group(1)


def text(resp: Any) -> str:
    return html.unescape(resp.get_data(as_text=True))


def section(resp: Any, ident: str) -> str:
    """The HTML of one `<section id=…>` (or folding `<details id=…>`) of a page ("" when the page has none)."""
    found = re.search(rf'<(section|details)[^>]*id="{ident}".*?</\1>', resp.get_data(as_text=True), re.S)
    return html.unescape(found.group(0)) if found else ""


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


def statement(app: Flask, statement_id: int) -> dict[str, Any]:
    with app.app_context():
        st = db.session.get(Statement, statement_id)
        assert st is not None and st.current_revision is not None
        return {"status": st.status, "pending_stage": st.pending_stage, "hash": st.current_revision.hash,
                "revision": st.current_revision.number, "decisions": len(st.decisions),
                "go_live_at": st.go_live_at, "agencies": list(st.agencies), "priority": st.priority,
                "channels": list(st.channels), "title": st.current_revision.title}


# Signing in and out ---------------------------------------------------------------------------


def test_login_logout_and_pages_need_login(app: Flask, office: Office) -> None:
    anon = app.test_client()
    resp = anon.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    page = anon.get("/login")
    assert page.status_code == 200 and "登录" in text(page)
    resp = anon.post("/login", data={"username": office.expert.user.username, "password": "nope",
                                     "csrf_token": csrf(page)})
    assert resp.status_code == 200 and "用户名或密码错误" in text(resp)
    resp = anon.post("/login", data={"username": "", "password": "", "csrf_token": csrf(page)})
    assert "请输入用户名" in text(resp) and "请输入密码" in text(resp)

    web = Browser(app, office.expert.user.username)
    home = web.get("/")
    assert home.status_code == 200 and "我的工作" in text(home) and "退出" in text(home)
    resp = web.post("/logout")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert "已退出登录" in text(web.client.get("/login"))
    assert web.get("/").status_code == 302


def test_a_form_without_its_csrf_token_is_refused_in_chinese(app: Flask, office: Office) -> None:
    web = Browser(app, office.drafter.user.username)
    resp = web.client.post("/statements/new", data=_form())
    assert resp.status_code == 400 and "页面已过期或缺少安全令牌" in text(resp)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Statement)) == 0


def test_login_throttle_shows_the_429_message(app: Flask, office: Office) -> None:
    anon = app.test_client()
    token = csrf(anon.get("/login"))
    for _ in range(5):
        anon.post("/login", data={"username": office.drafter.user.username, "password": "x", "csrf_token": token})
    resp = anon.post("/login", data={"username": office.drafter.user.username, "password": PASSWORD,
                                     "csrf_token": token})
    assert resp.status_code == 429 and "登录失败次数过多，请一分钟后再试" in text(resp)


# My work --------------------------------------------------------------------------------------


def test_my_work_lists_what_waits_on_each_role(app: Flask, office: Office) -> None:
    app.config["EXPERT_APPROVALS_REQUIRED"] = 2
    other = Office(app, "NJS")
    both = Api(app, user(app, office.unit, "drafter", "expert"))

    office.submitted(title="甲：待专家审核")
    one_approval = office.submitted(title="乙：一位专家已同意")
    assert office.review(office.expert, one_approval, "expert").status_code == 201
    at_agency = office.submitted(title="丙：待机构确认", agencies=["省林业局"])
    at_leader = office.submitted(title="丁：待领导审批")
    for st in (at_agency, at_leader):
        assert office.review(office.expert, st, "expert").status_code == 201
        assert office.review(office.expert2, st, "expert").status_code == 201
    office.draft(title="戊：我的草稿")
    returned = office.submitted(title="己：退回修改")
    office.review(office.expert, returned, "expert", decision="request_changes", comment="数据需核实")
    own = both.post("/statements", {"title": "庚：自己写的", "body": "正文"}).get_json()
    both.post(f"/statements/{own['id']}/submit")
    other.submitted(title="辛：别的单位", agencies=["省水利厅"])
    njs = other.submitted(title="壬：别的单位待确认", agencies=["省水利厅"])
    for expert in (other.expert, other.expert2):
        assert other.review(expert, njs, "expert").status_code == 201

    expert = Browser(app, office.expert.user.username).get("/")
    todo = section(expert, "work-review")
    assert "甲：待专家审核" in todo and "庚：自己写的" in todo
    assert "乙：一位专家已同意" not in todo, "already approved by me on this revision"
    assert "辛：别的单位" not in todo and "丁：待领导审批" not in todo
    assert "待我审批" not in text(expert) and "我的草稿" not in text(expert)

    expert2 = section(Browser(app, office.expert2.user.username).get("/"), "work-review")
    assert "甲：待专家审核" in expert2 and "乙：一位专家已同意" in expert2

    author = section(Browser(app, both.user.username).get("/"), "work-review")
    assert "甲：待专家审核" in author and "庚：自己写的" not in author, "nobody reviews their own text"

    leader = Browser(app, office.leader.user.username).get("/")
    assert "丁：待领导审批" in section(leader, "work-approve")
    assert "丙：待机构确认" not in section(leader, "work-approve")
    assert "待我审核" not in text(leader)

    drafter = Browser(app, office.drafter.user.username).get("/")
    assert "丙：待机构确认" in section(drafter, "work-confirm")
    assert "壬：别的单位待确认" not in section(drafter, "work-confirm")
    assert "戊：我的草稿" in section(drafter, "work-drafts")
    assert "甲：待专家审核" not in section(drafter, "work-drafts")
    assert "己：退回修改" in section(drafter, "work-returned")

    office_page = section(Browser(app, office.office.user.username).get("/"), "work-confirm")
    assert "丙：待机构确认" in office_page and "壬：别的单位待确认" in office_page

    # A new revision voids the approval: the first expert has it to review again.
    office.drafter.put(f"/statements/{one_approval['id']}", {"body": "经核实，网传信息不实。特此说明。"})
    assert "乙：一位专家已同意" in section(Browser(app, office.expert.user.username).get("/"), "work-review")


def test_my_work_is_urgent_and_oldest_first_and_links_to_the_full_list(app: Flask, office: Office) -> None:
    office.submitted(title="普通件", priority="normal")
    office.submitted(title="特急件", priority="urgent")
    office.submitted(title="较早的紧急件", priority="high")
    office.submitted(title="较晚的紧急件", priority="high")
    web = Browser(app, office.expert.user.username)
    todo = section(web.get("/"), "work-review")
    order = [todo.index(t) for t in ("特急件", "较早的紧急件", "较晚的紧急件", "普通件")]
    assert order == sorted(order)
    full = web.get("/work/review")
    assert full.status_code == 200 and "普通件" in text(full)
    assert web.get("/work/approve").status_code == 404, "experts have no leader list"


def _seed(app: Flask, office: Office, count: int) -> None:
    """`count` statements spread over units, states and priorities, inserted in bulk."""
    with app.app_context():
        drafter = db.session.scalar(select(User).where(User.username == office.drafter.user.username))
        elsewhere = db.session.scalar(select(User.unit_id).where(User.username == office.office.user.username))
        assert drafter is not None and elsewhere != drafter.unit_id
        now = datetime.now(UTC)
        states = [("in_review", "expert"), ("in_review", "leader"), ("in_review", "agency"), ("draft", None),
                  ("changes_requested", None), ("approved", None)]
        first = (db.session.scalar(select(func.max(Statement.id))) or 0) + 1
        rows = []
        for i in range(count):
            status, stage = states[i % len(states)]
            rows.append({
                "id": first + i, "unit_id": drafter.unit_id if i % 5 else elsewhere, "author_id": drafter.id,
                "priority": ["urgent", "high", "normal", "low"][i % 4], "priority_rank": i % 4,
                "channels": ["portal"], "agencies": [], "case_ids": [], "status": status, "pending_stage": stage,
                "review_round": 1, "submitted_at": now - timedelta(minutes=i), "created_at": now,
                "updated_at": now - timedelta(minutes=i),
            })
        db.session.execute(insert(Statement), rows)
        revs = [{"id": first + i, "statement_id": first + i, "number": 1, "title": f"批量回应 {i}", "digest": "",
                 "body": "正文", "hash": revision_hash(f"批量回应 {i}", "", "正文"), "author_id": drafter.id,
                 "created_at": now} for i in range(count)]
        db.session.execute(insert(Revision), revs)
        db.session.execute(update(Statement).where(Statement.id >= first).values(current_revision_id=Statement.id))
        if db.engine.dialect.name == "postgresql":
            db.session.execute(db.text("SELECT setval('statements_id_seq', (SELECT max(id) FROM statements))"))
            db.session.execute(db.text("SELECT setval('revisions_id_seq', (SELECT max(id) FROM revisions))"))
            db.session.execute(db.text("ANALYZE statements; ANALYZE revisions; ANALYZE decisions"))
        db.session.commit()


def test_my_work_stays_fast_with_10000_statements(app: Flask, office: Office) -> None:
    _seed(app, office, 10_000)
    people = {
        "expert": Browser(app, office.expert.user.username),
        "leader": Browser(app, office.leader.user.username),
        "drafter": Browser(app, office.drafter.user.username),
        "office": Browser(app, office.office.user.username),
    }
    lists = {"expert": 1, "leader": 1, "drafter": 3, "office": 1}
    queries: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        queries.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        timings: dict[str, list[float]] = {}
        for role, web in people.items():
            web.get("/")  # warm the template cache
            timings[role] = []
            for _ in range(15):
                queries.clear()
                started = time.perf_counter()
                resp = web.get("/")
                timings[role].append(time.perf_counter() - started)
                assert resp.status_code == 200
            # a bounded number of queries (SQLite's own BEGIN, session user, roles, the roles held as a stand-in
            # (代理), the header's unread count, the cases waiting on the person: count and page, and two per
            # list): never one per row
            sql = [q for q in queries if q != "BEGIN"]
            assert len(sql) <= 7 + 2 * lists[role], (role, queries)
            page = text(resp)
            assert page.count('class="item priority-') == worklists.FIRST.per_page * lists[role], "each list is cut"
            assert page.count("查看全部") == lists[role]
    finally:
        event.remove(engine, "before_cursor_execute", count)
    p95 = {role: sorted(t)[int(len(t) * 0.95) - 1] for role, t in timings.items()}
    print("my work p95 (s):", p95)
    # The goal is 50 ms; the assertion leaves room for a loaded test machine.
    assert max(p95.values()) < 0.25, p95


# Statement list -------------------------------------------------------------------------------


def test_statement_list_filters_and_visibility(app: Flask, office: Office) -> None:
    other = Office(app, "NJS")
    office.draft(title="关于小麦的回应")
    office.submitted(title="关于玉米的回应")
    other.draft(title="关于水稻的回应")
    drafter = Browser(app, office.drafter.user.username)
    page = text(drafter.get("/statements"))
    assert "关于小麦的回应" in page and "关于玉米的回应" in page and "关于水稻的回应" not in page
    page = text(drafter.get("/statements?status=in_review"))
    assert "关于玉米的回应" in page and "关于小麦的回应" not in page
    page = text(drafter.get("/statements?q=小麦"))
    assert "关于小麦的回应" in page and "关于玉米的回应" not in page
    everyone = Browser(app, office.office.user.username)
    page = text(everyone.get("/statements"))
    assert "关于水稻的回应" in page and "关于小麦的回应" in page
    page = text(everyone.get("/statements?unit=NJS"))
    assert "关于水稻的回应" in page and "关于小麦的回应" not in page
    for i in range(21):
        office.draft(title=f"分页回应{i:02d}")
    first, second = text(drafter.get("/statements")), text(drafter.get("/statements?page=2"))
    assert "下一页" in first and "上一页" in second
    assert first.count('class="item ') == 20 and second.count('class="item ') == 3


# Drafting -------------------------------------------------------------------------------------


def _form(**fields: Any) -> dict[str, Any]:
    return {"title": "关于网传玉米种子问题的说明", "digest": "情况说明", "body": "经核实，**网传信息不实**。",
            "priority": "high", "channels": ["portal", "wechat"], "go_live_at": "", "agencies": "", **fields}


def test_long_title_is_over_the_wechat_limit() -> None:
    assert 32 < len(LONG_TITLE) <= 64


def test_drafter_creates_and_submits_through_the_form(app: Flask, office: Office) -> None:
    web = Browser(app, office.drafter.user.username)
    page = web.get("/statements/new")
    assert page.status_code == 200 and 'name="body"' in page.get_data(as_text=True)
    agencies = "省农业农村厅\r\n\r\n 省林业局 \r\n"
    resp = web.post("/statements/new", _form(go_live_at="2031-05-01T09:30", agencies=agencies))
    assert resp.status_code == 302, text(resp)
    statement_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    page = web.get(resp.headers["Location"])
    assert "已保存草稿" in text(page) and "<strong>网传信息不实</strong>" in page.get_data(as_text=True)
    assert "2031-05-01 09:30" in text(page), "go-live shown in Asia/Shanghai"
    st = statement(app, statement_id)
    assert st["go_live_at"] == datetime(2031, 5, 1, 1, 30, tzinfo=UTC), "datetime-local is Beijing time"
    assert st["agencies"] == ["省农业农村厅", "省林业局"] and st["priority"] == "high"
    assert st["channels"] == ["portal", "wechat"] and st["status"] == "draft"

    edit = web.get(f"/statements/{statement_id}/edit")
    assert 'value="2031-05-01T09:30"' in edit.get_data(as_text=True)
    resp = web.post(f"/statements/{statement_id}/edit", _form(title="关于网传玉米种子问题的情况说明",
                                                                go_live_at="2031-05-01T09:30"))
    assert resp.status_code == 302
    assert "已保存为第 2 稿" in text(web.get(resp.headers["Location"]))
    assert statement(app, statement_id)["agencies"] == []

    resp = web.post(f"/statements/{statement_id}/submit")
    assert resp.status_code == 302
    assert "已提交审核" in text(web.get(resp.headers["Location"]))
    st = statement(app, statement_id)
    assert st["status"] == "in_review" and st["pending_stage"] == "expert"
    resp = web.post(f"/statements/{statement_id}/submit", follow_redirects=True)
    assert resp.status_code == 409 and "只有草稿或退回修改的回应可以提交审核" in text(resp)


LONG_TITLE = "关于网传某地玉米种子大面积出苗不齐问题的调查核实情况及后续处置工作的说明"


def field_block(page: str, name: str) -> str:
    """The `.field` block of the form that holds the input called `name`."""
    blocks = re.split(r'(?=<(?:div|fieldset) class="field)', page)
    found = [b for b in blocks if f'name="{name}"' in b]
    assert found, name
    return found[0]


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"title": LONG_TITLE}, "title", "微信标题不能超过 32 个字符"),
        ({"go_live_at": "2020-01-01T09:00"}, "go_live_at", "发布时间已过"),
        ({"channels": []}, "channels", "非空子集"),
        ({"body": "![x](https://evil.example/a.png)"}, "body", "只能使用通过本系统上传的图片"),
    ],
)
def test_form_error_rerenders_in_chinese_keeping_what_was_typed(
    app: Flask, office: Office, fields: dict[str, Any], field: str, message: str
) -> None:
    web = Browser(app, office.drafter.user.username)
    typed = _form(digest="<b>我输入的摘要</b>", agencies="省林业局", **fields)
    resp = web.post("/statements/new", typed, follow_redirects=True)
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    block = html.unescape(field_block(page, field))
    assert "has-error" in block and message in block, "the message sits beside its field"
    assert "&lt;b&gt;我输入的摘要&lt;/b&gt;</textarea>" in page, "typed values kept, escaped"
    assert f'value="{html.escape(typed["title"])}"' in page
    assert ">省林业局</textarea>" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Statement)) == 0


def test_preview_renders_sanitized_without_saving(app: Flask, office: Office) -> None:
    web = Browser(app, office.drafter.user.username)
    resp = web.post("/statements/new", _form(body="# 说明\n\n经核实<script>alert(1)</script>，**不实**。", preview="1"),
                    follow_redirects=True)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "<h1>说明</h1>" in page and "<strong>不实</strong>" in page and "<script>alert" not in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Statement)) == 0


def test_only_drafters_draft(app: Flask, office: Office) -> None:
    st = office.draft()
    expert = Browser(app, office.expert.user.username)
    resp = expert.get("/statements/new")
    assert resp.status_code == 403 and "需要以下角色之一" in text(resp)
    assert expert.get(f"/statements/{st['id']}/edit").status_code == 403
    assert "新建回应" not in text(expert.get("/"))


# Reviewing ------------------------------------------------------------------------------------


def test_expert_approves_through_the_form(app: Flask, office: Office) -> None:
    st = office.submitted(agencies=["省林业局"])
    web = Browser(app, office.expert.user.username)
    page = web.get(f"/statements/{st['id']}")
    review = section(page, "review")
    assert "专家审核" in review and st["revision"]["hash"][:12] in review
    assert f'name="revision_hash" value="{st["revision"]["hash"]}"' in review
    assert "经核实，网传信息不实。" in section(page, "text"), "the exact text under review is on the page"
    assert 'class="action-bar"' not in page.get_data(as_text=True), "experts neither edit nor submit"

    resp = web.post(f"/statements/{st['id']}/reviews", {"revision_hash": st["revision"]["hash"], "stage": "expert",
                                                        "decision": "approve", "comment": ""})
    assert resp.status_code == 302
    page = web.get(resp.headers["Location"])
    assert "已同意该修订稿" in text(page) and "待机构确认" in text(page)
    assert section(page, "review") == "", "nothing left for this expert to do"
    records = section(page, "reviews")
    assert "专家审核" in records and "同意" in records and "当前稿" in records
    assert statement(app, st["id"])["pending_stage"] == "agency"


def test_stale_page_gets_the_409_message_and_changes_nothing(app: Flask, office: Office) -> None:
    st = office.submitted()
    web = Browser(app, office.expert.user.username)
    page = web.get(f"/statements/{st['id']}").get_data(as_text=True)
    shown = re.search(r'name="revision_hash" value="([0-9a-f]{64})"', page).group(1)
    office.drafter.put(f"/statements/{st['id']}", {"body": "经核实，网传信息不实。特此说明。"})

    resp = web.post(f"/statements/{st['id']}/reviews", {"revision_hash": shown, "stage": "expert",
                                                        "decision": "approve", "comment": "同意发布"},
                    follow_redirects=True)
    assert resp.status_code == 409
    assert "该修订稿已不是最新版本，请刷新后审核当前文本" in section(resp, "review")
    assert "同意发布</textarea>" in resp.get_data(as_text=True), "the comment typed is kept"
    assert "特此说明" in text(resp), "the page now shows the current text"
    after = statement(app, st["id"])
    assert after["decisions"] == 0 and after["pending_stage"] == "expert" and after["revision"] == 2


def test_review_errors_sit_beside_the_field(app: Flask, office: Office) -> None:
    st = office.submitted()
    web = Browser(app, office.expert.user.username)
    resp = web.post(f"/statements/{st['id']}/reviews", {"revision_hash": st["revision"]["hash"], "stage": "expert",
                                                        "decision": "request_changes", "comment": "  "},
                    follow_redirects=True)
    assert resp.status_code == 400
    assert "退回修改或否决时必须填写意见" in section(resp, "review")
    resp = web.post(f"/statements/{st['id']}/reviews", {"revision_hash": st["revision"]["hash"], "stage": "expert",
                                                        "decision": "request_changes", "comment": "数据需核实"})
    assert resp.status_code == 302
    assert "已退回修改" in text(web.get(resp.headers["Location"]))
    drafter = Browser(app, office.drafter.user.username)
    page = drafter.get(f"/statements/{st['id']}")
    assert "数据需核实" in section(page, "reviews") and "提交审核" in text(page)


def test_authors_never_see_a_review_form_and_forms_refuse_them(app: Flask) -> None:
    office = Office(app, "ZBS")
    both = Api(app, user(app, office.unit, "drafter", "expert"))
    st = both.post("/statements", {"title": "标题", "body": "正文"}).get_json()
    both.post(f"/statements/{st['id']}/submit")
    web = Browser(app, both.user.username)
    assert section(web.get(f"/statements/{st['id']}"), "review") == ""
    resp = web.post(f"/statements/{st['id']}/reviews", {"revision_hash": st["revision"]["hash"], "stage": "expert",
                                                        "decision": "approve"}, follow_redirects=True)
    assert resp.status_code == 403 and "不能审核" in text(resp)


def test_confirmation_then_leader_approval_through_the_forms(app: Flask, office: Office) -> None:
    st = office.submitted(agencies=["省林业局", "省水利厅"])
    office.review(office.expert, st, "expert")
    web = Browser(app, office.office.user.username)
    form = section(web.get(f"/statements/{st['id']}"), "confirm")
    assert "省林业局" in form and "省水利厅" in form
    resp = web.post(f"/statements/{st['id']}/confirmations", {"revision_hash": st["revision"]["hash"],
                                                              "agency": "省林业局", "contact": "", "method": "phone"},
                    follow_redirects=True)
    assert resp.status_code == 400 and "不能为空" in section(resp, "confirm")
    for agency in ("省林业局", "省水利厅"):
        resp = web.post(f"/statements/{st['id']}/confirmations", {
            "revision_hash": st["revision"]["hash"], "agency": agency, "contact": "王处长", "method": "document",
            "note": "回函确认"})
        assert resp.status_code == 302, text(resp)
    page = web.get(resp.headers["Location"])
    assert "已记录省水利厅的确认" in text(page) and "待领导审批" in text(page)
    assert "王处长" in section(page, "confirmations")

    leader = Browser(app, office.leader.user.username)
    review = section(leader.get(f"/statements/{st['id']}"), "review")
    assert "领导审批" in review and 'name="stage" value="leader"' in review
    resp = leader.post(f"/statements/{st['id']}/reviews", {"revision_hash": st["revision"]["hash"],
                                                           "stage": "leader", "decision": "approve",
                                                           "confirm_release": "yes"})
    assert resp.status_code == 302
    assert "已批准" in text(leader.get(resp.headers["Location"]))
    assert statement(app, st["id"])["status"] == "approved"


def test_other_units_statement_is_refused(app: Flask, office: Office) -> None:
    st = office.draft()
    other = Office(app, "NJS")
    resp = Browser(app, other.drafter.user.username).get(f"/statements/{st['id']}")
    assert resp.status_code == 403 and "只能处理本单位的回应" in text(resp)
    assert Browser(app, office.office.user.username).get(f"/statements/{st['id']}").status_code == 200
    assert Browser(app, office.drafter.user.username).get("/statements/999999").status_code == 404


# Differences ----------------------------------------------------------------------------------


def test_char_diff_marks_single_chinese_characters() -> None:
    left, right = char_diff("经核实，网传信息不实。", "经核实，网传消息不实。")
    assert str(left) == "经核实，网传<del>信</del>息不实。"
    assert str(right) == "经核实，网传<ins>消</ins>息不实。"


def test_side_by_side_pairs_lines_and_escapes_everything() -> None:
    old = "第一段未变。\n第二段<script>旧</script>文字。\n将被删除的段落。"
    new = "第一段未变。\n第二段<script>新</script>文字。\n"
    rows = side_by_side(old, new)
    assert [r.kind for r in rows] == ["equal", "replace", "delete"]
    assert rows[0].left == rows[0].right == "第一段未变。"
    assert str(rows[1].left) == "第二段&lt;script&gt;<del>旧</del>&lt;/script&gt;文字。"
    assert str(rows[1].right) == "第二段&lt;script&gt;<ins>新</ins>&lt;/script&gt;文字。"
    assert (rows[2].left_no, rows[2].right_no) == (3, None) and str(rows[2].left) == "<del>将被删除的段落。</del>"
    inserted = side_by_side("甲", "甲\n乙")
    assert [(r.kind, r.right_no, str(r.right)) for r in inserted] == [
        ("equal", 1, "甲"), ("insert", 2, "<ins>乙</ins>")]
    assert changed(inserted) and not changed(side_by_side("同\n文", "同\n文"))


def test_side_by_side_long_lines_stay_fast() -> None:
    old = "农业科学院" * 10_000
    new = old[:20_000] + "改" + old[20_000:]
    unrelated = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(50_000))
    started = time.perf_counter()
    rows = side_by_side(old, new)
    whole = side_by_side(old, unrelated)
    assert time.perf_counter() - started < 2
    assert str(rows[0].right).count("<ins>") == 1 and "<ins>改</ins>" in str(rows[0].right)
    assert str(whole[0].left).startswith("<del>") and str(whole[0].right).startswith("<ins>")


def test_diff_page_between_revisions(app: Flask, office: Office) -> None:
    st = office.draft(body="经核实，网传信息不实。\n<b>原文</b>")
    office.drafter.put(f"/statements/{st['id']}", {"body": "经核实，网传消息不实。\n<b>原文</b>"})
    web = Browser(app, office.expert.user.username)
    page = web.get(f"/statements/{st['id']}")
    assert f"/statements/{st['id']}/diff?a=1&amp;b=2" in page.get_data(as_text=True)
    resp = web.get(f"/statements/{st['id']}/diff?a=1&b=2")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<del>信</del>" in body and "<ins>消</ins>" in body and "&lt;b&gt;原文&lt;/b&gt;" in body
    assert "<b>原文" not in body
    assert web.get(f"/statements/{st['id']}/diff?a=1&b=9").status_code == 404


# Times and languages --------------------------------------------------------------------------


def test_times_are_shown_in_shanghai(app: Flask, office: Office) -> None:
    st = office.draft()
    with app.app_context():
        db.session.execute(update(Revision).where(Revision.statement_id == st["id"])
                           .values(created_at=datetime(2026, 1, 31, 17, 5, tzinfo=UTC)))
        db.session.commit()
    page = text(Browser(app, office.drafter.user.username).get(f"/statements/{st['id']}"))
    assert "2026-02-01 01:05" in page


def test_english_locale_shows_english_labels(app: Flask, office: Office) -> None:
    st = office.submitted()
    web = Browser(app, office.expert.user.username)
    page = text(web.get("/?lang=en"))
    assert "My work" in page and "To review" in page and "Sign out" in page and "我的工作" not in page
    page = text(web.get(f"/statements/{st['id']}"))  # the choice is kept in the session
    assert "Approve" in page and "Expert review" in page
    resp = web.post(f"/statements/{st['id']}/reviews", {"revision_hash": "0" * 64, "stage": "expert",
                                                        "decision": "approve"}, follow_redirects=True)
    assert resp.status_code == 409 and "no longer the latest" in text(resp)
    assert "我的工作" in text(web.get("/?lang=zh_Hans_CN"))
    assert "Sign in" in text(app.test_client().get("/login?lang=en"))
