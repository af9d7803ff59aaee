"""Two people act on one statement at the same instant: exactly one wins, the other is told so (409).

Over real HTTP on a threaded server, so requests really overlap: on SQLite (the embedded default) as on
PostgreSQL. Before the one door, 43 of 50 such pairs both "succeeded" on SQLite, and PostgreSQL answered
the loser with a 500.
"""

from __future__ import annotations

import threading
from typing import Any

import requests
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from publishing.models import LedgerEntry, Release
from review.models import Statement
from tests.factories import Office
from tests.live import serving
from tests.publishing.helpers import drain

PAIRS = 50


def _call(base: str, api: Any, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    resp = requests.request(method, f"{base}/api/v1{path}", json=body, headers=api.headers, timeout=60)
    try:
        return resp.status_code, resp.json()
    except ValueError:
        return resp.status_code, {"text": resp.text[:2000]}


def test_edit_racing_the_leaders_approval_has_one_winner(app: Flask) -> None:
    office = Office(app, "RACE")
    ready = []
    for i in range(PAIRS):
        st = office.submitted(channels=["portal"], body=f"经核实，网传信息不实。（{i}）")
        assert office.review(office.expert, st, "expert").status_code == 201
        ready.append(st)

    outcomes: list[tuple[int, int, int]] = []
    with serving(app) as base:
        for st in ready:
            gate = threading.Barrier(2)
            answers: dict[str, tuple[int, dict[str, Any]]] = {}

            def edit(st: dict[str, Any] = st, gate: threading.Barrier = gate,
                     answers: dict[str, Any] = answers) -> None:
                gate.wait()
                answers["edit"] = _call(base, office.drafter, "PUT", f"/statements/{st['id']}",
                                        {"body": f"经核实，网传信息不实，特此说明。（{st['id']}）"})

            def approve(st: dict[str, Any] = st, gate: threading.Barrier = gate,
                        answers: dict[str, Any] = answers) -> None:
                gate.wait()
                answers["approve"] = _call(base, office.leader, "POST", f"/statements/{st['id']}/reviews", {
                    "revision_hash": st["revision"]["hash"], "stage": "leader", "decision": "approve",
                    "comment": ""})

            threads = [threading.Thread(target=edit), threading.Thread(target=approve)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=90)
            (edit_status, edit_body), (approve_status, approve_body) = answers["edit"], answers["approve"]
            assert edit_status < 500 and approve_status < 500, (edit_body, approve_body)
            won = [name for name, (status, _) in answers.items() if status < 300]
            assert len(won) == 1, (st["id"], answers)
            lost = "approve" if won == ["edit"] else "edit"
            assert answers[lost][0] == 409, answers[lost]
            assert answers[lost][1]["error"]["code"] in ("wrong_state", "stale_revision"), answers[lost]
            outcomes.append((st["id"], edit_status, approve_status))

    drain(app)
    with app.app_context():
        for statement_id, edit_status, _ in outcomes:
            row = db.session.get(Statement, statement_id)
            assert row is not None and row.current_revision is not None
            release = db.session.scalar(select(Release).where(Release.statement_id == statement_id))
            if edit_status < 300:  # the edit won: a new text, back at the expert stage, nothing released
                assert row.status == "in_review" and row.current_revision.number == 2 and release is None
                continue
            # the approval won: what went out is exactly the approved, current text
            assert row.status == "published", row.status
            assert row.approved_revision_id == row.current_revision_id and row.current_revision.number == 1
            entry = db.session.scalar(select(LedgerEntry).where(
                LedgerEntry.statement_id == statement_id, LedgerEntry.kind == "published"))
            assert entry is not None and entry.revision_hash == row.current_revision.hash == release.revision_hash
