"""Cases API (interface §8): parse, call one service, shape the answer."""

from __future__ import annotations

from flask import Response, jsonify, request
from flask_babel import gettext as _

from app.api import actor, api_blueprint, json_body
from app.errors import Invalid, TooLarge
from app.extensions import db
from app.openapi import operation
from app.validation import parse, parse_query
from cases import attachments, queries, report, services, workdays
from cases.schemas import (
    AcceptanceIn,
    AssessmentIn,
    AssignmentIn,
    CalendarIn,
    CalendarOut,
    CalendarQuery,
    CalendarSaved,
    CaseAttachmentOut,
    CaseIn,
    CaseList,
    CaseOut,
    CaseQuery,
    CaseRegistered,
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
@operation("Register a case (drafter, office)", body=CaseIn, responses={201: CaseRegistered, 200: CaseRegistered},
           errors=(403,), description=(
               "Optional header `Idempotency-Key` (1–128 printable ASCII characters): the same key from the same "
               "caller within 24 h answers the case it first made, 200, instead of registering another. "
               "`warnings` names visible cases of the same (normalized) title registered within 24 h."))
def create_case() -> tuple[Response, int]:
    """登记: 201 a new case; 200 the first case of a repeated Idempotency-Key."""
    user = actor()
    done = services.intake(user, json_body(), key=request.headers.get("Idempotency-Key"))
    db.session.expire_all()
    body = case_json(services.get_case(user, done.case.id))
    body["warnings"] = [
        {"code": "similar_title", "case_id": c.id, "title": c.title, "url": f"/cases/{c.id}",
         "message": _("24 小时内已登记同标题舆情 #%(id)d", id=c.id)}
        for c in done.similar
    ]
    return jsonify(body), 201 if done.created else 200


@bp.get("/cases")
@operation("The case register, most urgent first", query=CaseQuery, responses={200: CaseList})
def list_cases() -> Response:
    user = actor()
    wanted = parse_query(CaseQuery, request.args, _("筛选条件有误"))
    filters = queries.parse_filters(request.args.to_dict())
    rows, total = queries.page(user, filters, wanted.cut, whole=True)
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


CASE_ATTACHMENT_UPLOAD = {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "PDF, PNG, JPEG, GIF or WebP, at most 5 MB (checked by content)"}},
}


@bp.post("/cases/<int:case_id>/attachments")
@operation("Attach a screenshot or document to a case", multipart=CASE_ATTACHMENT_UPLOAD,
           responses={201: CaseAttachmentOut}, errors=(403, 409))
def attach_to_case(case_id: int) -> tuple[Response, int]:
    """附件: who may give feedback on an open case adds a PDF or an image; `url` serves it to the case's readers."""
    user = actor()
    if request.content_length is not None and request.content_length > attachments.MAX_ATTACHMENT_BYTES + 64 * 1024:
        raise TooLarge(_("附件不能超过 5 MB"))
    sent = request.files.get("file")
    if sent is None:
        raise Invalid(_("缺少文件"), fields={"file": _("请用 multipart 字段 file 上传")})
    found = attachments.add(user, case_id, sent.stream.read(attachments.MAX_ATTACHMENT_BYTES + 1), sent.filename or "")
    return jsonify({"id": found.id, "name": found.name, "mime": found.mime, "size": found.size,
                    "sha256": found.sha256, "url": f"/cases/{case_id}/attachments/{found.id}"}), 201


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


def _year() -> int:
    return parse_query(CalendarQuery, request.args, _("参数有误")).year or workdays.this_year()


@bp.get("/calendar")
@operation("The calendar of working days of a year", query=CalendarQuery, responses={200: CalendarOut})
def get_calendar() -> Response:
    """工作日历: where the year's working days come from, and the office's holidays and make-up days."""
    actor()
    return jsonify(workdays.describe(_year()))


@bp.put("/calendar")
@operation("Replace a year's holidays and make-up working days (office, admin)", query=CalendarQuery,
           body=CalendarIn, responses={200: CalendarSaved}, errors=(403,), description=(
               "The whole table of the year, one line per range; every open working-day (`wd`) clock is counted "
               "again in the same transaction and each moved one is recorded on its case's timeline."))
def put_calendar() -> Response:
    user = actor()
    workdays.may_edit(user)  # 403 before any 400 (interface §3)
    year = _year()
    body = parse(CalendarIn, json_body(), _("工作日历有误"))
    change = workdays.replace_year(user, year, body.text)
    db.session.expire_all()
    return jsonify({**workdays.describe(year), "changed": change.changed, "moved": workdays.moved_json(change),
                    "notified": change.notified})
