"""One function per step of a case: check rights, apply the step through the door, append the event, commit."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app import audit, notifications, register
from app.door import transition
from app.errors import HuiyingError, Invalid, NotFound, WrongUnit
from app.extensions import db
from app.models import Role, User
from app.notifications import _m
from app.timeutil import iso, utcnow
from app.tx import begin_write
from cases import clock, links, queries, rules
from cases.models import (
    CLOSED_RANK,
    Case,
    CaseEvent,
    CaseIntakeKey,
    CaseResponse,
    CaseStatus,
    Deadline,
    EventKind,
    ResponseForm,
)
from cases.rules import CASE_FLOW, CaseStep
from cases.timeline import add_event
from cases.validation import (
    assessment_input,
    assignment_input,
    case_input,
    close_input,
    note_input,
    response_input,
)


def get_case(actor: User, case_id: int, *, for_update: bool = False) -> Case:
    """The case if it exists (404) and the actor may see it (403 wrong_unit).

    `for_update` is for writers (after `begin_write()`): the row is locked and read afresh, so a second
    writer waits for the first and decides on what it left (app/door.py: row lock, then compare-and-set).
    """
    if for_update:
        db.session.execute(select(Case.id).where(Case.id == case_id).with_for_update())
        case = db.session.scalar(select(Case).where(Case.id == case_id).execution_options(populate_existing=True))
    else:
        case = db.session.get(Case, case_id)
    if case is None:
        raise NotFound(_("舆情不存在"))
    if not rules.can_see(actor, case):
        raise WrongUnit(_("只能查看本单位的舆情"))
    return case


def _deadlines_data(deadlines: list[Deadline]) -> list[dict[str, Any]]:
    return [{"kind": d.kind, "due_at": iso(d.due_at), "met_at": iso(d.met_at)} for d in deadlines]


#: How long an intake key answers its first case, and how far back a same-title case is worth a warning (§20).
INTAKE_WINDOW = timedelta(hours=24)
KEY_MAX = 128


class SimilarCase(HuiyingError):
    """The intake form's pause: a case with the same title was registered within INTAKE_WINDOW (409)."""

    status, code = 409, "similar_case"


@dataclass
class Intake:
    """What registering gave: the case, whether it is new (False: the key's first case, answered again),
    and the visible cases of the same title registered within INTAKE_WINDOW before it."""

    case: Case
    created: bool = True
    similar: list[Case] = field(default_factory=list)


def normalized_title(title: str) -> str:
    """The title as two registrations of one item compare: NFKC, case-folded, without spaces or punctuation."""
    folded = unicodedata.normalize("NFKC", title).casefold()
    return "".join(c for c in folded if unicodedata.category(c)[0] in "LN")


def similar_cases(actor: User, title: str, now: datetime) -> list[Case]:
    """Cases the actor may see whose normalized title equals `title`'s, registered within INTAKE_WINDOW."""
    wanted = normalized_title(title)
    if not wanted:
        return []
    recent = db.session.execute(
        select(Case.id, Case.title).where(Case.created_at >= now - INTAKE_WINDOW).order_by(Case.id)
    ).all()
    same = [cid for cid, other in recent if normalized_title(other) == wanted]
    visible = queries.visible_case_ids(actor, same)
    return [c for c in (db.session.get(Case, cid) for cid in same if cid in visible) if c is not None]


def _check_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > KEY_MAX or not key.isascii() or not key.isprintable():
        raise Invalid(_("Idempotency-Key 应为 1–%(n)d 个可打印 ASCII 字符", n=KEY_MAX),
                      fields={"Idempotency-Key": _("格式不正确")})
    return key


def _keyed_case(actor: User, key: str, now: datetime) -> Case | None:
    """The case this actor's key made within INTAKE_WINDOW, if any."""
    found = db.session.scalar(select(CaseIntakeKey).where(
        CaseIntakeKey.actor_id == actor.id, CaseIntakeKey.key == key, CaseIntakeKey.created_at > now - INTAKE_WINDOW))
    return db.session.get(Case, found.case_id) if found is not None else None


def create(actor: User, data: Any) -> Case:
    """登记: a new case, status `registered`; its first unit leads until an assignment names another."""
    return intake(actor, data).case


def intake(actor: User, data: Any, *, key: str | None = None, confirmed: bool = True,
           before_commit: Callable[[Case], None] | None = None) -> Intake:
    """登记 with the intake's safeguards (interface §20): the same `key` within 24 h answers its first case
    instead of making another; `confirmed=False` refuses (SimilarCase) while a same-title case is that recent.

    The key is a row unique per (actor, key) written in the case's transaction: of two submits racing with
    one key, whichever commits second loses the insert and answers the winner's case. `before_commit` joins
    what a caller above adds to the new case's transaction (an interaction escalated to it, interface §15).
    """
    begin_write()
    rules.may_register(actor)
    key = _check_key(key)
    now = utcnow()
    if key is not None:
        first = _keyed_case(actor, key, now)
        if first is not None:
            return Intake(first, created=False)
    try:
        return _register(actor, data, key, now, confirmed, before_commit)
    except IntegrityError:
        db.session.rollback()
        first = _keyed_case(actor, key, now) if key is not None else None
        if first is None:
            raise
        return Intake(first, created=False)


