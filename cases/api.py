"""Cases API (CONTRACT §8): parse, call one service, shape the answer."""

from __future__ import annotations

from flask import Response, jsonify, request

from app.api import actor, api_blueprint, json_body, page_args
from app.extensions import db
from cases import queries, report, services
from cases.serialize import case_json

bp = api_blueprint("cases_api", __name__)


def _answer(case_id: int, status: int = 201) -> tuple[Response, int]:
    db.session.expire_all()
    return jsonify(case_json(services.get_case(actor(), case_id))), status


@bp.post("/cases")
def create_case() -> tuple[Response, int]:
    case = services.create(actor(), json_body())
    return _answer(case.id)


@bp.get("/cases")
def list_cases() -> Response:
    user = actor()
    page, per_page = page_args()
    filters = queries.parse_filters(request.args.to_dict())
    rows, total = queries.page(user, filters, limit=per_page, offset=(page - 1) * per_page, whole=True)
    return jsonify({"items": [case_json(c) for c in rows], "total": total})


@bp.get("/cases/<int:case_id>")
def get_case(case_id: int) -> Response:
    return jsonify(case_json(services.get_case(actor(), case_id)))


@bp.post("/cases/<int:case_id>/assessment")
def assess_case(case_id: int) -> tuple[Response, int]:
    services.assess(actor(), case_id, json_body())
    return _answer(case_id)


@bp.post("/cases/<int:case_id>/assignment")
def assign_case(case_id: int) -> tuple[Response, int]:
    services.assign(actor(), case_id, json_body())
    return _answer(case_id)


@bp.post("/cases/<int:case_id>/acceptance")
def accept_case(case_id: int) -> tuple[Response, int]:
    services.accept(actor(), case_id, json_body())
    return _answer(case_id)


@bp.post("/cases/<int:case_id>/feedback")
def case_feedback(case_id: int) -> tuple[Response, int]:
    services.feedback(actor(), case_id, json_body())
    return _answer(case_id)


@bp.post("/cases/<int:case_id>/responses")
def case_response(case_id: int) -> tuple[Response, int]:
    services.respond(actor(), case_id, json_body())
    return _answer(case_id)


@bp.post("/cases/<int:case_id>/close")
def close_case(case_id: int) -> tuple[Response, int]:
    services.close(actor(), case_id, json_body())
    return _answer(case_id)


@bp.get("/cases/<int:case_id>/report.docx")
def case_report(case_id: int) -> Response:
    case = services.get_case(actor(), case_id)
    return Response(
        report.docx_bytes(case),
        mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        headers={"Content-Disposition": f"attachment; filename=\"case-{case.id}-report.docx\"; "
                                        f"filename*=UTF-8''case-{case.id}-%E8%88%86%E6%83%85%E4%B8%93%E6%8A%A5.docx"},
    )
