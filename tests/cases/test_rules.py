"""Who may take each step of a case: every role, in the lead unit and in another unit (interface §8)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.cases.helpers import Cast, ago

OK = 201
A, B = "A", "B"
ACTORS = [("drafter", A), ("expert", A), ("leader", A), ("drafter", B), ("expert", B), ("leader", B),
          ("office", None), ("admin", None)]


def _api(cast: Cast, role: str, code: str | None) -> Any:
    if role == "office":
        return cast.office
    if role == "admin":
        return cast.admin
    return cast[role, code]


#: step → (state it needs, body, {(role, unit): expected status or error code})
MATRIX: dict[str, tuple[str, dict[str, Any], dict[tuple[str, str | None], Any]]] = {
    "assessment": ("registered", {"level": 2, "rationale": "或引发集中关注", "must_respond": True}, {
        ("drafter", A): "wrong_role", ("expert", A): "wrong_role", ("leader", A): OK,
        ("drafter", B): "wrong_unit", ("expert", B): "wrong_unit", ("leader", B): "wrong_unit",
        ("office", None): OK, ("admin", None): "wrong_role"}),
    "assignment": ("assessed", {"lead_unit": A, "assisting_units": [B], "note": "请核实"}, {
        ("drafter", A): "wrong_role", ("expert", A): "wrong_role", ("leader", A): "wrong_role",
        ("drafter", B): "wrong_unit", ("expert", B): "wrong_unit", ("leader", B): "wrong_unit",
        ("office", None): OK, ("admin", None): "wrong_role"}),
    "acceptance": ("assigned", {"note": "已受理"}, {
        ("drafter", A): OK, ("expert", A): "wrong_role", ("leader", A): OK,
        ("drafter", B): "wrong_unit", ("expert", B): "wrong_role", ("leader", B): "wrong_unit",
        ("office", None): "wrong_role", ("admin", None): "wrong_role"}),
    "feedback": ("assigned", {"note": "已联系发帖人"}, {
        ("drafter", A): OK, ("expert", A): "wrong_role", ("leader", A): OK,
        ("drafter", B): OK, ("expert", B): "wrong_role", ("leader", B): OK,
        ("office", None): OK, ("admin", None): "wrong_role"}),
    "responses": ("handling", {"form": "media_interview", "held_at": ago(minutes=3), "note": "接受采访"}, {
        ("drafter", A): OK, ("expert", A): "wrong_role", ("leader", A): OK,
        ("drafter", B): "wrong_unit", ("expert", B): "wrong_role", ("leader", B): "wrong_unit",
        ("office", None): OK, ("admin", None): "wrong_role"}),
    "close": ("responded", {"outcome": "已澄清，舆情平息"}, {
        ("drafter", A): "wrong_role", ("expert", A): "wrong_role", ("leader", A): OK,
        ("drafter", B): "wrong_role", ("expert", B): "wrong_role", ("leader", B): "wrong_unit",
        ("office", None): OK, ("admin", None): "wrong_role"}),
}


@pytest.mark.parametrize("step", list(MATRIX))
def test_every_role_in_own_and_other_unit(app: Flask, step: str) -> None:
    cast = Cast(app)
    state, body, expected = MATRIX[step]
    for role, code in ACTORS:
        case = cast.at(state)
        resp = _api(cast, role, code).post(f"/cases/{case['id']}/{step}", body)
        want = expected[role, code]
        if want == OK:
            assert resp.status_code == 201, (step, role, code, resp.get_json())
            continue
        assert resp.status_code == 403, (step, role, code, resp.get_json())
        assert resp.get_json()["error"]["code"] == want, (step, role, code)
        after = cast.office.get(f"/cases/{case['id']}").get_json()
        assert after["status"] == state and len(after["events"]) == len(case["events"]), (step, role, code)


def test_closing_without_a_public_response_is_for_the_lead_units_leader_with_a_reason(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("handling")
    body = {"outcome": "经核实为个别现象", "no_response_reason": "影响有限，不宜扩散"}
    for who, code in ((cast.office, "wrong_role"), (cast["drafter", A], "wrong_role"),
                      (cast["leader", B], "wrong_unit")):
        resp = who.post(f"/cases/{case['id']}/close", body)
        assert resp.status_code == 403 and resp.get_json()["error"]["code"] == code
    resp = cast.leader.post(f"/cases/{case['id']}/close", {"outcome": "经核实为个别现象"})
    assert resp.status_code == 400
    assert "no_response_reason" in resp.get_json()["error"]["fields"]
    resp = cast.leader.post(f"/cases/{case['id']}/close", body)
    assert resp.status_code == 201, resp.get_json()
    closed = resp.get_json()
    assert closed["status"] == "closed"
    assert closed["events"][-1]["data"]["no_response_reason"] == "影响有限，不宜扩散"


def test_registering_is_for_drafters_of_a_unit_concerned_and_the_office(app: Flask) -> None:
    cast = Cast(app)
    body = {"title": "热线反映实验田农药残留", "source": "hotline"}
    assert cast.drafter.post("/cases", body).get_json()["units"] == [A]  # default: the caller's unit
    assert cast.drafter.post("/cases", {**body, "units": [B, A]}).status_code == 201
    resp = cast.drafter.post("/cases", {**body, "units": [B]})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "wrong_unit"
    for role in ("expert", "leader"):
        resp = cast[role, A].post("/cases", body)
        assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "wrong_role"
    assert cast.admin.post("/cases", body).status_code == 403
    assert cast.office.post("/cases", {**body, "units": [B]}).status_code == 201


def test_other_units_neither_see_nor_list_a_case_until_it_concerns_them(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("assessed")
    for role in ("drafter", "expert", "leader"):
        assert cast[role, A].get(f"/cases/{case['id']}").status_code == 200
        resp = cast[role, B].get(f"/cases/{case['id']}")
        assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "wrong_unit"
        assert cast[role, B].get("/cases").get_json() == {"items": [], "total": 0}
    assert cast.admin.get(f"/cases/{case['id']}").status_code == 200
    cast.office.post(f"/cases/{case['id']}/assignment", {"lead_unit": A, "assisting_units": [B]})
    assert cast["expert", B].get(f"/cases/{case['id']}").status_code == 200
    assert cast["expert", B].get("/cases").get_json()["total"] == 1
