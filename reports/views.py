"""督查与考核 pages: the period's figures with their charts, and the documents the office sends.

Thin: each view finds the period and the unit the person may see, calls the summary, and renders.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, send_file, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from app import params, prg
from app.errors import HuiyingError, NotFound, WrongRole, WrongUnit
from app.extensions import db
from app.models import Role, Unit, User
from cases import labels, services
from cases.models import Case
from reports import charts, documents, summary, tables, upward
from reports import labels as report_labels
from reports import period as periods
from reports.models import FileKind, ReportFile, ReportMethod, UpwardReport

bp = Blueprint("reports", __name__, template_folder="templates", static_folder="static",
               static_url_path="/reports/static")
PRESETS = ("week", "month", "quarter", "year")


@bp.record_once
def _labels(state: BlueprintSetupState) -> None:
    state.app.jinja_env.globals.update(REPORT_METHOD=report_labels.METHOD, REPORT_FILE_KIND=report_labels.FILE_KIND)


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def chosen_period(args: Any) -> tuple[str, periods.Period]:
    """The picker's choice: a preset up to today, or `custom` with `from`/`to` (400 naming the bad one)."""
    name = args.get("period") or ("custom" if args.get("from") or args.get("to") else "month")
    if name in PRESETS:
        found = periods.preset(name)
        assert found is not None
        return name, found
    return "custom", periods.parse_period(args)


def _charts(data: dict[str, Any], weeks: list[dict[str, Any]], names: dict[str, str]) -> dict[str, Markup]:
    totals = {k: sum(f[k] for f in data["deadlines"].values())
              for k in ("met", "met_late", "overdue", "waived", "pending")}
    decided = totals["met"] + totals["met_late"] + totals["overdue"]
    rate = f"{totals['met'] * 100 // decided}%" if decided else "—"
    return {
        "units": charts.bars(_("各单位舆情数"),
                             [(names.get(code, code), n) for code, n in data["cases"]["by_unit"].items()]),
        "levels": charts.bars(_("按等级"), [(str(labels.LEVEL[int(k)]) if k.isdigit() else _("未研判"), n)
                                          for k, n in data["cases"]["by_level"].items()], colour=charts.ACCENT),
        "weekly": charts.lines(_("每周舆情与回应"), [w["week"][5:] for w in weeks], [
            (_("舆情"), [w["cases"] for w in weeks], charts.BRAND),
            (_("回应"), [w["responses"] for w in weeks], charts.OK)]),
        "deadlines": charts.donut(_("时限完成情况"), [
            (_("按时完成"), totals["met"], charts.OK), (_("超时完成"), totals["met_late"], charts.AMBER),
            (_("已超时"), totals["overdue"], charts.ACCENT), (_("已免除"), totals["waived"], charts.MUTED),
            (_("进行中"), totals["pending"], charts.LINE)],
            centre=rate),
    }


@bp.get("/reports")
@login_required
def reports_page() -> tuple[str, int]:
    """The office's dashboard (a leader's: their unit's), for the period the picker chose."""
    user = _user()
    unit = periods.scope(user, request.args.get("unit"))
    error: HuiyingError | None = None
    try:
        name, period = chosen_period(request.args)
    except HuiyingError as err:
        error, name, period = err, "custom", periods.this_month()
    data = summary.summary(period, unit)
    weeks = summary.weekly(period, unit)
    rows = summary.assessment(period, unit)
    units = list(db.session.scalars(select(Unit).order_by(Unit.code))) if user.has_role(Role.OFFICE) else []
    names = {u.code: u.name for u in db.session.scalars(select(Unit))}
    return render_template(
        "reports/reports.html", data=data, period=period, name=name, unit=unit, units=units,
        charts=_charts(data, weeks, names), tables=tables.all_tables(data, weeks, rows, names), error=error,
        fields=(error.fields or {}) if error else {}, args=request.args, stale=summary.STALE_DAYS,
        log_day=min(period.last, periods.today()),  # the log of a day still to come would be empty
        red=summary.RED_DAYS, presets=PRESETS, files=recent_files() if user.has_role(Role.OFFICE) else [],
    ), (error.status if error else 200)


def _docx(content: bytes, ascii_name: str, chinese_name: str) -> Response:
    return Response(content, mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    headers={"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; "
                                                    f"filename*=UTF-8''{quote(chinese_name)}"})