def _register(actor: User, data: Any, key: str | None, now: datetime, confirmed: bool,
              before_commit: Callable[[Case], None] | None = None) -> Intake:
    if not actor.has_role(Role.OFFICE) and isinstance(data, Mapping) and isinstance(data.get("units"), list):
        if actor.unit.code not in data["units"]:
            raise WrongUnit(_("只能登记涉及本单位的舆情"))
    values = case_input(data, actor.unit)
    similar = similar_cases(actor, values.title, now)
    if similar and not confirmed:
        ids = "、".join(f"#{c.id}" for c in similar)
        raise SimilarCase(_("24 小时内已登记过同一标题的舆情，请确认不是重复登记"),
                          fields={"title": _("24 小时内已有同标题舆情：%(ids)s", ids=ids)})
    if key is not None:
        # an expired key of this actor makes way for the new case
        db.session.execute(delete(CaseIntakeKey).where(
            CaseIntakeKey.actor_id == actor.id, CaseIntakeKey.key == key,
            CaseIntakeKey.created_at <= now - INTAKE_WINDOW))
    case = Case(
        title=values.title, summary=values.summary, source=values.source.value, source_url=values.source_url,
        discovered_at=values.discovered_at, status=CaseStatus.REGISTERED.value, lead_unit_id=values.units[0].id,
        created_by=actor.id, units=values.units,
    )
    db.session.add(case)
    db.session.flush()
    if key is not None:
        db.session.add(CaseIntakeKey(actor_id=actor.id, key=key, case_id=case.id, created_at=now))
        db.session.flush()
    add_event(case, EventKind.REGISTERED, actor, {
        "title": case.title, "source": case.source, "units": [u.code for u in values.units],
        "discovered_at": iso(case.discovered_at),
    })
    audit.record(actor, "case.create", case, after={"status": case.status, "units": [u.code for u in values.units]})
    if before_commit is not None:
        before_commit(case)
    db.session.commit()
    return Intake(case, similar=similar)


def _counted(case: Case) -> list[tuple[str, datetime]]:
    return [(r.form, r.held_at) for r in case.responses if r.counted and r.held_at is not None]


def assess(actor: User, case_id: int, data: Any) -> CaseEvent:
    """研判: level, rationale, must-respond; sets the clocks (a re-assessment recomputes the open ones)."""
    begin_write()
    case = get_case(actor, case_id, for_update=True)
    rules.may_assess(actor, case)
    values = assessment_input(data)
    previous = case.level
    transition(case, CASE_FLOW, CaseStep.ASSESS, actor=actor, values={
        "level": values.level, "must_respond": values.must_respond,
        "urgency_rank": values.level,
    }, before={"status": case.status, "level": previous}, after={"level": values.level})
    deadlines = clock.set_deadlines(case, values.level, _counted(case), utcnow())
    event = add_event(case, EventKind.ASSESSED, actor, {
        "level": values.level, "previous_level": previous, "rationale": values.rationale,
        "must_respond": values.must_respond, "deadlines": _deadlines_data(deadlines),
    })
    db.session.commit()
    return event


def assign(actor: User, case_id: int, data: Any) -> CaseEvent:
    """转办: the office names the lead unit and assisting units; the lead unit's responsible people hear of it."""
    begin_write()
    case = get_case(actor, case_id, for_update=True)
    rules.may_assign(actor, case)
    values = assignment_input(data)
    before = {"status": case.status, "lead_unit": case.lead_unit.code}
    transition(case, CASE_FLOW, CaseStep.ASSIGN, actor=actor, values={"lead_unit_id": values.lead_unit.id},
               before=before, after={"lead_unit": values.lead_unit.code,
                                     "assisting_units": [u.code for u in values.assisting_units]})
    db.session.expire(case, ["lead_unit"])
    case.assisting_units = values.assisting_units
    concerned = {u.id for u in case.units}
    case.units.extend(u for u in [values.lead_unit, *values.assisting_units] if u.id not in concerned)
    event = add_event(case, EventKind.ASSIGNED, actor, {
        "lead_unit": values.lead_unit.code, "assisting_units": [u.code for u in values.assisting_units],
        "note": values.note,
    })
    notifications.notify(
        "case_assigned", f"case:{case.id}:assigned:{event.id}",
        register.people(values.lead_unit, "first", "direct", "spokespersons"),
        # in each recipient's own language (app.notifications.texts)
        subject=_m("【转办】%(title)s：请%(unit)s牵头处置", title=case.title, unit=values.lead_unit.name),
        body=values.note or case.summary[:500], url=f"/cases/{case.id}",
    )
    db.session.commit()
    return event


