"""One function per state change of a statement: check rights, change state, audit, commit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app import audit
from app.door import transition
from app.errors import Invalid, NotFound, WrongState, WrongUnit
from app.extensions import db
from app.models import Role, Unit, User
from app.timeutil import utcnow
from app.tx import begin_write
from app.validation import parse
from cases import links, queries
from review import checks, delegation, evidence, labels, lifecycle, notices, renderings, rules
from review.availability import available_channels
from review.errors import ChecksFailed, StageNotReady, StaleRevision
from review.lifecycle import StatementEvent
from review.models import (
    CORRECTABLE,
    EDITABLE,
    SUBMITTABLE,
    Channel,
    Comment,
    Confirmation,
    Decision,
    Priority,
    Revision,
    Stage,
    Statement,
    Status,
    Verdict,
    revision_hash,
)
from review.schemas import CommentIn, SubmitIn
from review.validation import (
    check_wechat_mode,
    check_wechat_title,
    confirmation_input,
    review_input,
    statement_input,
)


def _experts_required() -> int:
    return int(current_app.config["EXPERT_APPROVALS_REQUIRED"])


def _snapshot(st: Statement) -> dict[str, Any]:
    rev = st.current_revision
    return {
        "status": st.status,
        "pending_stage": st.pending_stage,
        "revision": rev.number if rev else None,
        "hash": rev.hash if rev else None,
    }


def _refreshed(st: Statement) -> dict[str, Any]:
    """Recompute the pending stage after a transition and describe the statement for the audit trail."""
    rules.refresh(st, _experts_required())
    return _snapshot(st)


def get_statement(actor: User, statement_id: int, *, for_update: bool = False) -> Statement:
    """The statement if it exists (404) and the actor may see it (403 wrong_unit).

    `for_update` is for writers (after `begin_write()`): the row is locked (PostgreSQL; on SQLite the
    writer already holds the database lock) and read afresh, never from a stale identity map.
    """
    query = select(Statement).where(Statement.id == statement_id)
    if for_update:
        # Lock the bare row first, then read it whole in a fresh statement. Locking the joined query
        # directly is not enough on PostgreSQL: after waiting for the lock it re-reads the statement row
        # but keeps the joined revision from its old snapshot (a revision committed meanwhile is missing).
        db.session.execute(select(Statement.id).where(Statement.id == statement_id).with_for_update())
        query = query.execution_options(populate_existing=True)
    st = db.session.scalar(query)
    if st is None:
        raise NotFound(_("回应不存在"))
    if not rules.can_see(actor, st):
        rules.require_own_unit(actor, st)
    return st


def _new_revision(st: Statement, actor: User, title: str, digest: str, body: str) -> Revision:
    number = (st.current_revision.number + 1) if st.current_revision else 1
    findings = checks.run(checks.Draft(title, digest, body, tuple(st.channels)))
    renderings.prepare(body)  # every channel's HTML, stored with the revision; 400 when it cannot be rendered
    rev = Revision(
        statement=st, number=number, title=title, digest=digest, body=body,
        hash=revision_hash(title, digest, body), author_id=actor.id, checks=findings,
    )
    db.session.add(rev)
    db.session.flush()
    st.current_revision = rev
    st.updated_at = utcnow()
    return rev


def _require_checks_pass(st: Statement) -> None:
    """409 checks_failed while the current text has a `block` finding (interface §10)."""
    rev = st.current_revision
    assert rev is not None
    # checked again when never checked, or when the time budget ran out while saving (it may pass now)
    findings = rev.checks
    if findings is None or checks.incomplete(findings):
        findings = checks.of_revision(rev, st.channels)
    blocking = checks.blocking(findings)
    if blocking:
        raise ChecksFailed(_("发布前检查未通过：请先处理标为“阻止”的问题"), blocking)


def create(actor: User, data: Mapping[str, Any]) -> Statement:
    """A drafter starts a statement for their unit (interface §3)."""
    rules.require_role(actor, Role.DRAFTER)
    begin_write()
    if isinstance(data, Mapping) and isinstance(data.get("unit"), str) and data["unit"] != actor.unit.code:
        if Unit.by_code(data["unit"]) is not None:
            raise WrongUnit(_("只能为本单位起草回应"))
    values = statement_input(data, creating=True)
    channels = values.channels or available_channels()  # without WeChat configured: ["portal"] (interface §13)
    assert values.title is not None and values.body is not None
    check_wechat_title(values.title, channels)
    wechat_mode = values.wechat_mode or "publish"
    check_wechat_mode(wechat_mode, channels)
    priority = values.priority or Priority.NORMAL
    st = Statement(
        unit_id=actor.unit_id,
        author_id=actor.id,
        priority=priority.value,
        priority_rank=priority.rank,
        channels=channels,
        wechat_mode=wechat_mode,
        comments_open=values.comments_open if values.comments_open is not None else True,
        go_live_at=values.go_live_at,
        agencies=values.agencies or [],
        case_ids=values.case_ids or [],
        status=Status.DRAFT.value,
    )
    db.session.add(st)
    db.session.flush()
    _new_revision(st, actor, values.title, values.digest or "", values.body)
    if st.case_ids:
        links.link_statements(st.id, st.case_ids, actor)
    audit.record(actor, "statement.create", st, after=_snapshot(st))
    db.session.commit()
    return st


def correct(actor: User, statement_id: int) -> Statement:
    """A new draft that corrects a published statement, starting from its published text."""
    rules.require_role(actor, Role.DRAFTER)
    begin_write()
    original = get_statement(actor, statement_id, for_update=True)
    rules.require_own_unit(actor, original)
    if original.status not in CORRECTABLE:
        raise WrongState(_("只有已发布的回应可以更正"))
    source = original.approved_revision or original.current_revision
    assert source is not None
    st = Statement(
        unit_id=original.unit_id, author_id=actor.id, priority=original.priority,
        priority_rank=original.priority_rank,
        channels=[c for c in original.channels if c in available_channels()] or available_channels(),
        comments_open=original.comments_open,
        agencies=list(original.agencies),
        case_ids=list(original.case_ids), corrects_id=original.id, status=Status.DRAFT.value,
    )
    db.session.add(st)
    db.session.flush()
    _new_revision(st, actor, source.title, source.digest, source.body)
    if st.case_ids:
        visible = queries.visible_case_ids(actor, st.case_ids)
        st.case_ids = [i for i in st.case_ids if i in visible]
        links.link_statements(st.id, st.case_ids, actor)
    audit.record(actor, "statement.correct", st, after={**_snapshot(st), "corrects": original.id})
    db.session.commit()
    return st


def edit(actor: User, statement_id: int, data: Mapping[str, Any]) -> Statement:
    """A new revision; in review it restarts the review at the expert stage (interface §3)."""
    rules.require_role(actor, Role.DRAFTER)
    begin_write()
    st = get_statement(actor, statement_id, for_update=True)
    rules.require_own_unit(actor, st)
    values = statement_input(data, creating=False)
    if values.unit is not None and values.unit.id != st.unit_id:
        raise Invalid(_("不能更改回应所属单位"), fields={"unit": _("不能更改所属单位")})
    if st.status not in EDITABLE:
        raise WrongState(_("当前状态（%(s)s）不能修改", s=labels.STATUS[st.status]))
    before = _snapshot(st)
    rev = st.current_revision
    assert rev is not None
    title = values.title if values.title is not None else rev.title
    digest = values.digest if values.digest is not None else rev.digest
    body = values.body if values.body is not None else rev.body
    channels = values.channels or st.channels
    check_wechat_title(title, channels)
    wechat_mode = values.wechat_mode or st.wechat_mode
    if wechat_mode == "mass_send" and Channel.WECHAT not in channels and values.wechat_mode is None:
        wechat_mode = "publish"  # WeChat deselected: there is nothing to mass-send
    check_wechat_mode(wechat_mode, channels)
    st.wechat_mode = wechat_mode
    if values.comments_open is not None:
        st.comments_open = values.comments_open
    if values.priority is not None:
        st.priority, st.priority_rank = values.priority.value, values.priority.rank
    st.channels = channels
    if values.go_live_given:
        st.go_live_at = values.go_live_at
    if values.agencies is not None:
        st.agencies = values.agencies
    if values.case_ids is not None:
        st.case_ids = values.case_ids
        links.link_statements(st.id, values.case_ids, actor)
    _new_revision(st, actor, title, digest, body)
    if st.status == Status.IN_REVIEW:
        st.review_round += 1
    transition(st, lifecycle.STATEMENT, StatementEvent.EDITED, actor=actor, before=before,
               after=lambda: _refreshed(st))
    notices.announce(st)
    db.session.commit()
    return st


def _requested_reviewers(st: Statement, usernames: list[str]) -> list[User]:
    """The experts a drafter asks for: active experts of the statement's unit who wrote none of its text."""
    wanted = list(dict.fromkeys(usernames))
    people = {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(wanted)))}
    authors = {r.author_id for r in st.revisions} | {st.author_id}
    for name in wanted:
        person = people.get(name)
        if person is None or not person.active or person.unit_id != st.unit_id or not person.has_role(Role.EXPERT):
            raise Invalid(_("输入有误"), fields={"reviewers": _("%(u)s 不是本单位在职的专家", u=name[:64])})
        if person.id in authors:
            raise Invalid(_("输入有误"), fields={"reviewers": _("%(u)s 撰写过本回应，不能审核", u=person.name)})
    return [people[name] for name in wanted]


