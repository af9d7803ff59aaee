"""Reports API (interface §12): the period's summary, and the case register as a spreadsheet."""

from __future__ import annotations

from flask import Response, jsonify, request
from flask_babel import gettext as _

from app.api import actor, api_blueprint
from app.openapi import operation
from app.validation import parse_query
from reports import export, summary
from reports import period as periods
from reports.schemas import ExportQuery, SummaryOut, SummaryQuery

bp = api_blueprint("reports_api", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/reports/summary")
@operation("The period's figures (office; a leader for their unit)", query=SummaryQuery,
           responses={200: SummaryOut}, errors=(403,))
def get_summary() -> Response:
    """Office: any unit or all; a leader: their own unit only (403 otherwise)."""
    unit = periods.scope(actor(), request.args.get("unit"))  # 403 comes before 400 (interface §3)
    parse_query(SummaryQuery, request.args, _("统计区间有误"))
    chosen = periods.parse_period(request.args)
    return jsonify(summary.summary(chosen, unit))


@bp.get("/cases/export.xlsx")
@operation("The case register as a spreadsheet", query=ExportQuery, responses={200: XLSX})
def export_cases() -> Response:
    """The register as a spreadsheet: the caller's visible cases, with `GET /cases`'s filters and `from`/`to`."""
    user = actor()
    parse_query(ExportQuery, request.args, _("筛选条件有误"))
    return Response(
        export.xlsx_bytes(user, request.args),
        mimetype=XLSX,
        headers={"Content-Disposition": "attachment; filename=\"cases.xlsx\"; "
                                        "filename*=UTF-8''%E8%88%86%E6%83%85%E5%8F%B0%E8%B4%A6.xlsx"},
    )
