"""Approval to portal page: outbox rows, the worker, the pages, the feed, the ledger."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest

from tests.factories import Office
from tests.publishing.helpers import deliveries, drain


@pytest.fixture
def office(app: Any) -> Office:
    return Office(app, "ZBS")


def test_approval_publishes_to_portal_and_ledger(app: Any, office: Office) -> None:
    st = office.approved(channels=["portal"], body="# 情况说明\n\n经核实，网传**不实**。")
    assert st["status"] == "approved"
    assert st["deliveries"] == [{"channel": "portal", "state": "pending", "external_id": None, "url": None,
                                 "attempts": 0, "last_error": None, "published_at": None, "readback": None,
                                 # interface §14: every delivery says how it went out (the portal: publish)
                                 "mode": "publish", "msg_id": None, "msg_data_id": None, "article_idx": None,
                                 "sent_count": None, "total_count": None, "waiting_for_quota": False}]
    drain(app)
    st = office.drafter.get(f"/statements/{st['id']}").get_json()
    assert st["status"] == "published"
    portal = st["deliveries"][0]
    assert portal["state"] == "published" and portal["url"] == f"http://huiying.test/releases/{st['id']}"
    assert st["ledger_seq"] == 1

    page = office.drafter.client.get(f"/releases/{st['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>情况说明</h1>" in html and "<strong>不实</strong>" in html
    assert st["title"] in office.drafter.client.get("/releases").get_data(as_text=True)

    feed = office.drafter.client.get("/releases/feed.xml")
    assert feed.mimetype == "application/atom+xml"
    root = ElementTree.fromstring(feed.data)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert root.find("a:entry/a:title", ns).text == st["title"]

    ledger = office.expert.get("/ledger").get_json()
    entry = ledger["entries"][0]
    assert entry["kind"] == "published" and entry["revision_hash"] == st["revision"]["hash"]
    assert entry["payload"]["channels"]["portal"]["url"] == portal["url"]
    assert {a["stage"] for a in entry["payload"]["approvers"]} == {"expert", "leader"}
    assert ledger["head"] == {"seq": 1, "hash": entry["hash"]}
    assert office.leader.get("/ledger/verify").get_json() == {"ok": True, "entries": 1, "head": entry["hash"]}
    record = office.drafter.client.get("/record").get_data(as_text=True)  # public, times in Asia/Shanghai
    assert st["title"] in record and entry["hash"][:16] in record


def test_unpublished_statement_has_no_public_page(app: Any, office: Office) -> None:
    st = office.submitted()
    assert office.drafter.client.get(f"/releases/{st['id']}").status_code == 404


def test_retract_takes_it_down_and_keeps_the_record(app: Any, office: Office) -> None:
    st = office.approved(channels=["portal"])
    drain(app)
    resp = office.leader.post(f"/statements/{st['id']}/retract", {})
    assert resp.status_code == 400 and "reason" in resp.get_json()["error"]["fields"]
    resp = office.drafter.post(f"/statements/{st['id']}/retract", {"reason": "x"})
    assert resp.status_code == 403
    resp = office.leader.post(f"/statements/{st['id']}/retract", {"reason": "信息有误，待核实后重新发布"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "retracted"
    drain(app)
    assert deliveries(app, st["id"])["portal"]["state"] == "retracted"
    page = office.drafter.client.get(f"/releases/{st['id']}").get_data(as_text=True)
    assert "信息有误，待核实后重新发布" in page and "经核实，网传信息不实" not in page
    kinds = [e["kind"] for e in office.expert.get("/ledger").get_json()["entries"]]
    assert kinds == ["published", "retracted"]
    resp = office.leader.post(f"/statements/{st['id']}/retract", {"reason": "again"})
    assert resp.status_code == 409


def test_correct_links_original_and_correction(app: Any, office: Office) -> None:
    st = office.approved(channels=["portal"])
    drain(app)
    resp = office.drafter.post(f"/statements/{st['id']}/correct")
    assert resp.status_code == 201
    fix = resp.get_json()
    assert fix["corrects"] == st["id"] and fix["status"] == "draft" and fix["body"] == st["body"]
    office.drafter.put(f"/statements/{fix['id']}", {"body": "经核实，网传信息不实。更正：检测批次为 2026-11。"})
    fix = office.drafter.post(f"/statements/{fix['id']}/submit").get_json()
    fix = office.review(office.expert, fix, "expert").get_json()
    office.review(office.leader, fix, "leader")
    drain(app)
    original_page = office.drafter.client.get(f"/releases/{st['id']}").get_data(as_text=True)
    assert f"/releases/{fix['id']}" in original_page
    entries = office.expert.get("/ledger").get_json()["entries"]
    assert [e["kind"] for e in entries] == ["published", "published", "corrected"]
    assert entries[2]["payload"]["original_statement_id"] == st["id"]


def test_scheduled_statement_waits_for_go_live(app: Any, office: Office) -> None:
    st = office.approved(channels=["portal"], go_live_at="2099-01-01T09:00:00+08:00")
    assert st["status"] == "scheduled"
    drain(app)
    st = office.drafter.get(f"/statements/{st['id']}").get_json()
    assert st["status"] == "scheduled" and st["deliveries"][0]["state"] == "pending"


def test_retry_only_failed(app: Any, office: Office) -> None:
    st = office.approved(channels=["portal"])
    resp = office.office.post(f"/statements/{st['id']}/deliveries/portal/retry")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "wrong_state"
    resp = office.drafter.post(f"/statements/{st['id']}/deliveries/portal/retry")
    assert resp.status_code == 403
    resp = office.office.post(f"/statements/{st['id']}/deliveries/wechat/retry")
    assert resp.status_code == 404


def test_healthz(client: Any) -> None:
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["db"] == "ok" and body["redis"] == "ok" and isinstance(body["workers"], int)


def test_feed_links_and_images_are_absolute(app: Any, office: Office) -> None:
    """A feed reader elsewhere cannot resolve `/media/…`: every site path in the content is absolute."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (20, 10), (30, 120, 30)).save(buf, "PNG")
    resp = office.drafter.post("/images", data={"file": (io.BytesIO(buf.getvalue()), "photo.png")},
                               content_type="multipart/form-data")
    image = resp.get_json()["url"]
    st = office.approved(channels=["portal"], body=f"经核实，网传不实。\n\n![现场照片]({image})\n\n[公开记录](/record)")
    drain(app)
    feed = office.drafter.client.get("/releases/feed.xml")
    root = ElementTree.fromstring(feed.data)
    content = root.find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}content").text
    assert f'src="http://huiying.test{image}"' in content, content
    assert 'href="http://huiying.test/record"' in content
    assert 'src="/' not in content and 'href="/' not in content
    assert st["title"] in feed.get_data(as_text=True)
