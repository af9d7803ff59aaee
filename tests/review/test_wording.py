"""What a new user read wrongly around review (issue 27, items 13, 15, 17).

Notifications asking for a step stayed unread after the statement had moved on; the leader's summary named
a correction's original as 第 N 号 (the record's numbering); approving said nothing of the publication that
had just started.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.factories import Api, Office
from tests.publishing.helpers import drain
from tests.review.test_web import Browser, section, text


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


def unread(api: Api, kind: str) -> list[dict[str, Any]]:
    resp = api.get("/notifications?unread=true")
    assert resp.status_code == 200
    return [n for n in resp.get_json()["items"] if n["kind"] == kind]


def test_a_review_request_is_done_for_everyone_once_the_statement_moves_on(app: Flask, office: Office) -> None:
    st = office.submitted(channels=["portal"])
    assert len(unread(office.expert, "review_requested")) == 1
    assert len(unread(office.expert2, "review_requested")) == 1
    assert office.review(office.expert, st, "expert").status_code == 201
    # the other expert's 请您审核 asks for nothing any more; the leader's 待领导审批 is now current
    assert unread(office.expert2, "review_requested") == []
    assert unread(office.expert, "review_requested") == []
    assert len(unread(office.leader, "review_requested")) == 1
    others = office.expert2.get("/notifications").get_json()["items"]
    assert [n["kind"] for n in others] == ["review_requested"] and others[0]["read_at"]  # kept, marked done

    assert office.review(office.leader, st, "leader").status_code == 201
    drain(app)
    assert office.drafter.get(f"/statements/{st['id']}").get_json()["status"] == "published"
    assert unread(office.leader, "review_requested") == []
    assert len(unread(office.drafter, "statement_published")) == 1  # what is news stays unread


def test_a_new_revision_replaces_the_request_and_a_resubmission_ends_changes_requested(
        app: Flask, office: Office) -> None:
    st = office.submitted()
    edited = office.drafter.put(f"/statements/{st['id']}", {"body": "经核实，网传信息不实。特此说明。"}).get_json()
    waiting = unread(office.expert, "review_requested")
    assert len(waiting) == 1 and "第 2 稿" in waiting[0]["body"]  # only the request about the current text
    resp = office.review(office.expert, edited, "expert", "request_changes", "请补充检测依据")
    assert resp.status_code == 201
    assert unread(office.expert2, "review_requested") == []
    assert len(unread(office.drafter, "changes_requested")) == 1
    assert office.drafter.post(f"/statements/{st['id']}/submit").status_code == 200
    assert unread(office.drafter, "changes_requested") == []
    assert len(unread(office.expert2, "review_requested")) == 1


def test_the_leaders_summary_names_a_correction_by_its_statement_number(app: Flask, office: Office) -> None:
    for _ in range(2):
        office.draft()
    st = office.approved(channels=["portal"])
    drain(app)
    fix = office.drafter.post(f"/statements/{st['id']}/correct").get_json()
    office.drafter.post(f"/statements/{fix['id']}/submit")
    assert office.review(office.expert, fix, "expert").status_code == 201
    plan = section(Browser(app, office.leader.user.username).get(f"/statements/{fix['id']}"), "review")
    assert f"本稿是对回应 {st['id']} 的更正" in plan and "号回应" not in plan


def test_approving_says_the_publication_has_started(app: Flask, office: Office) -> None:
    st = office.submitted(channels=["portal"])
    assert office.review(office.expert, st, "expert").status_code == 201
    leader = Browser(app, office.leader.user.username)
    resp = leader.post(f"/statements/{st['id']}/reviews", {"revision_hash": st["revision"]["hash"], "stage": "leader",
                                                           "decision": "approve", "confirm_release": "yes"})
    assert resp.status_code == 302
    assert "已批准，正在发布" in text(leader.get(resp.headers["Location"]))

    later = office.submitted(channels=["portal"], go_live_at="2099-01-01T09:00:00+08:00")
    assert office.review(office.expert, later, "expert").status_code == 201
    resp = leader.post(f"/statements/{later['id']}/reviews", {
        "revision_hash": later["revision"]["hash"], "stage": "leader", "decision": "approve",
        "confirm_release": "yes"})
    page = text(leader.get(resp.headers["Location"]))
    assert "已批准，将于 2099-01-01 09:00 发布" in page and "正在发布" not in page
