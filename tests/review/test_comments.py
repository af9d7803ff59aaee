"""A second expert's comment is not thrown away when the stage moved on while they typed (issue 11, bug 5)."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.factories import Office
from tests.publishing.test_pages import csrf, login


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "CMT")


def test_a_late_experts_comment_is_kept_as_a_comment(app: Flask, office: Office) -> None:
    st = office.submitted(channels=["portal"])
    late = login(app, office.expert2.user.username)
    token = csrf(late, f"/statements/{st['id']}")  # the page showed the expert form
    assert office.review(office.expert, st, "expert").status_code == 201  # the other expert was quicker
    resp = late.post(f"/statements/{st['id']}/reviews", data={
        "csrf_token": token, "revision_hash": st["revision"]["hash"], "stage": "expert", "decision": "approve",
        "comment": "第二段的数据来源请注明"}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "已作为评论保存" in page
    assert "第二段的数据来源请注明" in page and "评论（不计入审核结论）" in page
    body = office.drafter.get(f"/statements/{st['id']}").get_json()
    assert [c["comment"] for c in body["comments"]] == ["第二段的数据来源请注明"]
    assert len(body["reviews"]) == 1 and body["pending_stage"] == "leader"  # it counted for nothing


def test_without_a_comment_the_refusal_stands(app: Flask, office: Office) -> None:
    st = office.submitted(channels=["portal"])
    late = login(app, office.expert2.user.username)
    token = csrf(late, f"/statements/{st['id']}")
    assert office.review(office.expert, st, "expert").status_code == 201
    resp = late.post(f"/statements/{st['id']}/reviews", data={
        "csrf_token": token, "revision_hash": st["revision"]["hash"], "stage": "expert", "decision": "approve",
        "comment": ""}, follow_redirects=True)
    assert resp.status_code == 409
    assert office.drafter.get(f"/statements/{st['id']}").get_json()["comments"] == []


def test_comments_through_the_api(office: Office) -> None:
    st = office.submitted(channels=["portal"])
    resp = office.expert.post(f"/statements/{st['id']}/comments",
                              {"revision_hash": st["revision"]["hash"], "comment": "建议补充检测机构名称"})
    assert resp.status_code == 201 and resp.get_json()["comments"][0]["author"] == office.expert.user.username
    bad = office.expert.post(f"/statements/{st['id']}/comments", {"revision_hash": "f" * 64, "comment": ""})
    assert bad.status_code == 400
    assert set(bad.get_json()["error"]["fields"]) == {"comment", "revision_hash"}
    assert office.drafter.post(f"/statements/{st['id']}/comments", {"revision_hash": st["revision"]["hash"],
                                                                    "comment": "x"}).status_code == 403
    assert re.fullmatch(r"[0-9a-f]{64}", st["revision"]["hash"])


