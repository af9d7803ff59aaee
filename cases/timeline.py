"""A case's timeline: the events record what happened, who did it and when, for the history and the reports.

The status is not computed from them: it is a stored column (the register filters and sorts on it) that each
service moves through the door (`cases.rules.CASE_FLOW`) in the same transaction that appends the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.extensions import db
from app.models import User
from app.timeutil import utcnow
from cases.models import Case, CaseEvent, EventKind


def add_event(case: Case, kind: EventKind, actor: User | None, data: Mapping[str, Any],
              at: datetime | None = None) -> CaseEvent:
    """Append one entry to the case's timeline (joins the caller's transaction)."""
    event = CaseEvent(case_id=case.id, kind=kind.value, actor_id=actor.id if actor else None,
                      at=at or utcnow(), data=dict(data))
    db.session.add(event)
    db.session.flush()
    return event


def add_events(kind: EventKind, actor: User | None, data: Mapping[Case, Mapping[str, Any]], at: datetime) -> None:
    """Append one entry to each case's timeline in one batched insert (a change that touches thousands of cases)."""
    db.session.add_all(CaseEvent(case_id=case.id, kind=kind.value, actor_id=actor.id if actor else None, at=at,
                                 data=dict(entry)) for case, entry in data.items())
