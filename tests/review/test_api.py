"""The statements API as an integrator calls it: every interface §3 rule answers with its code."""

from __future__ import annotations

from typing import Any

import pytest

from review.models import revision_hash
from tests.factories import Api, Office, unit, user


@pytest.fixture
def office(app: Any) -> Office:
    return Office(app, "ZBS")


def code(resp: Any) -> str:
    return resp.get_json()["error"]["code"]


def test_full_review_reaches_approved_on_the_exact_hash(office: Office) -> None:
    st = office.submitted(agencies=["河南省农业农村厅"])
    assert st["status"] == "in_review" and st["pending_stage"] == "expert"
    expected = revision_hash(st["title"], st["digest"], st["body"])
    assert st["revision"]["hash"] == expected

    st = office.review(office.expert, st, "expert").get_json()
    assert st["pending_stage"] == "agency"
    resp = office.review(office.leader, st, "leader")
    assert resp.status_code == 409 and code(resp) == "stage_not_ready"

    resp = office.drafter.post(f"/statements/{st['id']}/confirmations", {
        "revision_hash": expected, "agency": "河南省农业农村厅", "contact": "王处长", "method": "phone",
    })
    assert resp.status_code == 201
    st = resp.get_json()
    assert st["pending_stage"] == "leader"
    assert st["confirmations"][0]["recorded_by"] == office.drafter.user.username

    st = office.review(office.leader, st, "leader").get_json()
    assert st["status"] == "approved" and st["pending_stage"] is None
    assert [r["revision_hash"] for r in st["reviews"]] == [expected, expected]


