"""舆情台账 pages: the register, the intake form, a case with its clocks, timeline and action forms.

Each form posts to one service and redirects back (post/redirect/get); a refused action redirects too, and
the page shows the message beside the field it names and what was typed (`app.prg`), under the error's status.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from app import params, prg, register
from app.errors import HuiyingError, Invalid, NotFound
from app.extensions import db
from app.models import Role, Unit, User
from app.paging import Cut
from app.timeutil import local, utcnow
from cases import attachments, labels, queries, rules, services
from cases.models import Case, Deadline, ResponseForm, Source
from cases.schemas import TITLE_MAX
from cases.serialize import statements_json

bp = Blueprint("cases", __name__, template_folder="templates")
PER_PAGE = 20
ACTIONS: dict[str, Callable[[User, int, Any], Any]] = {
    "assess": services.assess, "assign": services.assign, "accept": services.accept,
    "feedback": services.feedback, "respond": services.respond, "close": services.close,
}


@bp.record_once
def _labels(state: BlueprintSetupState) -> None:
    state.app.jinja_env.globals.update(
        CASE_STATUS=labels.STATUS, CASE_LEVEL=labels.LEVEL, CASE_SOURCE=labels.SOURCE, RESPONSE_FORM=labels.FORM,
        DEADLINE_KIND=labels.DEADLINE_KIND, DEADLINE_STATE=labels.DEADLINE_STATE, CASE_EVENT=labels.EVENT,
        # a statement's page names the cases it answers (those the reader may see)
        answered_cases=lambda ids: queries.visible_cases(_user(), ids) if ids else [],
    )


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def clock_colour(deadline: Deadline | None, now: datetime) -> str:
    """green, amber (half the time gone), red (80 %), overdue; `met`/`waived`/`none` when no clock runs."""
    if deadline is None:
        return "none"
    if deadline.met_at is not None:
        return "met"
    if deadline.waived_at is not None:
        return "waived"
    fraction = deadline.fraction(now)
    return "overdue" if fraction >= 1 else "red" if fraction >= 0.8 else "amber" if fraction >= 0.5 else "green"


def remaining(deadline: Deadline, now: datetime) -> str:
    """剩余 3 小时 12 分 / 超时 2 小时: the countdown as people read it."""
    seconds = int((deadline.due_at - now).total_seconds())
    minutes = abs(seconds) // 60
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    span = (_("%(d)d 天 %(h)d 小时", d=days, h=hours) if days else _("%(h)d 小时 %(m)d 分", h=hours, m=mins))
    return _("剩余 %(span)s", span=span) if seconds >= 0 else _("已超时 %(span)s", span=span)


def _nearest(deadlines: list[Deadline]) -> Deadline | None:
    open_ = [d for d in deadlines if d.met_at is None]
    return min(open_, key=lambda d: d.due_at) if open_ else None


@bp.get("/cases")
@login_required
def register_page() -> str | tuple[str, int]:
    """舆情台账: the cases the person may see, most urgent first, with their clocks."""
    user = _user()
    raw = {k: v for k, v in request.args.items() if k in ("status", "level", "unit", "source", "overdue", "q") and v}
    page_no = params.page_number(request.args.get("page"))
    error = None
    try:
        filters = queries.parse_filters(raw)
    except HuiyingError as err:
        error, filters = err, queries.Filters()
    rows, total = queries.page(user, filters, Cut(page_no, PER_PAGE))
    items = list_items(rows)
    units = list(db.session.scalars(select(Unit).order_by(Unit.code))) if user.sees_all_units else [user.unit]
    return render_template(
        "cases/register.html", items=items, total=total, page=page_no, per_page=PER_PAGE, args=raw,
        units=units, sources=list(Source), error=error, fields=(error.fields or {}) if error else {},
    ), (error.status if error else 200)


def list_items(rows: list[Case]) -> list[dict[str, Any]]:
    """Cases as list rows with their nearest clock (one query for every row's deadlines)."""
    ids = [c.id for c in rows]
    clocks: dict[int, list[Deadline]] = {i: [] for i in ids}
    if ids:
        for d in db.session.scalars(select(Deadline).where(Deadline.case_id.in_(ids),
                                                           Deadline.superseded_at.is_(None))):
            clocks[d.case_id].append(d)
    now = utcnow()
    items = []
    for case in rows:
        nearest = _nearest(clocks[case.id]) if case.is_open else None
        items.append({"case": case, "nearest": nearest, "colour": clock_colour(nearest, now),
                      "remaining": remaining(nearest, now) if nearest else ""})
    return items


def _intake(values: dict[str, Any], error: HuiyingError | None = None, status: int = 200) -> tuple[str, int]:
    user = _user()
    # the person's own unit first, the one they most often choose
    units = sorted(db.session.scalars(select(Unit)), key=lambda u: (u.id != user.unit_id, u.code))
    # refused for a same-title case: show those cases, and the box that registers anyway
    similar = (services.similar_cases(user, values.get("title", ""), utcnow())
               if error is not None and error.code == services.SimilarCase.code else [])
    return render_template(
        "cases/new.html", values=values, error=error, fields=(error.fields or {}) if error else {},
        units=units, sources=list(Source), office=user.has_role(Role.OFFICE), similar=similar, title_max=TITLE_MAX,
    ), status


def _lead_first(lead: str | None, ticked: list[str]) -> list[str]:
    """The form's units in the API's shape (interface §8: the first leads): the chosen lead, then the others ticked.

    A post without the `lead_unit` field keeps the order it was sent in.
    """
    if not lead:
        return ticked
    return [lead, *(code for code in ticked if code != lead)]


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new() -> Response | tuple[str, int]:
    """登记舆情: a phone-friendly intake form; screenshots are attached on the case page once it exists."""
    user = _user()
    rules.may_register(user)
    if request.method == "GET":
        kept = prg.take()
        if kept is not None and kept.values:
            return _intake(kept.values, kept.error, kept.status)
        now = local(utcnow())
        assert now is not None
        # the office registers for others: nothing is ticked for it, least of all its own 院办公室
        mine = [] if user.has_role(Role.OFFICE) else [user.unit.code]
        # intake_key: the form's Idempotency-Key (interface §20); Back and submit again answers the case it made
        return _intake({"title": "", "summary": "", "source": "", "source_url": "",
                        "discovered_at": now.strftime("%Y-%m-%dT%H:%M"), "lead_unit": mine[0] if mine else "",
                        "units": mine, "intake_key": secrets.token_urlsafe(24)})
    form = request.form
    values = {"title": form.get("title", ""), "summary": form.get("summary", ""), "source": form.get("source", ""),
              "source_url": form.get("source_url", ""), "discovered_at": form.get("discovered_at", ""),
              "lead_unit": form.get("lead_unit"), "units": form.getlist("units"),
              "intake_key": form.get("intake_key", "")}
    data: dict[str, Any] = {k: v for k, v in values.items() if k not in ("intake_key", "lead_unit")}
    data |= {"summary": values["summary"].replace("\r\n", "\n"), "source_url": values["source_url"] or None,
             "units": _lead_first(values["lead_unit"], values["units"]) or [user.unit.code]}
    if values["discovered_at"]:
        data["discovered_at"] = params.wall_time(values["discovered_at"])
    else:
        data.pop("discovered_at")
    try:
        if values["lead_unit"] == "":
            raise Invalid(_("请选择牵头单位"), fields={"lead_unit": _("请选择牵头单位")})
        done = services.intake(user, data, key=values["intake_key"] or None,
                               confirmed=form.get("confirm_similar") == "on")
    except HuiyingError as err:
        db.session.rollback()
        return prg.back(url_for(".new"), err, values=values)
    if done.created:
        flash(_("已登记舆情"), "success")
    else:
        flash(_("这张表单已经提交过，没有重复登记；以下是当时登记的舆情"), "warning")
    return redirect(url_for(".case_page", case_id=done.case.id))


def _case_page(case: Case, *, form: str = "", error: HuiyingError | None = None,
               typed: dict[str, Any] | None = None, assisting: list[str] | None = None,
               status: int = 200) -> tuple[str, int]:
    user = _user()
    # A closed case's clocks stopped at its closing (interface §20): an overdue one shows how late it was then.
    now = utcnow() if case.is_open or case.closed_at is None else case.closed_at
    deadlines = [{"d": d, "state": d.state(now).value, "colour": clock_colour(d, now),
                  "remaining": remaining(d, now) if d.met_at is None and d.waived_at is None else ""}
                 for d in case.deadlines]
    level = case.level or 0
    priority = "urgent" if level in (1, 2) else "normal"
    units = list(db.session.scalars(select(Unit).order_by(Unit.code)))
    return render_template(
        "cases/case.html", case=case, actions=rules.actions(user, case), deadlines=deadlines,
        responsible=register.responsible(case.lead_unit), statements=statements_json(case),
        form=form, error=error, fields=(error.fields or {}) if error else {}, typed=typed or {},
        # the 转办 form's ticks as they were sent (a refused form keeps every valid choice)
        typed_assisting=assisting if assisting is not None else [u.code for u in case.assisting_units],
        units=units, unit_names={u.code: u.name for u in units}, forms=list(ResponseForm), priority=priority,
        may_draft=user.has_role(Role.DRAFTER) and user.unit_id == case.lead_unit_id and case.is_open,
    ), status


@bp.get("/cases/<int:case_id>")
@login_required
def case_page(case_id: int) -> tuple[str, int]:
    """A case: facts, whom to call, clocks, timeline, responses and the actions this person may take."""
    kept = prg.take()
    case = services.get_case(_user(), case_id)
    if kept is None:
        return _case_page(case)
    return _case_page(case, form=kept.form, error=kept.error, typed=kept.typed.to_dict(),
                      assisting=kept.typed.getlist("assisting_units") if kept.form == "assign" else None,
                      status=kept.status)


@bp.post("/cases/<int:case_id>/attachments")
@login_required
def attach(case_id: int) -> Response:
    """添加附件: one screenshot or document from the case page, then back to it."""
    sent = request.files.get("file")
    try:
        if sent is None or not sent.filename:
            raise Invalid(_("请选择文件"), fields={"file": _("请选择要上传的截图或文件")})
        attachments.add(_user(), case_id, sent.stream.read(attachments.MAX_ATTACHMENT_BYTES + 1), sent.filename)
    except HuiyingError as err:
        db.session.rollback()
        return prg.back(url_for(".case_page", case_id=case_id), err, form="attach")
    flash(_("已添加附件"), "success")
    return redirect(url_for(".case_page", case_id=case_id, _anchor="attachments"))


@bp.get("/cases/<int:case_id>/attachments/<int:attachment_id>")
@login_required
def attachment(case_id: int, attachment_id: int) -> Response:
    """An attachment, for whoever may see the case; served as evidence is (never cached, never sniffed)."""
    found = attachments.get(_user(), case_id, attachment_id)
    response = send_file(attachments.attachment_path(found.sha256, found.ext), mimetype=found.mime,
                         download_name=found.name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _action_data(action: str) -> dict[str, Any]:
    """The form's values shaped like the JSON API body (interface §8)."""
    form = request.form
    if action == "assess":
        return {"level": form.get("level", ""), "rationale": form.get("rationale", ""),
                "must_respond": form.get("must_respond") == "on"}
    if action == "assign":
        return {"lead_unit": form.get("lead_unit", ""), "assisting_units": form.getlist("assisting_units"),
                "note": form.get("note", "")}
    if action == "respond":
        raw_id = form.get("statement_id", "").strip().lstrip("#")
        return {"form": form.get("form", ""),
                "statement_id": params.optional_row_id(raw_id, "statement_id", _("回应稿编号有误")),
                "held_at": params.wall_time(form.get("held_at", "")), "note": form.get("note", ""),
                "evidence_url": form.get("evidence_url", "") or None}
    if action == "close":
        return {"outcome": form.get("outcome", ""), "no_response_reason": form.get("no_response_reason", "")}
    return {"note": form.get("note", "")}


@bp.post("/cases/<int:case_id>/<action>")
@login_required
def act(case_id: int, action: str) -> Response | tuple[str, int]:
    """One action form: call its service, then back to the case page."""
    service = ACTIONS.get(action)
    if service is None:
        raise NotFound(_("没有这个操作"))
    user = _user()
    try:
        service(user, case_id, _action_data(action))
    except HuiyingError as err:
        db.session.rollback()
        return prg.back(url_for(".case_page", case_id=case_id), err, form=action, typed=request.form)
    flash(_("已保存"), "success")
    return redirect(url_for(".case_page", case_id=case_id))