def submit(actor: User, statement_id: int, data: Mapping[str, Any] | None = None) -> Statement:
    """Send a draft (or a revised one) to review: a new round starts at the expert stage.

    `reviewers` (usernames) asks particular experts of the unit; they are told, and see it marked as
    asked of them. Any expert of the unit may still review (the request names who is expected, not who may).
    """
    rules.require_role(actor, Role.DRAFTER)
    wanted = parse(SubmitIn, data if data is not None else {})
    begin_write()
    st = get_statement(actor, statement_id, for_update=True)
    rules.require_own_unit(actor, st)
    requested = _requested_reviewers(st, wanted.reviewers) if wanted.reviewers else []
    if st.status not in SUBMITTABLE:
        raise WrongState(_("只有草稿或退回修改的回应可以提交审核"))
    _require_checks_pass(st)
    before = _snapshot(st)
    st.review_round += 1
    st.submitted_at = st.updated_at = utcnow()
    st.requested_reviewers = [u.id for u in requested] or None
    asked = {"requested_reviewers": [u.username for u in requested]} if requested else {}
    transition(st, lifecycle.STATEMENT, StatementEvent.SUBMITTED, actor=actor, before=before,
               after=lambda: {**_refreshed(st), **asked})
    notices.announce(st)
    db.session.commit()
    return st


