"""Drafting and review pages: parse the form, call one service, render or redirect.

A refused action (any `HuiyingError`) redirects back to its page (post/redirect/get, `app.prg`), which
shows the message beside the field it names and what the person typed, under the error's own status code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from app import paging, params, prg
from app.errors import HuiyingError, Invalid, NotFound, WrongState
from app.extensions import db
from app.models import Role, Unit, User, UserRole
from app.paging import Cut
from app.timeutil import format_local, local
from cases.models import Case
from cases.queries import visible_case_ids
from review import delegation, evidence, renderings, rules, services, worklists
from review import diff as textdiff
from review.availability import available_channels
from review.errors import StageNotReady
from review.labels import CHANNEL, METHOD, PENDING, PRIORITY, STAGE, STATUS, VERDICT
from review.models import (
    EDITABLE,
    SUBMITTABLE,
    Channel,
    ConfirmMethod,
    Priority,
    Revision,
    Stage,
    Statement,
    Status,
    Verdict,
)
from review.serialize import revision_checks

bp = Blueprint("review", __name__, template_folder="templates")

PER_PAGE = 20


#: Session key: the editor (its address) whose text was just saved; its copy in the browser is then dropped.
SAVED_COPY = "huiying_saved_editor"
DONE = {Verdict.APPROVE: _l("已同意该修订稿"), Verdict.REQUEST_CHANGES: _l("已退回修改"), Verdict.REJECT: _l("已否决")}


@bp.record_once
def _labels(state: BlueprintSetupState) -> None:
    """The names people read for each state and choice, in every template (imported macros too)."""
    state.app.jinja_env.globals.update(
        STATUS=STATUS, STAGE=STAGE, PENDING=PENDING, PRIORITY=PRIORITY, CHANNEL=CHANNEL, METHOD=METHOD,
        VERDICT=VERDICT,
    )


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _page() -> int:
    return params.page_number(request.args.get("page"))


# Lists ----------------------------------------------------------------------------------------


@bp.get("/work/<kind>")
@login_required
def worklist(kind: str) -> str:
    """One work list in full, paged."""
    user = _user()
    found = worklists.KINDS.get(kind)
    if found is None or found not in worklists.kinds_for(user):
        raise NotFound(_("没有这个工作列表"))
    page = _page()
    work = worklists.fetch(user, found, Cut(page, PER_PAGE))
    return render_template("review/worklist.html", work=work, page=page, per_page=PER_PAGE)


@bp.get("/statements")
@login_required
def statements() -> str:
    """回应列表: every statement the person may see, filtered by status, unit and words."""
    user = _user()
    status = request.args.get("status", "")
    status = status if status in STATUS else ""
    units = list(db.session.scalars(select(Unit).order_by(Unit.code))) if user.sees_all_units else []
    unit = next((u for u in units if u.code == request.args.get("unit")), None)
    q = request.args.get("q", "").strip()[:100]
    ids = worklists.search(user, status=status or None, unit_id=unit.id if unit else None, q=q)
    total, page = paging.count(ids), _page()
    at = Cut(page, PER_PAGE)
    items = worklists.page(ids, worklists.RECENT_ORDER, at) if at.offset < total else []
    return render_template(
        "review/statements.html", items=items, total=total, page=page, per_page=PER_PAGE,
        units=units, status=status, unit=unit.code if unit else "", q=q,
    )


# Editor ---------------------------------------------------------------------------------------

EDITOR_FIELDS = ("title", "digest", "body", "priority", "channels", "go_live_at", "agencies", "case_ids",
                 "wechat_mode", "comments_open")


def _typed(form: MultiDict[str, str]) -> dict[str, Any]:
    """What the person typed, as the editor shows it again. `comments_open` is None when the form had no
    WeChat part (no WeChat channel here): then the statement keeps what it had."""
    values: dict[str, Any] = {name: form.get(name, "") for name in EDITOR_FIELDS}
    values["channels"] = form.getlist("channels")
    values["wechat_mode"] = form.get("wechat_mode") or "publish"
    values["comments_open"] = "1" in form.getlist("comments_open") if "comments_open" in form else None
    return values


def _stored(st: Statement) -> dict[str, Any]:
    """A statement's current values, as the editor shows them."""
    rev = st.current_revision
    assert rev is not None
    go_live = local(st.go_live_at)
    return {
        "title": rev.title, "digest": rev.digest, "body": rev.body, "priority": st.priority,
        "channels": list(st.channels), "go_live_at": go_live.strftime("%Y-%m-%dT%H:%M") if go_live else "",
        "agencies": "\n".join(st.agencies), "case_ids": ", ".join(str(i) for i in st.case_ids),
        "wechat_mode": st.wechat_mode, "comments_open": st.comments_open,
    }