@bp.get("/reports/bulletin.docx")
@login_required
def bulletin() -> Response:
    """舆情工作通报 for `from`–`to` (default this month up to today); a leader's covers their unit."""
    unit = periods.scope(_user(), request.args.get("unit"))
    period = periods.parse_period(request.args)
    with force_locale("zh_Hans_CN"):  # a document sent upward is Chinese whatever the reader's page language
        content = documents.bulletin_docx(period, unit)
    return _docx(content, f"bulletin-{period.first}-{period.last}.docx",
                 f"舆情工作通报（{period.first}至{period.last}）.docx")


@bp.get("/reports/log.docx")
@login_required
def daily_log() -> Response:
    """舆情日志 of `date` (YYYY-MM-DD, default today, Asia/Shanghai)."""
    unit = periods.scope(_user(), request.args.get("unit"))
    raw = (request.args.get("date") or "").strip()
    day = params.day_of(raw, "date") if raw else periods.today()
    with force_locale("zh_Hans_CN"):
        content = documents.log_docx(day, unit)
    return _docx(content, f"log-{day}.docx", f"舆情日志（{day}）.docx")


def _upward_page(case: Case | None, *, error: HuiyingError | None = None, typed: dict[str, str] | None = None,
                 status: int = 200) -> tuple[str, int]:
    user = _user()
    return render_template(
        "reports/upward.html", case=case, reports=upward.visible(user, case_id=case.id if case else None),
        methods=list(ReportMethod), error=error, fields=(error.fields or {}) if error else {}, typed=typed or {},
        may_bulletin=user.has_role(Role.OFFICE), default_period=periods.this_month(),
    ), status


@bp.route("/reports/upward", methods=["GET", "POST"])
@login_required
def upward_page() -> Response | tuple[str, int]:
    """归口报送: what went up, and the form to record another (of one case, or of a bulletin)."""
    user = _user()
    raw_case = request.values.get("case") or request.values.get("case_id")
    case_id = params.optional_row_id(raw_case, "case", _("舆情编号有误"))
    case = services.get_case(user, case_id) if case_id else None
    if request.method == "GET":
        kept = prg.take()
        if kept is None:
            return _upward_page(case)
        return _upward_page(case, error=kept.error, typed=kept.typed.to_dict(), status=kept.status)
    form = request.form
    data = {"case_id": case.id if case else None, "recipient": form.get("recipient", ""),
            "reported_at": params.wall_time(form.get("reported_at", "")), "method": form.get("method", ""),
            "reference": form.get("reference", ""), "note": form.get("note", ""),
            "from": form.get("from", ""), "to": form.get("to", "")}
    try:
        upward.record(user, data, request.files.get("file"))
    except HuiyingError as err:
        db.session.rollback()
        # what was typed comes back on the page; a chosen file cannot be kept and is chosen again
        return prg.back(url_for(".upward_page", case=case.id) if case else url_for(".upward_page"), err,
                        typed=form)
    flash(_("已登记报送情况"), "success")
    return redirect(url_for(".upward_page", case=case.id) if case else url_for(".upward_page"))


@bp.get("/reports/upward/<int:report_id>/file")
@login_required
def upward_file(report_id: int) -> Response:
    """The file that went up, to whoever may see what it is about."""
    row = db.session.get(UpwardReport, report_id)
    if row is None or row.file_sha256 is None:
        raise NotFound(_("附件不存在"))
    if not upward.may_open(_user(), row):
        raise WrongUnit(_("只能查看本单位的舆情"))
    return send_file(upward.file_path(row.file_sha256), as_attachment=True, download_name=row.file_name or "file",
                     mimetype="application/octet-stream")


@bp.get("/reports/files/<int:file_id>")
@login_required
def report_file(file_id: int) -> Response:
    """A document the worker made on schedule (the whole institute's: the office's to read)."""
    if not _user().has_role(Role.OFFICE):
        raise WrongRole(_("定期生成的日志和通报仅供院办公室下载"))
    row = db.session.get(ReportFile, file_id)
    if row is None:
        raise NotFound(_("文件不存在"))
    if row.kind == FileKind.DAILY_LOG:
        return _docx(row.content, f"log-{row.period_first}.docx", f"舆情日志（{row.period_first}）.docx")
    return _docx(row.content, f"bulletin-{row.period_first}-{row.period_last}.docx",
                 f"舆情工作通报（{row.period_first}至{row.period_last}）.docx")


def recent_files(limit: int = 10) -> list[Any]:
    """The latest scheduled documents, without their bytes."""
    return list(db.session.execute(
        select(ReportFile.id, ReportFile.kind, ReportFile.period_first, ReportFile.period_last, ReportFile.created_at)
        .order_by(ReportFile.created_at.desc(), ReportFile.id.desc()).limit(limit)))