def decide(actor: User, statement_id: int, data: Mapping[str, Any]) -> Decision:
    """An expert's or leader's decision on one revision hash (interface §3, rules 1–5)."""
    delegation.require_role(actor, Role.EXPERT, Role.LEADER)  # held, or held for someone away (代理)
    stage_asked = data.get("stage") if isinstance(data, Mapping) else None
    if stage_asked in (Stage.EXPERT, Stage.LEADER):
        delegation.require_role(actor, rules.STAGE_ROLE[Stage(stage_asked)])
    begin_write()
    st = get_statement(actor, statement_id, for_update=True)
    rules.require_own_unit(actor, st)
    verdict_asked = data.get("decision") if isinstance(data, Mapping) else None
    rules.require_may_review(actor, st, verdict_asked)
    values = review_input(data)
    # a stand-in decides in their own name, recorded as on behalf of the person who is away
    on_behalf = delegation.acting_for(actor, rules.STAGE_ROLE[values.stage], values.on_behalf_of)
    if st.status != Status.IN_REVIEW:
        raise WrongState(_("回应不在审核中"))
    rev = st.current_revision
    assert rev is not None
    if values.revision_hash != rev.hash:
        raise StaleRevision(_("该修订稿已不是最新版本，请刷新后审核当前文本"))
    pending = rules.pending_stage(st, _experts_required())
    if values.stage != pending:
        raise StageNotReady(
            _("当前待办环节是%(p)s，不能进行%(s)s", p=labels.STAGE[pending] if pending else "-",
              s=labels.STAGE[values.stage])
        )
    if values.stage == Stage.LEADER and values.decision == Verdict.APPROVE:
        _require_checks_pass(st)
    before = _snapshot(st)
    decision = Decision(
        statement_id=st.id, revision_id=rev.id, revision_hash=rev.hash, round=st.review_round,
        stage=values.stage.value, decision=values.decision.value, reviewer_id=actor.id,
        comment=values.comment, on_behalf_of_id=on_behalf.id if on_behalf else None,
    )
    db.session.add(decision)
    st.decisions.append(decision)
    st.updated_at = utcnow()
    acted_for: dict[str, Any] = {"on_behalf_of": on_behalf.username} if on_behalf else {}
    if values.decision == Verdict.REQUEST_CHANGES:
        event = StatementEvent.CHANGES_REQUESTED
    elif values.decision == Verdict.REJECT:
        event = StatementEvent.REJECTED
    elif values.stage == Stage.LEADER:
        st.approved_revision = rev
        # the approval names the stored renderings the leader previewed: what publishing sends and pages show
        acted_for["renderings"] = {name: renderings.rendering_key(name, rev.body)
                                   for name in renderings.renderers() if name in st.channels}
        # the declared release step: the release and its outbox rows join this transaction
        released = lifecycle.release_step()(st, actor)
        event = StatementEvent.SCHEDULED if released == Status.SCHEDULED else StatementEvent.APPROVED
    else:
        event = StatementEvent.REVIEWED
    transition(st, lifecycle.STATEMENT, event, actor=actor,
               action=f"review.{values.stage}.{values.decision}", before=before,
               after=lambda: {**_refreshed(st), **acted_for})
    notices.announce(st)
    db.session.commit()
    return decision


