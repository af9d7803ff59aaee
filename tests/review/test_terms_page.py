"""Term lists on the admin's page (interface §11): the same data as `GET|PUT /api/v1/terms`, through the same
service, audited with what went and what came, open drafts re-checked."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from tests.app.test_admin import Institution, csrf_of, sign_in

PAGE = "/admin/terms"


def save(web: object, **lists: str) -> object:
    data = {"sensitive": "", "allowed": "", "leaders": "", "agencies": "", **lists}
    return web.post(PAGE, data={**data, "csrf_token": csrf_of(web, PAGE)})  # type: ignore[attr-defined]


def test_admin_edits_the_lists_the_api_serves_and_drafts_are_rechecked(app: Flask) -> None:
    inst = Institution(app)
    assert inst.admin.put("/terms", {"sensitive": ["绝密"], "leaders": [{"name": "张建国", "title": "院长"}]}
                          ).status_code == 200
    draft = inst.draft(body="经核实，网传信息不实。本文件为内部资料。")
    assert not [c for c in draft["revision"]["checks"] if c["severity"] == "block"]

    web = sign_in(app, inst.admin.user.username)
    page = web.get(PAGE).get_data(as_text=True)
    assert "绝密" in page and "张建国 院长" in page

    resp = save(web, sensitive="绝密\n内部资料\n\n", allowed="保守秘密级别", leaders="张建国 院长\n王立新\t党委书记",
                agencies="河南省农业农村厅")
    assert resp.status_code == 302  # type: ignore[attr-defined]
    assert "已重新检查 1 份" in web.get(PAGE).get_data(as_text=True)
    lists = inst.admin.get("/terms").get_json()
    assert lists["sensitive"] == ["绝密", "内部资料"] and lists["allowed"] == ["保守秘密级别"]
    assert lists["leaders"] == [{"name": "张建国", "title": "院长"}, {"name": "王立新", "title": "党委书记"}]
    assert lists["agencies"] == ["河南省农业农村厅"]
    rechecked = inst.drafter.get(f"/statements/{draft['id']}").get_json()
    assert any(c["severity"] == "block" and "内部资料" in (c.get("excerpt") or c["message"])
               for c in rechecked["revision"]["checks"])

    with app.app_context():
        events = {e.action: e for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "terms", AuditEvent.actor_id == inst.admin.user.id)
            .order_by(AuditEvent.id))}
    sensitive = events["terms.sensitive.replace"]
    assert sensitive.before["removed"] == [] and sensitive.after["added"] == ["内部资料"]
    leaders = list(events.values())
    assert any(e.action == "terms.leaders.replace" and e.after["added"] == [{"name": "王立新", "title": "党委书记"}]
               for e in leaders)

    save(web, sensitive="内部资料", allowed="保守秘密级别", leaders="张建国 院长\n王立新 党委书记",
         agencies="河南省农业农村厅")
    with app.app_context():
        last = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "terms.sensitive.replace")
                                  .order_by(AuditEvent.id.desc())).first()
        assert last is not None and last.before["removed"] == ["绝密"] and last.after["added"] == []


def test_a_bad_list_is_refused_beside_it_and_nothing_changes(app: Flask) -> None:
    inst = Institution(app)
    web = sign_in(app, inst.admin.user.username)
    resp = save(web, sensitive="绝密", leaders="张" * 70 + " 院长")
    assert resp.status_code == 400  # type: ignore[attr-defined]
    page = resp.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "词表有误" in page and "张" * 70 in page  # what was typed stays in the form
    assert 'id="list-leaders"' in page and page.index("field-error", page.index('id="list-leaders"')) \
        < page.index('id="list-agencies"')
    assert inst.admin.get("/terms").get_json()["sensitive"] == []


def test_only_an_admin_reaches_the_lists(app: Flask) -> None:
    inst = Institution(app)
    for who in (inst.office, inst.leader, inst.drafter):
        web = sign_in(app, who.user.username)
        assert web.get(PAGE).status_code == 403
        assert web.post(PAGE, data={"sensitive": "x", "csrf_token": csrf_of(web)}).status_code == 403
    assert inst.admin.get("/terms").get_json()["sensitive"] == []
