"""A statement's lifecycle: its transition table and the steps other packages must declare.

Every change of `Statement.status` goes through `app.door.transition(st, STATEMENT, event, …)`; the
table below is the whole of what may happen. Publishing never assigns a status: it sends events
(`released`, `went_live`, `channel_out`, `channel_failed`, `retried`, `retracted`, `cancelled`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.door import Transitions
from review.models import Status

S = Status
#: After a channel settles, the statement's status is derived from every delivery: any of these.
_SETTLED = (S.PUBLISHED, S.PARTIALLY_PUBLISHED, S.FAILED, S.PUBLISHING)
_LIVE = (S.APPROVED, S.SCHEDULED, S.PUBLISHING, S.PUBLISHED, S.PARTIALLY_PUBLISHED, S.FAILED)

STATEMENT = Transitions("statement", {
    # drafting and review
    (S.DRAFT, "edited"): S.DRAFT,
    (S.CHANGES_REQUESTED, "edited"): S.CHANGES_REQUESTED,
    (S.IN_REVIEW, "edited"): S.IN_REVIEW,
    (S.DRAFT, "submitted"): S.IN_REVIEW,
    (S.CHANGES_REQUESTED, "submitted"): S.IN_REVIEW,
    (S.IN_REVIEW, "reviewed"): S.IN_REVIEW,  # an expert's approval or an agency's confirmation
    (S.IN_REVIEW, "changes_requested"): S.CHANGES_REQUESTED,
    (S.IN_REVIEW, "rejected"): S.REJECTED,
    # the leader's approval releases the text: at once, or at its go-live time
    (S.IN_REVIEW, "approved"): (S.APPROVED, S.SCHEDULED),
    # publishing
    (S.APPROVED, "went_live"): S.PUBLISHING,
    (S.SCHEDULED, "went_live"): S.PUBLISHING,
    **{(s, "channel_out"): _SETTLED for s in _LIVE},
    **{(s, "channel_failed"): _SETTLED for s in _LIVE},
    (S.FAILED, "retried"): S.PUBLISHING,
    (S.PARTIALLY_PUBLISHED, "retried"): S.PUBLISHING,
    **{(s, "retracted"): S.RETRACTED for s in _LIVE},
    # 取消发布: stopped before its go-live time, so never said (publishing.services.cancel)
    (S.SCHEDULED, "cancelled"): S.RETRACTED,
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