def confirm(actor: User, statement_id: int, data: Mapping[str, Any]) -> Confirmation:
    """Record that another body confirmed this revision (interface §3)."""
    rules.require_role(actor, Role.DRAFTER, Role.OFFICE)
    begin_write()
    st = get_statement(actor, statement_id, for_update=True)
    rules.require_own_unit(actor, st, office_may=True)
    values = confirmation_input(data, st.agencies)
    evidence_doc = evidence.known(values.evidence)
    if values.evidence and evidence_doc is None:
        raise Invalid(_("输入有误"), fields={"evidence": _("证明材料不存在，请先上传")})
    if st.status != Status.IN_REVIEW:
        raise WrongState(_("回应不在审核中"))
    rev = st.current_revision
    assert rev is not None
    if values.revision_hash != rev.hash:
        raise StaleRevision(_("该修订稿已不是最新版本，请确认当前文本"))
    if rules.pending_stage(st, _experts_required()) != Stage.AGENCY:
        raise StageNotReady(_("专家审核完成后才能记录机构确认"))
    if any(c.agency == values.agency for c in st.current_confirmations()):
        raise WrongState(_("该机构已确认过此修订稿"))
    before = _snapshot(st)
    confirmation = Confirmation(
        statement_id=st.id, revision_id=rev.id, revision_hash=rev.hash, round=st.review_round,
        agency=values.agency, contact=values.contact, method=values.method.value, note=values.note,
        recorded_by_id=actor.id, evidence_sha256=evidence_doc.sha256 if evidence_doc else None,
    )
    db.session.add(confirmation)
    st.confirmations.append(confirmation)
    st.updated_at = utcnow()
    transition(st, lifecycle.STATEMENT, StatementEvent.REVIEWED, actor=actor, action="review.agency.confirm",
               before=before, after=lambda: {**_refreshed(st), "agency": values.agency,
                                             **({"evidence": evidence_doc.sha256} if evidence_doc else {})})
    notices.announce(st)
    db.session.commit()
    return confirmation


def comment(actor: User, statement_id: int, data: Mapping[str, Any]) -> Comment:
    """A reviewer's remark on a revision of the statement, not a decision: it changes no state.

    What an expert or leader wrote is kept even when their decision could no longer count (the stage
    moved on while they typed): the web form falls back to this, and the API offers it directly.
    """
    rules.require_role(actor, Role.EXPERT, Role.LEADER)
    begin_write()
    st = get_statement(actor, statement_id, for_update=True)
    rules.require_own_unit(actor, st)
    try:
        values: CommentIn | None = parse(CommentIn, data)
        fields: dict[str, str] = {}
    except Invalid as error:  # the model's problems, and whether the hash names a revision, together
        values, fields = None, dict(error.fields or {})
    wanted = values.revision_hash if values else (data.get("revision_hash") if isinstance(data, Mapping) else None)
    rev = next((r for r in st.revisions if r.hash == wanted), None)
    if rev is None:
        fields["revision_hash"] = _("不是本回应的修订稿")
    if fields or values is None:
        raise Invalid(_("输入有误"), fields=fields)
    note = Comment(statement_id=st.id, revision_id=rev.id, revision_hash=rev.hash, round=st.review_round,
                   author_id=actor.id, comment=values.comment)
    db.session.add(note)
    db.session.flush()
    audit.record(actor, "review.comment", st, after={"revision": rev.number, "hash": rev.hash, "comment": note.id})
    db.session.commit()
    return note
