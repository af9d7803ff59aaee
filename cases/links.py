"""Statements written for cases: linking them, and what publishing one does to its cases.

`cases` sits below `review` and `publishing` and never imports them; the few statement facts a case
shows (title, status, ledger time) are read from their tables by name here, in this one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import column, select, table

from app.door import transition
from app.errors import Invalid
from app.extensions import db
from app.models import User
from cases import clock, queries
from cases.models import Case, CaseResponse, CaseStatement, EventKind, ResponseForm
from cases.rules import CASE_FLOW, CaseStep
from cases.timeline import add_event

_statements = table("statements", column("id"), column("unit_id"), column("status"), column("current_revision_id"))
_revisions = table("revisions", column("id"), column("title"))
_ledger = table("ledger_entries", column("statement_id"), column("kind"), column("at"))


def statement_rows(ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """id → {id, unit_id, status, title} for the statements that exist."""
    ids = list(ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(_statements.c.id, _statements.c.unit_id, _statements.c.status, _revisions.c.title)
        .select_from(_statements.outerjoin(_revisions, _revisions.c.id == _statements.c.current_revision_id))
        .where(_statements.c.id.in_(ids))
    ).all()
    return {r.id: {"id": r.id, "unit_id": r.unit_id, "status": r.status, "title": r.title or ""} for r in rows}


def published_at(statement_id: int) -> datetime | None:
    """The time of the statement's `published` ledger entry, or None while it is not published."""
    at = db.session.scalar(
        select(_ledger.c.at).where(_ledger.c.statement_id == statement_id, _ledger.c.kind == "published")
    )
    return datetime.fromisoformat(at) if at else None


def ensure_link(case: Case, statement_id: int, actor: User | None) -> CaseStatement:
    """Link a statement to a case once (joins the caller's transaction)."""
    found = db.session.get(CaseStatement, (case.id, statement_id))
    if found is None:
        found = CaseStatement(case_id=case.id, statement_id=statement_id)
        db.session.add(found)
        add_event(case, EventKind.STATEMENT_LINKED, actor, {"statement_id": statement_id})
        db.session.flush()
    return found


def link_statements(statement_id: int, case_ids: Iterable[int], actor: User) -> list[Case]:
    """Make a statement's links exactly `case_ids` (interface §8); unknown or invisible ids are 400 on `case_ids`.

    Call after the statement is flushed (it needs its id), inside the statement service's transaction:
    nothing is committed here. Links of an already published statement are kept.
    """
    wanted = list(dict.fromkeys(case_ids))
    visible = queries.visible_case_ids(actor, wanted)
    missing = [i for i in wanted if i not in visible]
    if missing:
        raise Invalid(_("关联的舆情不存在或无权查看"),
                      fields={"case_ids": _("舆情不存在或无权查看：%(ids)s", ids="、".join(f"#{i}" for i in missing))})
    cases = list(db.session.scalars(select(Case).where(Case.id.in_(wanted)))) if wanted else []
    for case in cases:
        ensure_link(case, statement_id, actor)
    for link in db.session.scalars(select(CaseStatement).where(CaseStatement.statement_id == statement_id)):
        if link.case_id not in wanted and link.published_at is None:
            case = db.session.get(Case, link.case_id)
            assert case is not None
            db.session.delete(link)
            add_event(case, EventKind.STATEMENT_UNLINKED, actor, {"statement_id": statement_id})
    db.session.flush()
    return cases


def cases_for_statement(statement_id: int) -> list[Case]:
    """The cases a statement answers, by id."""
    return list(db.session.scalars(
        select(Case).join(CaseStatement, CaseStatement.case_id == Case.id)
        .where(CaseStatement.statement_id == statement_id).order_by(Case.id)
    ))


def note_counted(case: Case, at: datetime) -> None:
    """A counted response held at `at`: keep the case's earliest one (a response recorded late may have been
    held before those already known)."""
    if case.first_response_at is None or at < case.first_response_at:
        case.first_response_at = at


def record_statement_published(statement_id: int, at: datetime) -> list[int]:
    """A linked statement went out at `at` (its ledger time): every linked case gets a counted response.

    Idempotent: a second call changes nothing. Joins the publishing transaction (no commit); locks each
    linked case row first so the step cannot lose a compare-and-set race and undo the publication.
    Returns the ids of the cases that got the response now.
    """
    changed: list[int] = []
    links_ = list(db.session.scalars(
        select(CaseStatement).where(CaseStatement.statement_id == statement_id).order_by(CaseStatement.case_id)
    ))
    for link in links_:
        if link.published_at is None:
            link.published_at = at
        case = db.session.scalar(
            select(Case).where(Case.id == link.case_id).with_for_update()
            .execution_options(populate_existing=True)
        )
        assert case is not None
        response = db.session.scalar(
            select(CaseResponse).where(CaseResponse.case_id == case.id, CaseResponse.statement_id == statement_id)
        )
        if response is not None and response.counted:
            continue
        if response is None:
            response = CaseResponse(case_id=case.id, form=ResponseForm.STATEMENT.value, statement_id=statement_id)
            db.session.add(response)
        response.counted, response.held_at = True, at
        note_counted(case, at)
        db.session.flush()
        stopped = clock.stop(case, ResponseForm.STATEMENT, at)
        if case.is_open:
            transition(case, CASE_FLOW, CaseStep.STATEMENT_PUBLISHED, actor=None)
        add_event(case, EventKind.RESPONDED, None, {
            "form": ResponseForm.STATEMENT.value, "statement_id": statement_id, "counted": True,
            "held_at": at.isoformat(), "deadlines_met": [d.kind for d in stopped], "by": "publishing",
        }, at=at)
        changed.append(case.id)
    db.session.flush()
    return changed