def _case_ids(raw: str) -> list[int | str]:
    """"12, #15" → [12, 15]; anything else is passed on as typed, for the service to name."""
    parts = [p.strip().lstrip("#") for p in raw.replace("，", ",").replace("、", ",").split(",") if p.strip()]
    return [params.id_or_text(p) for p in parts]


def _statement_data(values: Mapping[str, Any]) -> dict[str, Any]:
    """The editor's values shaped like the JSON API body (interface §3 POST /statements, §14 wechat_mode).

    The WeChat mode goes only with the WeChat channel chosen: unticking WeChat leaves the choice behind (the
    service then publishes), rather than refusing a mass send without WeChat.
    """
    data = {
        "title": values["title"],
        "digest": values["digest"],
        "body": values["body"].replace("\r\n", "\n"),
        "priority": values["priority"],
        "channels": list(values["channels"]),
        "go_live_at": params.wall_time(values["go_live_at"]),
        "agencies": [line.strip() for line in values["agencies"].splitlines() if line.strip()],
        "case_ids": _case_ids(values.get("case_ids", "")),
    }
    if Channel.WECHAT.value in data["channels"] and values.get("wechat_mode"):
        data["wechat_mode"] = values["wechat_mode"]
    if values.get("comments_open") is not None:
        data["comments_open"] = bool(values["comments_open"])
    return data


def _editor(st: Statement | None, values: Mapping[str, Any], *, error: HuiyingError | None = None,
            preview: str | None = None, status: int = 200) -> tuple[str, int]:
    wanted = [i for i in _case_ids(values.get("case_ids", "")) if isinstance(i, int)]
    visible = visible_case_ids(_user(), wanted) if wanted else set()
    linked = list(db.session.scalars(select(Case).where(Case.id.in_(visible)).order_by(Case.id))) if visible else []
    return render_template(
        "review/editor.html", st=st, values=values, error=error, fields=(error.fields or {}) if error else {},
        preview=preview, priorities=list(Priority), editor_fields=EDITOR_FIELDS,
        channels=[Channel(c) for c in available_channels()], linked_cases=linked,
    ), status


def _kept_editor(st: Statement | None, values: Mapping[str, Any]) -> tuple[str, int]:
    """The editor's GET: what a refused save (or a preview) kept is shown again, once (post/redirect/get)."""
    kept = prg.take()
    if kept is None or not kept.values:
        return _editor(st, values)
    if kept.form == "preview":
        return _editor(st, kept.values, preview=renderings.html_or_notice(
            "portal", _statement_data(kept.values)["body"], store=False))
    return _editor(st, kept.values, error=kept.error, status=kept.status)


def _save(st: Statement | None, save: Callable[[dict[str, Any]], Statement], done: Callable[[Statement], str]
          ) -> Response | tuple[str, int]:
    values = _typed(request.form)
    if "preview" in request.form:
        return prg.back(request.path, None, form="preview", values=values)
    try:
        saved = save(_statement_data(values))
    except HuiyingError as err:
        db.session.rollback()
        return prg.back(request.path, err, form="editor", values=values)
    flash(done(saved), "success")
    # the page after the save tells this browser to drop the copy it kept of the editor's text: it arrived
    session[SAVED_COPY] = request.path
    return redirect(url_for(".statement", statement_id=saved.id))


@bp.route("/statements/new", methods=["GET", "POST"])
@login_required
def new() -> Response | tuple[str, int]:
    """新建回应: a drafter's new statement for their own unit."""
    user = _user()
    rules.require_role(user, Role.DRAFTER)
    if request.method == "GET":
        # 起草回应 from a case page: ?case_id=…&priority=… fill in what the case already says
        priority = request.args.get("priority", "")
        case_id = params.optional_row_id(request.args.get("case_id"), "case_id", _("舆情编号有误"))
        empty = {"title": "", "digest": "", "body": "",
                 "priority": priority if priority in {p.value for p in Priority} else Priority.NORMAL.value,
                 "channels": available_channels(), "go_live_at": "", "agencies": "",
                 "case_ids": str(case_id or ""), "wechat_mode": "publish", "comments_open": True}
        copy = params.optional_row_id(request.args.get("copy"), "copy", _("回应稿编号有误"))
        if copy:  # 以此稿重新起草: a statement stopped before it went out
            source = services.get_statement(user, copy)
            rules.require_own_unit(user, source)
            empty = {**_stored(source), "go_live_at": ""}
        return _kept_editor(None, empty)
    return _save(None, lambda data: services.create(user, data), lambda st: _("已保存草稿"))


