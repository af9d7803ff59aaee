"""The interaction desk, first part (interface §15): intake by other systems and WeChat's callback, routing,
the integration role, visibility, escalation to a case, and the clocks' exactly-once notices."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent
from app.notifications.models import Notification
from app.timeutil import utcnow
from interaction import clock
from interaction.models import Interaction
from tests.cases.helpers import Cast
from tests.factories import Api, user
from wechat.sandbox.events import sign

TOKEN = "callback-token"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"WECHAT_TOKEN": TOKEN}


@pytest.fixture
def cast(app: Flask) -> Cast:
    return Cast(app)


@pytest.fixture
def integration(app: Flask, cast: Cast) -> Api:
    return Api(app, user(app, cast.office_unit, "integration", username="hotline_system"))


def message(external_id: str = "T-1", **fields: Any) -> dict[str, Any]:
    return {"channel": "hotline", "external_id": external_id, "text": "请问小麦赤霉病怎么防治？",
            "author": "王先生", "received_at": utcnow().isoformat(), **fields}


def posted(api: Api, **fields: Any) -> dict[str, Any]:
    resp = api.post("/interactions", message(**fields))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


# --- intake -----------------------------------------------------------------------------------------------

def test_intake_is_idempotent_by_channel_and_external_id(app: Flask, integration: Api) -> None:
    first = integration.post("/interactions", message())
    assert first.status_code == 201
    body = first.get_json()
    assert body["status"] == "new" and body["unit"] is None and body["channel"] == "hotline"
    assert [e["kind"] for e in body["events"]] == ["received"]
    again = integration.post("/interactions", message(text="另一段文字"))
    assert again.status_code == 200 and again.get_json()["id"] == body["id"]
    assert again.get_json()["text"] == "请问小麦赤霉病怎么防治？"
    other_channel = integration.post("/interactions", message(channel="portal_message"))
    assert other_channel.status_code == 201 and other_channel.get_json()["id"] != body["id"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Interaction)) == 2
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "interaction.create")) == 2


def test_intake_with_a_unit_arrives_assigned_and_tells_the_unit(app: Flask, cast: Cast, integration: Api) -> None:
    body = posted(integration, unit=cast.a)
    assert body["status"] == "assigned" and body["unit"] == cast.a
    assert [e["kind"] for e in body["events"]] == ["received", "assigned"]
    inbox = cast.drafter.get("/notifications").get_json()["items"]
    assert [n["kind"] for n in inbox] == ["interaction_assigned"]
    assert inbox[0]["url"] == f"/interactions/{body['id']}"


def test_texts_are_bounded_and_cleaned(integration: Api) -> None:
    long = integration.post("/interactions", message(text="字" * 5001))
    assert long.status_code == 400 and "text" in long.get_json()["error"]["fields"]
    assert integration.post("/interactions", message(external_id="T-5000", text="字" * 5000)).status_code == 201
    cleaned = posted(integration, external_id="T-ctl", text="\x07有\x1b人\u0085问\n第二行\x7f")
    assert cleaned["text"] == "有人问\n第二行"
    blank = integration.post("/interactions", message(external_id="T-blank", text="\x01\x02 "))
    assert blank.status_code == 400 and "text" in blank.get_json()["error"]["fields"]
    for bad in ({"channel": "wechat_message"}, {"received_at": "2999-01-01T00:00:00+08:00"},
                {"unit": "NOPE"}, {"due_at": "1999-01-01T00:00:00Z"}):
        resp = integration.post("/interactions", message(external_id="T-bad", **bad))
        assert resp.status_code == 400, (bad, resp.get_json())
        assert set(resp.get_json()["error"]["fields"]) == set(bad), resp.get_json()


def test_a_hotline_ticket_keeps_its_own_deadline(integration: Api) -> None:
    received = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    due = received + timedelta(days=2)
    body = posted(integration, received_at=received.isoformat(), due_at=due.isoformat())
    assert datetime.fromisoformat(body["due_at"]) == due


def test_default_clocks_by_channel_and_the_configured_ones(app: Flask, integration: Api) -> None:
    # Monday 2026-03-02 09:00 in Shanghai: 5 working days end at 24:00 of Monday 03-09
    received = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    body = posted(integration, external_id="P-1", channel="portal_message", received_at=received.isoformat())
    assert datetime.fromisoformat(body["due_at"]) == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
    app.config["INTERACTION_DEADLINES"] = '{"portal_message": "10h"}'
    body = posted(integration, external_id="P-2", channel="portal_message", received_at=received.isoformat())
    assert datetime.fromisoformat(body["due_at"]) == received + timedelta(hours=10)


# --- roles, visibility ------------------------------------------------------------------------------------

def test_every_route_by_role(app: Flask, cast: Cast, integration: Api) -> None:
    item = posted(cast.office)
    other = posted(cast.office, external_id="T-2", unit=cast.b)
    path = f"/interactions/{item['id']}"
    for role in ("drafter", "expert", "leader"):
        api = cast[role, cast.a]
        assert api.post("/interactions", message(external_id=f"X-{role}")).status_code == 403
        assert api.post(f"{path}/assign", {"unit": cast.a}).status_code == 403
        # not their unit's (yet): neither shown nor escalated
        assert api.get(path).status_code == 403
        assert api.post(f"{path}/case").status_code == 403
        assert api.get(f"/interactions/{other['id']}").status_code == 403
        assert api.get("/interactions").get_json()["total"] == 0
        assert api.get("/interactions/999999").status_code == 404
    assert cast.admin.post("/interactions", message(external_id="X-admin")).status_code == 403
    assert cast.admin.post(f"{path}/assign", {"unit": cast.a}).status_code == 403
    assert cast.admin.get(path).status_code == 200  # admin sees all, as for cases
    # the integration token may post and nothing else
    assert integration.get("/interactions").status_code == 403
    assert integration.get(path).status_code == 403
    assert integration.post(f"{path}/assign", {"unit": cast.a}).status_code == 403
    assert integration.post(f"{path}/case").status_code == 403
    assert cast.office.post("/interactions/999999/assign", {"unit": cast.a}).status_code == 404
    assert cast.office.post("/interactions/999999/case").status_code == 404
    anonymous = app.test_client()
    assert anonymous.get("/api/v1/interactions").status_code == 401
    assert anonymous.post("/api/v1/interactions", json=message()).status_code == 401
    # once assigned to A, A's people see it and may escalate it; B's do not
    assert cast.office.post(f"{path}/assign", {"unit": cast.a}).status_code == 200
    for role in ("drafter", "expert", "leader"):
        assert cast[role, cast.a].get(path).status_code == 200
        assert cast[role, cast.b].get(path).status_code == 403
    assert cast["expert", cast.a].post(f"{path}/case").status_code == 403
    assert cast["drafter", cast.b].post(f"{path}/case").status_code == 403
    listed = cast.drafter.get("/interactions").get_json()
    assert [i["id"] for i in listed["items"]] == [item["id"]] and listed["total"] == 1


@pytest.mark.parametrize("path, method", [
    ("/statements", "get"), ("/cases", "get"), ("/notifications", "get"), ("/units", "get"), ("/users", "get"),
    ("/audit", "get"), ("/wechat/quota", "get"), ("/cases", "post"), ("/statements", "post"),
    ("/reports/summary", "get"), ("/terms", "get"),
])
def test_the_integration_role_is_refused_everywhere_else(integration: Api, path: str, method: str) -> None:
    resp = getattr(integration, method)(path, **({"json": {}} if method == "post" else {}))
    assert resp.status_code == 403, (path, resp.get_json())


def test_an_integration_account_cannot_sign_in(app: Flask, cast: Cast, integration: Api) -> None:
    from tests.factories import PASSWORD

    client = app.test_client()
    page = client.get("/login")
    assert page.status_code == 200
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    resp = client.post("/login", data={"username": "hotline_system", "password": PASSWORD, "csrf_token": token})
    assert client.get("/api/v1/interactions").status_code == 401, resp.status_code


# --- routing, escalation ------------------------------------------------------------------------------------

def test_the_office_assigns_and_reassigns(app: Flask, cast: Cast) -> None:
    item = posted(cast.office)
    path = f"/interactions/{item['id']}"
    resp = cast.office.post(f"{path}/assign", {"unit": cast.a})
    assert resp.status_code == 200 and resp.get_json()["status"] == "assigned"
    assert cast.office.post(f"{path}/assign", {"unit": cast.a}).status_code == 409
    assert cast.office.post(f"{path}/assign", {"unit": "NOPE"}).status_code == 400
    resp = cast.office.post(f"{path}/assign", {"unit": cast.b})
    assert resp.status_code == 200 and resp.get_json()["unit"] == cast.b
    assert [e["data"]["unit"] for e in resp.get_json()["events"] if e["kind"] == "assigned"] == [cast.a, cast.b]
    assert [n["kind"] for n in cast["drafter", cast.b].get("/notifications").get_json()["items"]] \
        == ["interaction_assigned"]
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "interaction")
                                     .order_by(AuditEvent.id)).all()
    assert actions == ["interaction.create", "interaction.assign", "interaction.assign"]


def test_escalation_makes_one_case_linked_both_ways(app: Flask, cast: Cast) -> None:
    item = posted(cast.office, unit=cast.a)
    resp = cast.drafter.post(f"/interactions/{item['id']}/case")
    assert resp.status_code == 201, resp.get_json()
    case_id = resp.get_json()["case_id"]
    assert case_id and "case_linked" in [e["kind"] for e in resp.get_json()["events"]]
    case = cast.drafter.get(f"/cases/{case_id}").get_json()
    assert case["source"] == "hotline" and case["lead_unit"] == cast.a and case["summary"] == item["text"]
    assert datetime.fromisoformat(case["discovered_at"]) == datetime.fromisoformat(item["received_at"])
    again = cast.office.post(f"/interactions/{item['id']}/case")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "wrong_state"
    assert cast.office.get("/cases").get_json()["total"] == 1


# --- WeChat follower messages -------------------------------------------------------------------------------

def follower_text(msg_id: str, content: str, created: int, openid: str = "oFollower0001") -> str:
    return (f"<xml><ToUserName><![CDATA[gh_sandbox]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def push(client: FlaskClient, body: str) -> Any:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    query = {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    return client.post("/wechat/callback", query_string=query, data=body.encode(), content_type="text/xml")


def test_follower_messages_are_kept_once_per_msg_id_without_the_openid(
        app: Flask, cast: Cast, client: FlaskClient, redis_client: Any) -> None:
    created = int(time.time()) - 600
    body = follower_text("24000000001", "你好，请问新品种在哪里买？", created)
    assert push(client, body).get_data(as_text=True) == "success"
    redis_client.flushdb()  # Redis forgot the push: the database still knows the MsgId
    assert push(client, body).get_data(as_text=True) == "success"
    assert push(client, follower_text("24000000002", "还有一个问题", created + 5)).status_code == 200
    # other pushes are left alone
    assert push(client, body.replace("text", "image")).status_code == 200
    items = cast.office.get("/interactions?channel=wechat_message").get_json()["items"]
    assert len(items) == 2
    first = next(i for i in items if i["external_id"] == "24000000001")
    assert first["status"] == "new" and first["text"] == "你好，请问新品种在哪里买？"
    assert datetime.fromisoformat(first["received_at"]) == datetime.fromtimestamp(created, UTC)
    assert datetime.fromisoformat(first["due_at"]) == datetime.fromtimestamp(created, UTC) + timedelta(hours=48)
    assert "oFollower0001" not in str(cast.office.get(f"/interactions/{first['id']}").get_json())
    with app.app_context():
        rows = db.session.scalars(select(Interaction)).all()
        assert {r.author_key for r in rows} == {rows[0].author_key} and rows[0].author_key
        assert "oFollower0001" not in rows[0].author_key
        assert all("oFollower0001" not in str(v) for r in rows for v in vars(r).values())
    assert [n["kind"] for n in cast.office.get("/notifications").get_json()["items"]] \
        == ["interaction_assigned", "interaction_assigned"]


# --- clocks -------------------------------------------------------------------------------------------------

def test_clocks_warn_at_80_percent_and_overdue_exactly_once(app: Flask, cast: Cast) -> None:
    received = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    app.config["INTERACTION_DEADLINES"] = '{"hotline": "10h"}'
    with time_machine.travel(received, tick=False):
        item = posted(cast.office, unit=cast.a, received_at=received.isoformat())
        unassigned = posted(cast.office, external_id="T-2", received_at=received.isoformat())

    def sweep_at(moment: datetime) -> int:
        with app.app_context(), time_machine.travel(moment, tick=False):
            return clock.sweep()

    assert sweep_at(received + timedelta(hours=7, minutes=59)) == 0
    warned = sweep_at(received + timedelta(hours=8))
    assert warned == sweep_at(received + timedelta(hours=8)) + warned  # a second sweep adds nothing
    assert warned > 0
    overdue = sweep_at(received + timedelta(hours=11))
    assert overdue > 0 and sweep_at(received + timedelta(hours=12)) == 0
    with app.app_context():
        rows = db.session.execute(select(Notification.kind, Notification.key, func.count())
                                  .where(Notification.kind.like("interaction_%"))
                                  .group_by(Notification.kind, Notification.key)).all()
    keys = {(kind, key) for kind, key, _n in rows}
    for i in (item, unassigned):
        assert ("interaction_due", f"interaction:{i['id']}:80") in keys
        assert ("interaction_overdue", f"interaction:{i['id']}:100") in keys
    # who: the unit's drafters and direct responsible at 80 %, the direct responsible and the office overdue
    assert {n["kind"] for n in cast.drafter.get("/notifications").get_json()["items"]} \
        == {"interaction_assigned", "interaction_due"}
    assert {n["kind"] for n in cast["leader2", cast.a].get("/notifications").get_json()["items"]} \
        == {"interaction_assigned", "interaction_due", "interaction_overdue"}
    office_kinds = [n["kind"] for n in cast.office.get("/notifications").get_json()["items"]]
    assert office_kinds.count("interaction_overdue") == 2 and office_kinds.count("interaction_due") == 1
    overdue_list = cast.office.get("/interactions?overdue=true").get_json()
    assert overdue_list["total"] == 2 and all(i["overdue"] for i in overdue_list["items"])
