"""Cases API (CONTRACT §8): parse, call one service, shape the answer."""

from __future__ import annotations

from flask import Response, jsonify, request
from flask_babel import gettext as _

from app.api import actor, api_blueprint, json_body
from app.extensions import db
from app.openapi import operation, parse_query
from cases import queries, report, services
from cases.schemas import (
    AcceptanceIn,
    AssessmentIn,
    AssignmentIn,
    CaseIn,
    CaseList,
    CaseOut,
    CaseQuery,
    CloseIn,
    FeedbackIn,
    ResponseIn,
)
from cases.serialize import case_json

bp = api_blueprint("cases_api", __name__)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _answer(case_id: int, status: int = 201) -> tuple[Response, int]:
    db.session.expire_all()
    return jsonify(case_json(services.get_case(actor(), case_id))), status


@bp.post("/cases")
@operation("Register a case (drafter, office)", body=CaseIn, responses={201: CaseOut}, errors=(403,))
def create_case() -> tuple[Response, int]:
    case = services.create(actor(), json_body())
    return _answer(case.id)


@bp.get("/cases")
@operation("The case register, most urgent first", query=CaseQuery, responses={200: CaseList})
def list_cases() -> Response:
    user = actor()
    wanted = parse_query(CaseQuery, request.args, _("筛选条件有误"))
    page, per_page = wanted.page, wanted.per_page
    filters = queries.parse_filters(request.args.to_dict())
    rows, total = queries.page(user, filters, limit=per_page, offset=(page - 1) * per_page, whole=True)
    return jsonify({"items": [case_json(c) for c in rows], "total": total})


@bp.get("/cases/<int:case_id>")
@operation("A case", responses={200: CaseOut}, errors=(403,))
def get_case(case_id: int) -> Response:
    return jsonify(case_json(services.get_case(actor(), case_id)))


@bp.post("/cases/<int:case_id>/assessment")
@operation("Assess a case: level and deadlines", body=AssessmentIn, responses={201: CaseOut}, errors=(403, 409))
def assess_case(case_id: int) -> tuple[Response, int]:
    services.assess(actor(), case_id, json_body())
    return _answer(case_id)


@bp.post("/cases/<int:case_id>/assignment")
@operation("Assign a lead unit (office)", body=AssignmentIn, responses={201: CaseOut}, errors=(403, 409))
def assign_case(case_id: int) -> tuple[Response, int]:
    services.assign(actor(), case_id, json_body())
    return _answer(case_id)


@bp.post("/cases/<int:case_id>/acceptance")
@operation("The lead unit accepts the case", body=AcceptanceIn, responses={201: CaseOut}, errors=(403, 409))
def accept_case(case_id: int) -> tuple[Response, int]:
    services.accept(actor(), case_id, json_body())
    return _answer(case_id)


@bp.post("/cases/<int:case_id>/feedback")
@operation("Feedback on a case", body=FeedbackIn, responses={201: CaseOut}, errors=(403, 409))
def case_feedback(case_id: int) -> tuple[Response, int]:
    services.feedback(actor(), case_id, json_body())
    return _answer(case_id)


@bp.post("/cases/<int:case_id>/responses")
@operation("Record a response", body=ResponseIn, responses={201: CaseOut}, errors=(403, 409))
def case_response(case_id: int) -> tuple[Response, int]:
    services.respond(actor(), case_id, json_body())
    return _answer(case_id)


@bp.post("/cases/<int:case_id>/close")
@operation("Close a case", body=CloseIn, responses={201: CaseOut}, errors=(403, 409))
def close_case(case_id: int) -> tuple[Response, int]:
    services.close(actor(), case_id, json_body())
    return _answer(case_id)


@bp.get("/cases/<int:case_id>/report.docx")
@operation("专报: the case as a Word document", responses={200: DOCX}, errors=(403,))
def case_report(case_id: int) -> Response:
    case = services.get_case(actor(), case_id)
    return Response(
        report.docx_bytes(case),
        mimetype=DOCX,
        headers={"Content-Disposition": f"attachment; filename=\"case-{case.id}-report.docx\"; "
                                        f"filename*=UTF-8''case-{case.id}-%E8%88%86%E6%83%85%E4%B8%93%E6%8A%A5.docx"},
    )