def test_unauthenticated_is_401_json(client: Any) -> None:
    resp = client.get("/api/v1/statements")
    assert resp.status_code == 401 and code(resp) == "unauthenticated"
    resp = client.post("/api/v1/statements", json={})
    assert resp.status_code == 401 and code(resp) == "unauthenticated"
    resp = client.get("/api/v1/statements", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401


def test_stale_hash_is_409(office: Office) -> None:
    st = office.submitted()
    old = st["revision"]["hash"]
    st2 = office.drafter.put(f"/statements/{st['id']}", {"body": "经核实，网传信息不实。特此说明。"}).get_json()
    assert st2["revision"]["number"] == 2 and st2["revision"]["hash"] != old
    resp = office.review(office.expert, st2, "expert", revision_hash=old)
    assert resp.status_code == 409 and code(resp) == "stale_revision"


def test_new_revision_voids_earlier_approvals(office: Office, app: Any) -> None:
    app.config["EXPERT_APPROVALS_REQUIRED"] = 2
    st = office.submitted()
    st = office.review(office.expert, st, "expert").get_json()
    assert st["pending_stage"] == "expert"
    st = office.drafter.put(f"/statements/{st['id']}", {"title": "关于网传小麦品种问题的说明"}).get_json()
    assert st["status"] == "in_review" and st["pending_stage"] == "expert"
    st = office.review(office.expert2, st, "expert").get_json()
    # the first expert's approval was for the old text: one approval on the current text is not two
    assert st["pending_stage"] == "expert"
    st = office.review(office.expert, st, "expert").get_json()
    assert st["pending_stage"] == "leader"


def test_self_review_forbidden_even_for_author_with_every_role(app: Any) -> None:
    u = unit(app, "ZBS")
    everyone = Api(app, user(app, u, "drafter", "expert", "leader", "admin"))
    body = {"title": "标题", "body": "正文"}
    st = everyone.post("/statements", body).get_json()
    everyone.post(f"/statements/{st['id']}/submit")
    resp = everyone.post(f"/statements/{st['id']}/reviews", {
        "revision_hash": st["revision"]["hash"], "stage": "expert", "decision": "approve"})
    assert resp.status_code == 403 and code(resp) == "self_review"


def test_one_person_cannot_approve_two_stages(app: Any) -> None:
    office = Office(app, "ZBS")
    both = Api(app, user(app, office.unit, "expert", "leader"))
    st = office.submitted()
    assert office.review(both, st, "expert").status_code == 201
    resp = office.review(both, st, "leader")
    assert resp.status_code == 403 and code(resp) == "duplicate_reviewer"
    resp = office.review(both, st, "expert")
    assert resp.status_code == 403 and code(resp) == "duplicate_reviewer"


def test_wrong_unit_and_wrong_role(app: Any) -> None:
    office = Office(app, "ZBS")
    other = Office(app, "NJS")
    st = office.submitted()
    resp = office.review(other.expert, st, "expert")
    assert resp.status_code == 403 and code(resp) == "wrong_unit"
    resp = office.review(office.drafter, st, "expert")
    assert resp.status_code == 403 and code(resp) == "wrong_role"
    resp = office.review(office.expert, st, "leader")
    assert resp.status_code == 403 and code(resp) == "wrong_role"
    resp = other.drafter.get(f"/statements/{st['id']}")
    assert resp.status_code == 403 and code(resp) == "wrong_unit"
    assert office.office.get(f"/statements/{st['id']}").status_code == 200
    resp = office.drafter.post("/statements", {"title": "t", "body": "b", "unit": "NJS"})
    assert resp.status_code == 403 and code(resp) == "wrong_unit"


def test_visibility_in_lists(app: Any) -> None:
    office = Office(app, "ZBS")
    other = Office(app, "NJS")
    office.draft()
    other.draft()
    assert office.drafter.get("/statements").get_json()["total"] == 1
    assert office.office.get("/statements").get_json()["total"] == 2
    assert office.office.get("/statements?unit=NJS").get_json()["total"] == 1
    resp = office.office.get("/statements?per_page=101")
    assert resp.status_code == 400 and "per_page" in resp.get_json()["error"]["fields"]


def test_request_changes_then_resubmit_restarts_review(office: Office) -> None:
    st = office.submitted()
    resp = office.review(office.expert, st, "expert", decision="request_changes")
    assert resp.status_code == 400 and "comment" in resp.get_json()["error"]["fields"]
    st = office.review(office.expert, st, "expert", decision="request_changes", comment="数据需核实").get_json()
    assert st["status"] == "changes_requested" and st["pending_stage"] is None
    resp = office.review(office.expert2, st, "expert")
    assert resp.status_code == 409 and code(resp) == "wrong_state"
    st = office.drafter.post(f"/statements/{st['id']}/submit").get_json()
    assert st["status"] == "in_review" and st["pending_stage"] == "expert"


def test_reject_ends_it(office: Office) -> None:
    st = office.submitted()
    st = office.review(office.expert, st, "expert", decision="reject", comment="不宜回应").get_json()
    assert st["status"] == "rejected"
    resp = office.drafter.put(f"/statements/{st['id']}", {"body": "x"})
    assert resp.status_code == 409 and code(resp) == "wrong_state"
    resp = office.drafter.post(f"/statements/{st['id']}/submit")
    assert resp.status_code == 409 and code(resp) == "wrong_state"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"title": "", "body": "x"}, "title"),
        ({"title": "x" * 65, "body": "x", "channels": ["portal"]}, "title"),
        ({"title": "x" * 33, "body": "x"}, "title"),
        ({"title": 5, "body": "x"}, "title"),
        ({"title": "t", "body": "x" * 50_001}, "body"),
        ({"title": "t", "body": "x", "digest": "d" * 121}, "digest"),
        ({"title": "t", "body": "x", "priority": "asap"}, "priority"),
        ({"title": "t", "body": "x", "channels": ["weibo"]}, "channels"),
        ({"title": "t", "body": "x", "channels": []}, "channels"),
        ({"title": "t", "body": "x", "unit": "NOPE"}, "unit"),
        ({"title": "t", "body": "x", "go_live_at": "2030-01-01T09:00:00"}, "go_live_at"),
        ({"title": "t", "body": "x", "go_live_at": "2020-01-01T09:00:00+08:00"}, "go_live_at"),
        ({"title": "t", "body": "x", "go_live_at": "tomorrow"}, "go_live_at"),
        ({"title": "t", "body": "x", "agencies": "厅"}, "agencies"),
        ({"title": "t", "body": "x", "case_ids": ["a"]}, "case_ids"),
        ({"title": "t", "body": "![x](http://evil.example/a.png)"}, "body"),
        ({"title": "t", "body": '<img src="https://evil.example/a.png">'}, "body"),
        ({"title": "t", "body": "![x](/media/" + "0" * 64 + ".png)"}, "body"),
        ({"body": "x"}, "title"),
    ],
)
def test_bad_input_is_400_with_fields(office: Office, body: dict[str, Any], field: str) -> None:
    resp = office.drafter.post("/statements", body)
    assert resp.status_code == 400, resp.get_json()
    err = resp.get_json()["error"]
    assert err["code"] == "invalid" and field in err["fields"]


def test_malformed_json_and_oversize(office: Office) -> None:
    resp = office.drafter.client.post("/api/v1/statements", data="{not json", headers={
        **office.drafter.headers, "Content-Type": "application/json"})
    assert resp.status_code == 400 and code(resp) == "invalid"
    resp = office.drafter.client.post("/api/v1/statements", data=b"[" + b"1," * 600_000 + b"1]", headers={
        **office.drafter.headers, "Content-Type": "application/json"})
    assert resp.status_code == 413 and code(resp) == "too_large"
    resp = office.drafter.post("/statements", ["a list"])
    assert resp.status_code == 400


