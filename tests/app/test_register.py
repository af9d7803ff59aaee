"""The responsibility register (interface §11): who may change it, what it refuses, how it reads back."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app import accounts, register
from app.extensions import db
from app.models import AuditEvent, Unit, User
from tests.factories import Api, Person, unit, user
from tests.review.test_web import Browser, text


class Institute:
    """An office, an institute below it with its people, and an admin."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.office_unit = unit(app, "OFFICE", "院办公室")
        self.unit = unit(app, "ZBS", "植物保护研究所")
        self.sub = unit(app, "ZBS1", "植保所一室")
        self.drafter = user(app, self.unit, "drafter")
        self.drafter2 = user(app, self.unit, "drafter")
        self.leader = user(app, self.unit, "leader")
        self.office = user(app, self.office_unit, "office")
        self.admin = Api(app, user(app, self.office_unit, "admin"))
        with app.app_context():
            zbs1 = Unit.by_code("ZBS1")
            assert zbs1 is not None
            zbs1.parent = Unit.by_code("ZBS")
            db.session.commit()


@pytest.fixture
def inst(app: Flask) -> Institute:
    return Institute(app)


def person(p: Person, app: Flask) -> dict[str, str]:
    with app.app_context():
        found = User.by_username(p.username)
        assert found is not None
        return {"username": found.username, "name": found.name, "phone": found.phone}


def test_admin_sets_the_register_and_everyone_reads_it(app: Flask, inst: Institute) -> None:
    with app.app_context():
        accounts.create_user("wang", inst.unit, ["leader"], display_name="王所长", phone="138 0013 8000",
                             password="a long password")
    resp = inst.admin.put("/units/ZBS", {
        "name": "植物保护研究所（植保所）", "parent": "OFFICE", "first_responsible": "wang",
        "direct_responsible": inst.leader.username, "spokespersons": [inst.drafter2.username, inst.drafter.username],
        "duty_phone": "0371-65711111",
    })
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["first_responsible"] == {"username": "wang", "name": "王所长", "phone": "138 0013 8000"}
    assert body["direct_responsible"] == person(inst.leader, app)
    assert body["spokespersons"] == [person(inst.drafter2, app), person(inst.drafter, app)]
    assert body["parent"] == "OFFICE" and body["duty_phone"] == "0371-65711111"
    assert body["name"] == "植物保护研究所（植保所）"

    reader = Api(app, inst.drafter)
    one = reader.get("/units/ZBS")
    assert one.status_code == 200 and one.get_json() == body
    listed = reader.get("/units?per_page=2")
    assert listed.status_code == 200 and listed.get_json()["total"] == 3
    assert [u["code"] for u in listed.get_json()["items"]] == ["OFFICE", "ZBS"]
    assert reader.get("/units/NOPE").status_code == 404
    assert app.test_client().get("/api/v1/units").status_code == 401

    # a partial update keeps what it does not name; null clears
    resp = inst.admin.put("/units/ZBS", {"first_responsible": None, "spokespersons": [inst.drafter.username]})
    assert resp.status_code == 200
    assert resp.get_json()["first_responsible"] is None
    assert resp.get_json()["direct_responsible"] == person(inst.leader, app)
    assert resp.get_json()["spokespersons"] == [person(inst.drafter, app)]

    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "unit.update")
                                         .order_by(AuditEvent.id)))
        assert len(events) == 2
        assert events[0].before is not None and events[0].before["first_responsible"] is None
        assert events[0].after is not None and events[0].after["first_responsible"] == "wang"
        assert events[1].after is not None and events[1].after["spokespersons"] == [inst.drafter.username]
        zbs = Unit.by_code("ZBS")
        assert zbs is not None
        assert register.responsible(zbs) == {
            "first": None, "direct": person(inst.leader, app), "spokespersons": [person(inst.drafter, app)],
            "duty_phone": "0371-65711111",
        }


@pytest.mark.parametrize("role", ["drafter", "leader", "office"])
def test_only_admin_may_change_a_unit(app: Flask, inst: Institute, role: str) -> None:
    who = {"drafter": inst.drafter, "leader": inst.leader, "office": inst.office}[role]
    resp = Api(app, who).put("/units/ZBS", {"duty_phone": "110"})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    # 403 comes before 404 and 400
    assert Api(app, who).put("/units/NOPE", {"first_responsible": "ghost"}).status_code == 403
    assert inst.admin.put("/units/NOPE", {"first_responsible": "ghost"}).status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"first_responsible": "ghost"}, "first_responsible"),
    ({"direct_responsible": 42}, "direct_responsible"),
    ({"spokespersons": ["ghost"]}, "spokespersons"),
    ({"spokespersons": "not a list"}, "spokespersons"),
    ({"parent": "NOPE"}, "parent"),
    ({"parent": "ZBS"}, "parent"),  # itself
    ({"parent": "ZBS1"}, "parent"),  # its own child: a cycle
    ({"duty_phone": "call me"}, "duty_phone"),
    ({"name": ""}, "name"),
])
def test_bad_register_changes_are_400_and_change_nothing(app: Flask, inst: Institute, body: dict[str, Any],
                                                          field: str) -> None:
    before = inst.admin.get("/units/ZBS").get_json()
    resp = inst.admin.put("/units/ZBS", {"duty_phone": "0371-65711111", **body})
    assert resp.status_code == 400, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]
    assert inst.admin.get("/units/ZBS").get_json() == before


