"""Who is told when a statement needs them (interface §9): reviewers when it waits on their stage,
drafters when changes are requested. Raised inside the service's transaction, once per key."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Role, User, UserRole
from app.notifications import notify, settle
from review import delegation
from review.models import Decision, Stage, Statement, Status, Verdict

_STAGE_ROLE = {Stage.EXPERT: Role.EXPERT, Stage.LEADER: Role.LEADER}
_STAGE_WORD = {Stage.EXPERT: "专家审核", Stage.LEADER: "领导审批"}


def _may_take(st: Statement, role: Role) -> list[User]:
    """Who may still approve the current text (rule 3): the unit's active holders of `role` and their
    stand-ins (代理) — or, when the drafter asked particular experts, those experts and their stand-ins."""
    rev = st.current_revision
    if rev is None:
        return []
    authors = {r.author_id for r in st.revisions} | {st.author_id}
    approved = set(db.session.scalars(select(Decision.reviewer_id).where(
        Decision.statement_id == st.id, Decision.revision_hash == rev.hash, Decision.decision == Verdict.APPROVE)))
    if role == Role.EXPERT and st.requested_reviewers:
        asked = list(db.session.scalars(select(User).where(User.id.in_(st.requested_reviewers), User.active.is_(True))
                                        .order_by(User.id)))
        people = asked + delegation.deputies_for(asked, role)
    else:
        people = list(db.session.scalars(
            select(User).join(UserRole).where(User.unit_id == st.unit_id, UserRole.role == role.value,
                                              User.active.is_(True)).order_by(User.id)
        )) + delegation.deputies_of(st.unit_id, role)
    return [u for u in dict.fromkeys(people) if u.id not in authors and u.id not in approved]


def _review_key(st: Statement, stage: str, revision_hash: str, round_no: int | None = None) -> str:
    """A review request is raised once per round, stage and text (a new revision asks again)."""
    return f"review:{st.id}:{st.review_round if round_no is None else round_no}:{stage}:{revision_hash[:16]}"


def _changes_key(st: Statement, round_no: int | None = None) -> str:
    """退回修改 is told once per round."""
    return f"changes:{st.id}:{st.review_round if round_no is None else round_no}"


def _asked_before(st: Statement) -> set[str]:
    """The keys of every step this statement may have asked someone for, in any round and of any text."""
    rounds = range(1, st.review_round + 1)
    asked = {_changes_key(st, n) for n in rounds}
    return asked | {_review_key(st, stage.value, r.hash, n) for n in rounds for stage in _STAGE_ROLE
                    for r in st.revisions}


def announce(st: Statement) -> int:
    """Notify whoever the statement now waits on, and mark done for everyone what it no longer waits for
    (请您审核 once another expert decided, 待领导审批 once approved); returns how many notifications were new.
    Called by every review step, inside its transaction."""
    rev = st.current_revision
    if rev is None:
        return 0
    url = f"/statements/{st.id}"
    waiting = st.status == Status.IN_REVIEW and st.pending_stage in (Stage.EXPERT, Stage.LEADER)
    current = (_review_key(st, str(st.pending_stage), rev.hash) if waiting
               else _changes_key(st) if st.status == Status.CHANGES_REQUESTED else None)
    settle(_asked_before(st) - {current})
    if waiting:
        stage = Stage(st.pending_stage)
        return notify(
            "review_requested", _review_key(st, stage.value, rev.hash),
            _may_take(st, _STAGE_ROLE[stage]),
            subject=f"{'请您审核' if stage == Stage.EXPERT and st.requested_reviewers else '待' + _STAGE_WORD[stage]}："
                    f"{rev.title}",
            body=(f"「{rev.title}」（第 {rev.number} 稿）等待您的{_STAGE_WORD[stage]}"
                  f"{'（起草人指定请您审核）' if stage == Stage.EXPERT and st.requested_reviewers else ''}。"),
            url=url)
    if st.status == Status.CHANGES_REQUESTED:
        comment = next((d.comment for d in reversed(st.decisions) if d.decision == Verdict.REQUEST_CHANGES), "")
        authors = {r.author_id for r in st.revisions} | {st.author_id}
        people = db.session.scalars(select(User).where(User.id.in_(authors)))
        return notify(
            "changes_requested", _changes_key(st), people,
            subject=f"退回修改：{rev.title}",
            body=f"「{rev.title}」被退回修改。意见：{comment or '（无）'}", url=url)
    return 0
