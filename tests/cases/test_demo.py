"""The demo cases: every state, an overdue one in the office's inbox, one about to cross 80 %."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.notifications.models import Notification
from cases import demo as case_demo
from cases.models import Case, CaseStatus, Deadline
from huiying import demo


def test_demo_seeds_every_state_once_with_live_clocks(app: Flask) -> None:
    with app.app_context():
        said = list(demo.seed())  # the demo seeds the cases with everything else
        assert sum("case" in line for line in said) >= 1, said
        assert list(case_demo.seed()) == []  # idempotent
        assert not [line for line in demo.seed() if "case" in line]
        cases = list(db.session.scalars(select(Case)))
        assert {c.status for c in cases} == {s.value for s in CaseStatus}
        deadlines = list(db.session.scalars(select(Deadline).where(Deadline.met_at.is_(None))))
        assert any(d.state().value == "overdue" for d in deadlines)
        assert any(0.7 < d.fraction() < 0.8 for d in deadlines)
        office = User.by_username("office")
        assert office is not None
        kinds = set(db.session.scalars(select(Notification.kind).where(Notification.recipient_id == office.id)))
        assert "deadline_overdue" in kinds