def test_unknown_ids_are_404(office: Office) -> None:
    for resp in (
        office.drafter.get("/statements/999999"),
        office.drafter.put("/statements/999999", {"title": "x"}),
        office.drafter.post("/statements/999999/submit"),
        office.expert.post("/statements/999999/reviews", {"stage": "expert"}),
        office.drafter.get("/nothing-here"),
    ):
        assert resp.status_code == 404 and code(resp) == "not_found"


def test_error_precedence_403_before_404_before_400_before_409(office: Office) -> None:
    # a drafter reviewing: 403 wrong_role even though the statement does not exist
    resp = office.drafter.post("/statements/999999/reviews", {"stage": "expert"})
    assert resp.status_code == 403
    st = office.draft()
    # not in review (409) and a bad body (400): the 400 wins
    resp = office.expert.post(f"/statements/{st['id']}/reviews", {"stage": "expert", "decision": "maybe"})
    assert resp.status_code == 400
    resp = office.review(office.expert, st, "expert")
    assert resp.status_code == 409 and code(resp) == "wrong_state"


def test_confirmation_rules(office: Office, app: Any) -> None:
    st = office.submitted(agencies=["省林业局"])
    body = {"revision_hash": st["revision"]["hash"], "agency": "省林业局", "contact": "李", "method": "phone"}
    resp = office.drafter.post(f"/statements/{st['id']}/confirmations", body)
    assert resp.status_code == 409 and code(resp) == "stage_not_ready"
    office.review(office.expert, st, "expert")
    resp = office.expert.post(f"/statements/{st['id']}/confirmations", body)
    assert resp.status_code == 403 and code(resp) == "wrong_role"
    resp = office.drafter.post(f"/statements/{st['id']}/confirmations", {**body, "agency": "别的机构"})
    assert resp.status_code == 400 and "agency" in resp.get_json()["error"]["fields"]
    resp = office.drafter.post(f"/statements/{st['id']}/confirmations", {**body, "method": "email"})
    assert resp.status_code == 400 and "method" in resp.get_json()["error"]["fields"]
    resp = office.office.post(f"/statements/{st['id']}/confirmations", body)
    assert resp.status_code == 201 and resp.get_json()["pending_stage"] == "leader"


def test_preview_portal_is_sanitized_html(office: Office) -> None:
    st = office.draft(body="# 说明\n\n经核实<script>alert(1)</script>，**不实**。")
    resp = office.drafter.get(f"/statements/{st['id']}/preview?channel=portal")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert "<h1>说明</h1>" in html and "<strong>不实</strong>" in html and "<script" not in html
    resp = office.drafter.get(f"/statements/{st['id']}/preview?channel=fax")
    assert resp.status_code == 400


def test_cookie_session_needs_csrf_for_writes(app: Any, office: Office) -> None:
    web = app.test_client()
    page = web.get("/login")
    assert page.status_code == 200
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    assert token, "login form carries a CSRF token"
    resp = web.post("/login", data={"username": office.drafter.user.username, "password": "correct horse 42",
                                    "csrf_token": token.group(1)})
    assert resp.status_code == 302
    resp = web.post("/api/v1/statements", json={"title": "t", "body": "b"})
    assert resp.status_code == 403 and code(resp) == "forbidden"
    resp = web.post("/api/v1/statements", json={"title": "t", "body": "b"}, headers={"X-CSRFToken": token.group(1)})
    assert resp.status_code == 201
    assert web.get("/api/v1/statements").status_code == 200


def test_login_throttled_after_five_failures(app: Any, office: Office) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    web = app.test_client()
    name = office.drafter.user.username
    for _ in range(5):
        assert web.post("/login", data={"username": name, "password": "wrong"}).status_code == 200
    resp = web.post("/login", data={"username": name, "password": "correct horse 42"})
    assert resp.status_code == 429


def test_image_upload_checked_by_content(office: Office) -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (20, 10), (200, 30, 30)).save(buf, "PNG")
    resp = office.drafter.post("/images", data={"file": (io.BytesIO(buf.getvalue()), "photo.txt")},
                               content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    url = resp.get_json()["url"]
    assert url.endswith(".png") and url.startswith("/media/")
    resp = office.drafter.post("/images", data={"file": (io.BytesIO(b"GIF89a not really"), "x.gif")},
                               content_type="multipart/form-data")
    assert resp.status_code == 400 and code(resp) == "invalid"
    st = office.draft(body=f"现场照片：\n\n![现场]({url})")
    assert st["body"].endswith(f"({url})")
    assert office.drafter.client.get(url).status_code == 200