def test_a_deactivated_person_cannot_be_named(app: Flask, inst: Institute) -> None:
    with app.app_context():
        found = User.by_username(inst.leader.username)
        assert found is not None
        found.active = False
        db.session.commit()
    resp = inst.admin.put("/units/ZBS", {"first_responsible": inst.leader.username})
    assert resp.status_code == 400 and "first_responsible" in resp.get_json()["error"]["fields"]
    assert inst.admin.put("/units/ZBS", {}).status_code == 200  # nothing named, nothing changed
    assert inst.admin.client.put("/api/v1/units/ZBS", data="{", headers=inst.admin.headers).status_code == 400


def test_people_by_kind_are_active_unique_and_in_order(app: Flask, inst: Institute) -> None:
    with app.app_context():
        admin = User.by_username(inst.admin.user.username)
        assert admin is not None
        register.update_unit(admin, "ZBS", {"first_responsible": inst.leader.username,
                                            "direct_responsible": inst.leader.username,
                                            "spokespersons": [inst.drafter2.username]})
        zbs = Unit.by_code("ZBS")
        assert zbs is not None
        names = [u.username for u in register.people(zbs, "first", "direct", "spokespersons", "drafters")]
        assert names == [inst.leader.username, inst.drafter2.username, inst.drafter.username]
        assert [u.username for u in register.people(zbs, "leaders", "office")] == [
            inst.leader.username, inst.office.username]
        drafter2 = User.by_username(inst.drafter2.username)
        assert drafter2 is not None
        drafter2.active = False
        db.session.commit()
        zbs = Unit.by_code("ZBS")
        assert zbs is not None
        assert [u.username for u in register.people(zbs, "spokespersons", "drafters")] == [inst.drafter.username]
        with pytest.raises(ValueError):
            register.people(zbs, "friends")


def test_cli_users_create_takes_email_and_phone(app: Flask, inst: Institute) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "li", "--unit", "ZBS", "--role", "drafter",
                                 "--email", "li@example.cn", "--phone", "0371-65711112"])
    assert result.exit_code == 0, result.output
    bad = runner.invoke(args=["users", "create", "zhao", "--unit", "ZBS", "--role", "drafter", "--email", "nope"])
    assert bad.exit_code == 1 and "error" in bad.output
    with app.app_context():
        li = User.by_username("li")
        assert li is not None and li.email == "li@example.cn" and li.phone == "0371-65711112"
        assert User.by_username("zhao") is None


# The admin pages --------------------------------------------------------------------------------


def test_admin_edits_the_register_on_the_page(app: Flask, inst: Institute) -> None:
    web = Browser(app, inst.admin.user.username)
    listing = web.get("/admin/units")
    assert listing.status_code == 200 and "植物保护研究所" in text(listing) and "单位与责任人" in text(listing)
    assert 'href="/admin/units"' in text(web.get("/"))  # in the nav for admins

    form = web.get("/admin/units/ZBS")
    assert form.status_code == 200 and 'name="duty_phone"' in text(form)

    bad = web.post("/admin/units/ZBS", {"name": "植物保护研究所", "parent": "ZBS1",
                                        "first_responsible": "ghost", "direct_responsible": "",
                                        "spokespersons": "", "duty_phone": "0371-65711111"})
    assert bad.status_code == 302 and bad.headers["Location"].endswith("/admin/units/ZBS")  # post/redirect/get
    shown = web.get(bad.headers["Location"])
    assert shown.status_code == 400
    page = text(shown)
    assert "用户不存在：ghost" in page and "上级单位不能是本单位或其下级单位" in page
    assert 'value="ghost"' in page  # what was typed is kept

    good = web.post("/admin/units/ZBS", {"name": "植物保护研究所", "parent": "OFFICE",
                                         "first_responsible": inst.leader.username, "direct_responsible": "",
                                         "spokespersons": f"{inst.drafter.username}，{inst.drafter2.username}",
                                         "duty_phone": "0371-65711111"})
    assert good.status_code == 302 and good.headers["Location"].endswith("/admin/units")
    after = text(web.get("/admin/units"))
    assert "已保存" in after and "0371-65711111" in after and inst.drafter2.username in after
    with app.app_context():
        zbs = Unit.by_code("ZBS")
        assert zbs is not None and [u.username for u in zbs.spokespersons] == [
            inst.drafter.username, inst.drafter2.username]
        assert zbs.parent is not None and zbs.parent.code == "OFFICE"

    english = web.get("/admin/units/ZBS?lang=en")
    assert "24-hour duty phone" in text(english) and "Units and responsibility" in text(english)


def test_the_admin_pages_are_for_admins_only(app: Flask, inst: Institute) -> None:
    web = Browser(app, inst.office.username)
    assert web.get("/admin/units").status_code == 403
    assert web.post("/admin/units/ZBS", {"name": "x"}).status_code == 403
    assert 'href="/admin/units"' not in text(web.get("/"))
    assert app.test_client().get("/admin/units").status_code == 302