@bp.route("/statements/<int:statement_id>/edit", methods=["GET", "POST"])
@login_required
def edit(statement_id: int) -> Response | tuple[str, int]:
    """编辑: every save is a new revision; in review it restarts the review."""
    user = _user()
    st = services.get_statement(user, statement_id)
    rules.require_role(user, Role.DRAFTER)
    rules.require_own_unit(user, st)
    if request.method == "GET":
        if st.status not in EDITABLE:
            raise WrongState(_("当前状态（%(s)s）不能修改", s=STATUS[st.status]))
        return _kept_editor(st, _stored(st))
    return _save(
        st, lambda data: services.edit(user, statement_id, data),
        lambda saved: _("已保存为第 %(n)d 稿", n=saved.current_revision.number if saved.current_revision else 0),
    )


# The statement page and its actions ------------------------------------------------------------


def _passes(*checks: Callable[[], None]) -> bool:
    """True when none of the rule checks refuses."""
    try:
        for check in checks:
            check()
    except HuiyingError:
        return False
    return True


def actions(user: User, st: Statement) -> dict[str, Any]:
    """Which forms to show: only those the rules would accept from this person now."""
    in_review = st.status == Status.IN_REVIEW

    def may_decide(stage: Stage) -> bool:
        return in_review and st.pending_stage == stage and _passes(
            lambda: delegation.require_role(user, rules.STAGE_ROLE[stage]),  # a stand-in (代理) too
            lambda: rules.require_own_unit(user, st),
            lambda: rules.require_may_review(user, st, Verdict.APPROVE),
        )

    drafter_here = _passes(lambda: rules.require_role(user, Role.DRAFTER), lambda: rules.require_own_unit(user, st))
    confirmed = {c.agency for c in st.current_confirmations()}
    may_confirm = in_review and st.pending_stage == Stage.AGENCY and _passes(
        lambda: rules.require_role(user, Role.DRAFTER, Role.OFFICE),
        lambda: rules.require_own_unit(user, st, office_may=True),
    )
    review = Stage.EXPERT if may_decide(Stage.EXPERT) else Stage.LEADER if may_decide(Stage.LEADER) else None
    role = rules.STAGE_ROLE[review] if review else None
    return {
        "edit": drafter_here and st.status in EDITABLE,
        "submit": drafter_here and st.status in SUBMITTABLE,
        "review": review,
        "confirm": [a for a in st.agencies if a not in confirmed] if may_confirm else [],
        # 代理: whom this person may decide for at this stage, and whether also in their own right
        "on_behalf": delegation.principals(user, role) if role else [],
        "own_right": bool(role and user.has_role(role)),
        "experts": _requestable_experts(st) if drafter_here and st.status in SUBMITTABLE else [],
    }


def _requestable_experts(st: Statement) -> list[User]:
    """The experts a drafter may ask for when submitting: the unit's active experts who wrote none of the text."""
    authors = {r.author_id for r in st.revisions} | {st.author_id}
    people = db.session.scalars(select(User).join(UserRole).where(
        User.unit_id == st.unit_id, UserRole.role == Role.EXPERT.value, User.active.is_(True)).order_by(User.id))
    return [u for u in people if u.id not in authors]


def _statement_page(statement_id: int, *, form: str | None = None, error: HuiyingError | None = None,
                    typed: Mapping[str, Any] | None = None, status: int = 200,
                    saved_copy: str | None = None) -> tuple[str, int]:
    user = _user()
    st = services.get_statement(user, statement_id)
    rev = st.current_revision
    assert rev is not None
    numbers = {r.id: r.number for r in st.revisions}
    body_html = renderings.html_or_notice("portal", rev.body)  # rendered once per text, stored
    return render_template(
        "review/statement.html", st=st, rev=rev, body_html=body_html, numbers=numbers,
        actions=actions(user, st), form=form, error=error, fields=(error.fields or {}) if error else {},
        typed=typed or {}, methods=list(ConfirmMethod), findings=revision_checks(st),
        texts={"title": rev.title, "digest": rev.digest, "body": rev.body}, saved_copy=saved_copy,
    ), status


@bp.get("/statements/<int:statement_id>")
@login_required
def statement(statement_id: int) -> tuple[str, int]:
    """The statement: its current text, state, history, and the forms this person may use."""
    kept = prg.take()
    saved_copy = session.pop(SAVED_COPY, None)
    if kept is None:
        return _statement_page(statement_id, saved_copy=saved_copy)
    return _statement_page(statement_id, form=kept.form, error=kept.error, typed=kept.typed, status=kept.status,
                           saved_copy=saved_copy)


