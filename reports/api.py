"""Reports API (CONTRACT §12): the period's summary, and the case register as a spreadsheet."""

from __future__ import annotations

from flask import Response, jsonify, request

from app.api import actor, api_blueprint
from reports import export, summary
from reports import period as periods

bp = api_blueprint("reports_api", __name__)


@bp.get("/reports/summary")
def get_summary() -> Response:
    """Office: any unit or all; a leader: their own unit only (403 otherwise)."""
    unit = periods.scope(actor(), request.args.get("unit"))
    chosen = periods.parse_period(request.args)
    return jsonify(summary.summary(chosen, unit))


@bp.get("/cases/export.xlsx")
def export_cases() -> Response:
    """The register as a spreadsheet: the caller's visible cases, with `GET /cases`'s filters and `from`/`to`."""
    return Response(
        export.xlsx_bytes(actor(), request.args),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": "attachment; filename=\"cases.xlsx\"; "
                                        "filename*=UTF-8''%E8%88%86%E6%83%85%E5%8F%B0%E8%B4%A6.xlsx"},
    )
