"""A statement's lifecycle: its events, its transition table and the steps other packages must declare.

Every change of `Statement.status` goes through `app.door.transition(st, STATEMENT, StatementEvent.…, …)`;
the table below is the whole of what may happen. Publishing never assigns a status: it sends events
(`went_live`, the settle events after each channel, `retried`, `retracted`, `cancelled`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from app.door import Transitions
from review.models import Status


class StatementEvent(enum.StrEnum):
    """What can happen to a statement; each leads from a state to exactly one other."""

    EDITED = "edited"
    SUBMITTED = "submitted"
    REVIEWED = "reviewed"  # an expert's approval or an agency's confirmation
    CHANGES_REQUESTED = "changes_requested"
    REJECTED = "rejected"
    APPROVED = "approved"  # the leader's approval, going out at once
    SCHEDULED = "scheduled"  # the leader's approval of a later go-live
    WENT_LIVE = "went_live"
    # After a channel settles, its statement takes the event its deliveries add up to (publishing.outbox):
    OUT_EVERYWHERE = "out_everywhere"  # this channel out, and every other one
    OUT_PARTLY = "out_partly"  # this channel out, another failed
    OUT_WAITING = "out_waiting"  # this channel out, another still on its way
    FAILED_EVERYWHERE = "failed_everywhere"  # this channel failed, and every other one
    FAILED_PARTLY = "failed_partly"  # this channel failed, another is out
    FAILED_WAITING = "failed_waiting"  # this channel failed, another still on its way
    RETRIED = "retried"
    RETRACTED = "retracted"
    CANCELLED = "cancelled"


S, E = Status, StatementEvent
#: Where a leader's approval leaves a statement until its last channel settles.
_RELEASED = (S.APPROVED, S.SCHEDULED, S.PUBLISHING, S.PARTIALLY_PUBLISHED, S.FAILED)
_LIVE = (*_RELEASED, S.PUBLISHED)

STATEMENT = Transitions("statement", StatementEvent, {
    # drafting and review
    (S.DRAFT, E.EDITED): S.DRAFT,
    (S.CHANGES_REQUESTED, E.EDITED): S.CHANGES_REQUESTED,
    (S.IN_REVIEW, E.EDITED): S.IN_REVIEW,
    (S.DRAFT, E.SUBMITTED): S.IN_REVIEW,
    (S.CHANGES_REQUESTED, E.SUBMITTED): S.IN_REVIEW,
    (S.IN_REVIEW, E.REVIEWED): S.IN_REVIEW,
    (S.IN_REVIEW, E.CHANGES_REQUESTED): S.CHANGES_REQUESTED,
    (S.IN_REVIEW, E.REJECTED): S.REJECTED,
    # the leader's approval releases the text: at once, or at its go-live time
    (S.IN_REVIEW, E.APPROVED): S.APPROVED,
    (S.IN_REVIEW, E.SCHEDULED): S.SCHEDULED,
    # publishing
    (S.APPROVED, E.WENT_LIVE): S.PUBLISHING,
    (S.SCHEDULED, E.WENT_LIVE): S.PUBLISHING,
    # a channel settles (a delivery staged ahead of go-live can fail before it); once every channel is
    # out the statement is `published` and nothing settles again (only a retraction follows)
    **{(s, E.OUT_EVERYWHERE): S.PUBLISHED for s in _RELEASED},
    **{(s, E.OUT_PARTLY): S.PARTIALLY_PUBLISHED for s in _RELEASED},
    **{(s, E.OUT_WAITING): S.PUBLISHING for s in _RELEASED},
    **{(s, E.FAILED_EVERYWHERE): S.FAILED for s in _RELEASED},
    **{(s, E.FAILED_PARTLY): S.PARTIALLY_PUBLISHED for s in _RELEASED},
    **{(s, E.FAILED_WAITING): S.PUBLISHING for s in _RELEASED},
    (S.FAILED, E.RETRIED): S.PUBLISHING,
    (S.PARTIALLY_PUBLISHED, E.RETRIED): S.PUBLISHING,
    **{(s, E.RETRACTED): S.RETRACTED for s in _LIVE},
    # 取消发布: stopped before its go-live time, so never said (publishing.services.cancel)
    (S.SCHEDULED, E.CANCELLED): S.RETRACTED,
}, initial=S.DRAFT, actions={
    # the audit trail's codes, kept across versions (interface §11)
    E.EDITED: "statement.edit", E.SUBMITTED: "statement.submit", E.SCHEDULED: "statement.approved",
    E.RETRIED: "statement.retry",
    E.RETRACTED: "statement.retract", E.CANCELLED: "statement.cancel",
    **{e: "statement.channel_out" for e in (E.OUT_EVERYWHERE, E.OUT_PARTLY, E.OUT_WAITING)},
    **{e: "statement.channel_failed" for e in (E.FAILED_EVERYWHERE, E.FAILED_PARTLY, E.FAILED_WAITING)},
})

#: The release step of an approval: called inside the approving transaction with (statement, actor);
#: stages the release and its deliveries and answers the status the approval leads to
#: (`approved`, or `scheduled` for a later go-live). Declared by publishing at start-up.
ReleaseStep = Callable[..., Status]
_release_step: ReleaseStep | None = None


def declare_release_step(step: ReleaseStep) -> None:
    global _release_step
    _release_step = step


def release_step() -> ReleaseStep:
    """The declared release step; without one an approval would publish nothing, so refuse loudly."""
    if _release_step is None:
        raise RuntimeError("no release step declared: publishing.init_app() must run before any approval")
    return _release_step


def require_release_step(_app: Any = None) -> None:
    """Called at the end of create_app: an app that cannot release what a leader approves does not start."""
    release_step()