def _act(statement_id: int, form: str, act: Callable[[], str]) -> Response | tuple[str, int]:
    """Run one service; redirect with its message, or back to the page with the refusal (post/redirect/get)."""
    try:
        message = act()
    except HuiyingError as err:
        db.session.rollback()
        return prg.back(url_for(".statement", statement_id=statement_id), err, form=form, typed=request.form)
    flash(message, "success")
    return redirect(url_for(".statement", statement_id=statement_id))


@bp.post("/statements/<int:statement_id>/submit")
@login_required
def submit(statement_id: int) -> Response | tuple[str, int]:
    reviewers = [name for name in request.form.getlist("reviewers") if name]

    def act() -> str:
        services.submit(_user(), statement_id, {"reviewers": reviewers} if reviewers else {})
        return _("已提交审核，已通知指定的专家") if reviewers else _("已提交审核")

    return _act(statement_id, "submit", act)


@bp.post("/statements/<int:statement_id>/reviews")
@login_required
def decide(statement_id: int) -> Response | tuple[str, int]:
    """审核 / 领导审批: the decision names the hash the page showed, so a stale page is refused."""
    data = {name: request.form.get(name, "") for name in ("revision_hash", "stage", "decision", "comment",
                                                          "on_behalf_of")}

    def act() -> str:
        if (data["stage"] == Stage.LEADER and data["decision"] == Verdict.APPROVE
                and request.form.get("confirm_release") != "yes"):
            # one confirmed tap: the leader has seen what goes out, where and when (the box is above the button)
            raise Invalid(_("请先核对发布内容、渠道和时间，勾选确认后再同意"),
                          fields={"confirm_release": _("请勾选确认")})
        try:
            decision = services.decide(_user(), statement_id, data)
        except (StageNotReady, WrongState) as refused:
            # the stage moved on while they typed (another expert was quicker): keep what they wrote
            db.session.rollback()
            if not data["comment"].strip():
                raise
            services.comment(_user(), statement_id, data)
            return _("%(why)s。您填写的意见已作为评论保存在此修订稿下，不计入审核结论。",
                     why=refused.message.rstrip("。"))
        if decision.stage == Stage.LEADER and decision.decision == Verdict.APPROVE:
            return _released(services.get_statement(_user(), statement_id))
        return str(DONE[Verdict(decision.decision)])

    return _act(statement_id, "review", act)


def _released(st: Statement) -> str:
    """What the leader's approval set going: the publication now, or at its go-live time."""
    if st.status == Status.SCHEDULED and st.go_live_at is not None:
        return _("已批准，将于 %(t)s 发布", t=format_local(st.go_live_at))
    return _("已批准，正在发布")


@bp.post("/statements/<int:statement_id>/confirmations")
@login_required
def confirm(statement_id: int) -> Response | tuple[str, int]:
    """机构确认: record that another body confirmed the text shown."""
    data = {name: request.form.get(name, "") for name in ("revision_hash", "agency", "contact", "method", "note")}
    upload = request.files.get("evidence_file")

    def act() -> str:
        if upload is not None and upload.filename:
            # the document first (stored once by content), then the confirmation that names it
            data["evidence"] = evidence.save(_user(), upload.stream.read(evidence.MAX_EVIDENCE_BYTES + 1),
                                             upload.filename).sha256
        confirmation = services.confirm(_user(), statement_id, data)
        return _("已记录%(agency)s的确认", agency=confirmation.agency)

    return _act(statement_id, "confirm", act)


@bp.get("/statements/<int:statement_id>/diff")
@login_required
def diff(statement_id: int) -> str:
    """Two revisions side by side, changes marked character by character."""
    st = services.get_statement(_user(), statement_id)
    by_number = {r.number: r for r in st.revisions}
    latest = max(by_number)

    def pick(name: str, default: int) -> Revision:
        raw = request.args.get(name, "")
        number = params.row_id(raw, name, _("稿次有误")) if raw else default
        if number not in by_number:
            raise NotFound(_("没有第 %(n)s 稿", n=raw[:8]))
        return by_number[number]

    a, b = pick("a", max(1, latest - 1)), pick("b", latest)
    parts = [
        (_("标题"), textdiff.side_by_side(a.title, b.title)),
        (_("摘要"), textdiff.side_by_side(a.digest, b.digest)),
        (_("正文"), textdiff.side_by_side(a.body, b.body)),
    ]
    return render_template("review/diff.html", st=st, a=a, b=b, parts=parts, numbers=sorted(by_number),
                           changed=any(textdiff.changed(rows) for _label, rows in parts))