def accept(actor: User, case_id: int, data: Any) -> CaseEvent:
    """受理: the lead unit takes the case in hand."""
    begin_write()
    case = get_case(actor, case_id, for_update=True)
    rules.may_accept(actor, case)
    note = note_input(data, required=False)
    transition(case, CASE_FLOW, CaseStep.ACCEPT, actor=actor)
    event = add_event(case, EventKind.ACCEPTED, actor, {"note": note})
    db.session.commit()
    return event


def feedback(actor: User, case_id: int, data: Any) -> CaseEvent:
    """反馈: a note from the lead or an assisting unit, or the office; any number while open."""
    begin_write()
    case = get_case(actor, case_id, for_update=True)
    rules.may_feedback(actor, case)
    note = note_input(data, required=True)
    transition(case, CASE_FLOW, CaseStep.FEEDBACK, actor=actor)
    event = add_event(case, EventKind.FEEDBACK, actor, {"note": note})
    db.session.commit()
    return event


def respond(actor: User, case_id: int, data: Any) -> CaseResponse:
    """回应: a published statement, expert interpretation, press conference, interview … with evidence.

    Held forms count at once and stop the clocks they satisfy at `held_at`; a statement counts once it
    is published (at its ledger time) — now if it already is, else when publishing says so.
    """
    begin_write()
    case = get_case(actor, case_id, for_update=True)
    rules.may_respond(actor, case)
    values = response_input(data)
    held_at, counted = values.held_at, True
    if values.form == ResponseForm.STATEMENT:
        assert values.statement_id is not None
        if any(r.statement_id == values.statement_id for r in case.responses):
            raise Invalid(_("该回应稿已记录为本舆情的回应"), fields={"statement_id": _("已记录")})
        info = links.statement_rows([values.statement_id]).get(values.statement_id)
        if info is None or (not actor.sees_all_units and info["unit_id"] != actor.unit_id):
            raise Invalid(_("回应稿不存在"), fields={"statement_id": _("回应稿不存在或无权查看")})
        links.ensure_link(case, values.statement_id, actor)
        held_at = links.published_at(values.statement_id)
        counted = held_at is not None
    transition(case, CASE_FLOW, CaseStep.RESPOND if counted else CaseStep.NOTE_RESPONSE, actor=actor)
    response = CaseResponse(case_id=case.id, form=values.form.value, statement_id=values.statement_id,
                            held_at=held_at, note=values.note, evidence_url=values.evidence_url,
                            counted=counted, recorded_by=actor.id)
    db.session.add(response)
    if counted and held_at:
        links.note_counted(case, held_at)
    db.session.flush()
    stopped = clock.stop(case, values.form, held_at) if counted and held_at else []
    add_event(case, EventKind.RESPONDED, actor, {
        "form": values.form.value, "statement_id": values.statement_id, "held_at": iso(held_at),
        "counted": counted, "note": values.note, "evidence_url": values.evidence_url,
        "deadlines_met": [d.kind for d in stopped],
    })
    db.session.commit()
    return response


def close(actor: User, case_id: int, data: Any) -> CaseEvent:
    """办结: with an outcome; when nothing public was said, only the lead unit's leader, with a reason."""
    begin_write()
    case = get_case(actor, case_id, for_update=True)
    without_response = not any(r.counted for r in case.responses)
    rules.may_close(actor, case, without_response=without_response)
    values = close_input(data)
    if without_response and not values.no_response_reason:
        raise Invalid(_("未作公开回应时须说明理由"),
                      fields={"no_response_reason": _("未作公开回应，请填写不回应的理由")})
    now = utcnow()
    transition(case, CASE_FLOW, CaseStep.CLOSE, actor=actor, values={
        "closed_at": now, "outcome": values.outcome, "urgency_rank": CLOSED_RANK, "next_due_at": None,
    })
    for deadline in db.session.scalars(select(Deadline).where(Deadline.case_id == case.id)):
        deadline.next_alert_at = None
        # interface §20: the clocks freeze; one still running is waived, one already past due stays overdue.
        if deadline.superseded_at is None and deadline.met_at is None and deadline.due_at > now:
            deadline.waived_at = now
    event = add_event(case, EventKind.CLOSED, actor, {
        "outcome": values.outcome,
        "no_response_reason": values.no_response_reason if without_response else "",
    }, at=now)
    db.session.commit()
    return event
