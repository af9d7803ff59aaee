"""Who may do what to a case, and which step may follow which (interface §8), as plain functions."""

from __future__ import annotations

import enum

from flask_babel import gettext as _

from app.door import Transitions
from app.errors import WrongRole, WrongUnit
from app.models import Role, User
from cases.labels import ROLE
from cases.models import Case, CaseStatus


class CaseStep(enum.StrEnum):
    """What can happen to a case (the timeline's rows are `CaseEvent`s); each leads to exactly one state."""

    ASSESS = "assess"
    ASSIGN = "assign"
    ACCEPT = "accept"
    FEEDBACK = "feedback"
    RESPOND = "respond"  # a response that counts: held, or a statement already published
    NOTE_RESPONSE = "note_response"  # a statement not yet published: recorded, counted once it is
    STATEMENT_PUBLISHED = "statement_published"
    CLOSE = "close"


S, E = CaseStatus, CaseStep
_OPEN = (S.REGISTERED, S.ASSESSED, S.ASSIGNED, S.HANDLING, S.RESPONDED)

#: The one table of the case's lifecycle; app.door.transition applies it as a compare-and-set.
CASE_FLOW = Transitions("case", CaseStep, {
    (S.REGISTERED, E.ASSESS): S.ASSESSED,
    # Re-assessment while open changes the level and the clocks, not how far the case has come.
    **{(s, E.ASSESS): s for s in (S.ASSESSED, S.ASSIGNED, S.HANDLING, S.RESPONDED)},
    **{(s, E.ASSIGN): S.ASSIGNED for s in (S.ASSESSED, S.ASSIGNED, S.HANDLING)},
    (S.ASSIGNED, E.ACCEPT): S.HANDLING,
    **{(s, E.FEEDBACK): s for s in _OPEN},
    (S.HANDLING, E.RESPOND): S.RESPONDED,
    (S.RESPONDED, E.RESPOND): S.RESPONDED,
    # A statement not yet published is recorded but does not count: the case stays where it was.
    (S.HANDLING, E.NOTE_RESPONSE): S.HANDLING,
    (S.RESPONDED, E.NOTE_RESPONSE): S.RESPONDED,
    # A linked statement going out is a response whatever step the case had reached.
    **{(s, E.STATEMENT_PUBLISHED): S.RESPONDED for s in _OPEN},
    **{(s, E.CLOSE): S.CLOSED for s in (S.ASSESSED, S.ASSIGNED, S.HANDLING, S.RESPONDED)},
}, initial=S.REGISTERED, actions={E.NOTE_RESPONSE: "case.respond"})


def unit_ids(case: Case) -> set[int]:
    """Every unit concerned: those registered with it, the lead and the assisting units."""
    return {u.id for u in case.units} | {case.lead_unit_id} | {u.id for u in case.assisting_units}


def can_see(user: User, case: Case) -> bool:
    """Office and admin see every case; everyone else the cases of their own unit."""
    return user.sees_all_units or user.unit_id in unit_ids(case)


def _role(user: User, *roles: Role) -> None:
    if not user.has_role(*roles):
        raise WrongRole(_("需要以下角色之一：%(roles)s", roles="、".join(str(ROLE[r]) for r in roles)))


def _lead(user: User, case: Case) -> None:
    if user.unit_id != case.lead_unit_id:
        raise WrongUnit(_("只有牵头单位可以进行此操作"))


def may_register(user: User) -> None:
    """登记: a drafter (for cases concerning their own unit) or the office."""
    _role(user, Role.DRAFTER, Role.OFFICE)


def may_assess(user: User, case: Case) -> None:
    """研判: the office, or a leader of the lead unit."""
    _role(user, Role.OFFICE, Role.LEADER)
    if not user.has_role(Role.OFFICE):
        _lead(user, case)


def may_assign(user: User, case: Case) -> None:
    """转办: the office only."""
    _role(user, Role.OFFICE)


def may_accept(user: User, case: Case) -> None:
    """受理: a drafter or leader of the lead unit."""
    _role(user, Role.DRAFTER, Role.LEADER)
    _lead(user, case)


def may_feedback(user: User, case: Case) -> None:
    """反馈: a drafter or leader of the lead or an assisting unit, or the office."""
    _role(user, Role.DRAFTER, Role.LEADER, Role.OFFICE)
    if user.has_role(Role.OFFICE):
        return
    if user.unit_id != case.lead_unit_id and user.unit_id not in {u.id for u in case.assisting_units}:
        raise WrongUnit(_("只有牵头或协办单位可以反馈"))


def may_attach(user: User, case: Case) -> None:
    """附件: whoever may give feedback on the case (lead or assisting unit's drafter or leader, the office)."""
    may_feedback(user, case)


def may_respond(user: User, case: Case) -> None:
    """回应: a drafter or leader of the lead unit, or the office."""
    _role(user, Role.DRAFTER, Role.LEADER, Role.OFFICE)
    if not user.has_role(Role.OFFICE):
        _lead(user, case)


def may_close(user: User, case: Case, *, without_response: bool) -> None:
    """办结: the office or a leader of the lead unit; without a public response only that leader."""
    if without_response:
        _role(user, Role.LEADER)
        _lead(user, case)
        return
    _role(user, Role.OFFICE, Role.LEADER)
    if not user.has_role(Role.OFFICE):
        _lead(user, case)


def actions(user: User, case: Case) -> dict[str, bool]:
    """Which action forms a page shows this person: allowed by right and by the case's status."""
    out: dict[str, bool] = {}
    checks = {
        CaseStep.ASSESS: lambda: may_assess(user, case),
        CaseStep.ASSIGN: lambda: may_assign(user, case),
        CaseStep.ACCEPT: lambda: may_accept(user, case),
        CaseStep.FEEDBACK: lambda: may_feedback(user, case),
        CaseStep.RESPOND: lambda: may_respond(user, case),
        CaseStep.CLOSE: lambda: may_close(user, case, without_response=not any(r.counted for r in case.responses)),
    }
    for step, check in checks.items():
        try:
            check()
        except (WrongRole, WrongUnit):
            out[step.value] = False
        else:
            out[step.value] = CASE_FLOW.allows(case.status, step)
    # attaching is no step of the lifecycle: it is open while the case is
    out["attach"] = out["feedback"] and case.is_open
    return out
