"""Separation of duties is about the text, not the round (interface §3, rule 3).

A person holding the expert and the leader role approves revision H as expert; the statement is sent
back and resubmitted unchanged (or edited and reverted to the identical text); another expert approves;
the same person must not approve H as leader. Before, the second approval was accepted (201, approved).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.factories import Api, Office, user

TEXT = {"title": "关于网传小麦品种问题的回应", "digest": "情况说明", "body": "经核实，网传信息不实。"}


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"EXPERT_APPROVALS_REQUIRED": 1}


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "SOD")


@pytest.fixture
def boss(app: Flask, office: Office) -> Api:
    return Api(app, user(app, office.unit, "expert", "leader"))


def review(office: Office, who: Api, st: dict[str, Any], stage: str, decision: str = "approve") -> Any:
    return office.review(who, st, stage, decision, comment="请修改" if decision != "approve" else "")


def test_sent_back_and_resubmitted_unchanged(office: Office, boss: Api) -> None:
    st = office.submitted(**TEXT)
    assert review(office, boss, st, "expert").status_code == 201
    assert review(office, office.leader, st, "leader", "request_changes").status_code == 201
    again = office.drafter.post(f"/statements/{st['id']}/submit").get_json()
    assert again["revision"]["hash"] == st["revision"]["hash"]  # the identical text, a new round
    assert review(office, office.expert, again, "expert").status_code == 201
    resp = review(office, boss, again, "leader")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "duplicate_reviewer"
    # and the same person may not approve it again at the stage they already approved, either
    assert review(office, office.leader, again, "leader").status_code == 201


def test_edited_and_reverted_to_the_identical_text(office: Office, boss: Api) -> None:
    st = office.submitted(**TEXT)
    assert review(office, boss, st, "expert").status_code == 201
    changed = office.drafter.put(f"/statements/{st['id']}", {"body": "经核实，网传信息与事实不符。"}).get_json()
    assert changed["revision"]["hash"] != st["revision"]["hash"]
    reverted = office.drafter.put(f"/statements/{st['id']}", {"body": TEXT["body"]}).get_json()
    assert reverted["revision"]["hash"] == st["revision"]["hash"] and reverted["revision"]["number"] == 3
    assert review(office, office.expert, reverted, "expert").status_code == 201
    resp = review(office, boss, reverted, "leader")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "duplicate_reviewer"


def test_a_new_text_may_be_approved_by_someone_who_approved_an_older_one(office: Office, boss: Api) -> None:
    st = office.submitted(**TEXT)
    assert review(office, boss, st, "expert").status_code == 201
    changed = office.drafter.put(f"/statements/{st['id']}", {"body": "经核实，网传信息与事实不符。"}).get_json()
    assert review(office, office.expert, changed, "expert").status_code == 201
    resp = review(office, boss, changed, "leader")
    assert resp.status_code == 201 and resp.get_json()["status"] == "approved"


def test_anyone_who_wrote_a_revision_never_reviews(app: Flask, office: Office) -> None:
    hybrid = Api(app, user(app, office.unit, "drafter", "expert"))
    st = office.submitted(**TEXT)
    edited = hybrid.put(f"/statements/{st['id']}", {"body": "经核实，网传信息与事实不符。"}).get_json()
    reverted = office.drafter.put(f"/statements/{st['id']}", {"body": TEXT["body"]}).get_json()
    assert edited["revision"]["hash"] != reverted["revision"]["hash"]
    resp = review(office, hybrid, reverted, "expert")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "self_review"


def test_the_same_words_in_another_statement_are_another_matter(office: Office, boss: Api) -> None:
    first = office.submitted(**TEXT)
    assert review(office, boss, first, "expert").status_code == 201
    second = office.submitted(**TEXT)
    assert second["revision"]["hash"] == first["revision"]["hash"]
    assert review(office, office.expert, second, "expert").status_code == 201
    assert review(office, boss, second, "leader").status_code == 201
