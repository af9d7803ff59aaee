"""The workflow rules as plain functions: who may act, and which stage a statement waits on."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.errors import WrongRole, WrongUnit
from app.extensions import db
from app.models import Role, User
from review import labels
from review.errors import DuplicateReviewer, SelfReview
from review.models import Decision, Stage, Statement, Status, Verdict

STAGE_ROLE = {Stage.EXPERT: Role.EXPERT, Stage.LEADER: Role.LEADER}


def pending_stage(statement: Statement, experts_required: int) -> Stage | None:
    """The stage an in-review statement waits on (interface §3, rule 2), counting only the current revision."""
    if statement.status != Status.IN_REVIEW:
        return None
    decisions = statement.current_decisions()
    experts = {
        d.reviewer_id for d in decisions if d.stage == Stage.EXPERT and d.decision == Verdict.APPROVE
    }
    if len(experts) < experts_required:
        return Stage.EXPERT
    confirmed = {c.agency for c in statement.current_confirmations()}
    if any(agency not in confirmed for agency in statement.agencies):
        return Stage.AGENCY
    return Stage.LEADER


def refresh(statement: Statement, experts_required: int) -> None:
    """Store the pending stage so work lists are a plain indexed query."""
    stage = pending_stage(statement, experts_required)
    statement.pending_stage = stage.value if stage else None


def can_see(user: User, statement: Statement) -> bool:
    """Office and admin see every unit; everyone else their own unit (interface §3 visibility)."""
    return user.sees_all_units or statement.unit_id == user.unit_id


def require_role(user: User, *roles: Role) -> None:
    """403 wrong_role unless the user holds one of `roles`."""
    if not user.has_role(*roles):
        raise WrongRole(_("需要以下角色之一：%(roles)s", roles="、".join(labels.ROLE[r] for r in roles)))


def require_own_unit(user: User, statement: Statement, *, office_may: bool = False) -> None:
    """403 wrong_unit for another unit's statement (interface §3, rule 4)."""
    if statement.unit_id == user.unit_id:
        return
    if office_may and user.has_role(Role.OFFICE):
        return
    raise WrongUnit(_("只能处理本单位的回应"))


def require_may_review(user: User, statement: Statement, verdict: str | None) -> None:
    """Separation of duties (interface §3, rule 3), about the text and not the round.

    Nobody who wrote any revision of the statement reviews it; nobody approves the same revision hash
    twice — at another stage, in a later round (sent back and resubmitted unchanged), or after an edit
    that came back to the identical text. The stored decisions of this statement answer, not the
    decisions of this round. (Another statement that happens to carry the same words is another matter.)
    """
    if statement.author_id == user.id or any(rev.author_id == user.id for rev in statement.revisions):
        raise SelfReview(_("您撰写过本回应的修订稿，不能审核"))
    if verdict != Verdict.APPROVE or statement.current_revision is None:
        return
    approved_before = db.session.scalar(
        select(Decision.id).where(
            Decision.statement_id == statement.id,
            Decision.reviewer_id == user.id,
            Decision.revision_hash == statement.current_revision.hash,
            Decision.decision == Verdict.APPROVE,
        ).limit(1)
    )
    if approved_before is not None:
        raise DuplicateReviewer(_("您已批准过与此修订稿完全相同的文本，同一人不能再次批准（含其他环节或轮次）"))
