"""Statements API (interface §3): parse, call one service, shape the answer."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import or_

from app import paging
from app.api import actor, api_blueprint, json_body
from app.errors import Invalid, NotFound, TooLarge
from app.extensions import db
from app.models import Unit
from app.openapi import operation
from app.validation import parse_query
from review import media, preview, rows, rules, services
from review.models import Revision, Statement
from review.schemas import (
    IMAGE_UPLOAD,
    CommentIn,
    ConfirmationIn,
    ImageOut,
    PreviewQuery,
    ReviewIn,
    StatementCreate,
    StatementFields,
    StatementList,
    StatementOut,
    StatementQuery,
)
from review.serialize import statement_json

bp = api_blueprint("review_api", __name__)


@bp.post("/statements")
@operation("Create a statement (drafter)", body=StatementCreate, responses={201: StatementOut}, errors=(403,))
def create_statement() -> tuple[Response, int]:
    st = services.create(actor(), json_body())
    return jsonify(statement_json(st)), 201


@bp.get("/statements")
@operation("List statements", query=StatementQuery, responses={200: StatementList})
def list_statements() -> Response:
    user = actor()
    wanted = parse_query(StatementQuery, request.args)
    query = rows.statement_query()  # Core rows shaped straight into JSON (review/rows.py)
    if not user.sees_all_units:
        query = query.where(Statement.unit_id == user.unit_id)
    if wanted.status is not None:
        query = query.where(Statement.status == wanted.status)
    if code := wanted.unit:
        unit = Unit.by_code(code)
        if unit is None:
            raise Invalid(_("未知单位"), fields={"unit": _("未知单位：%(code)s", code=code[:32])})
        query = query.where(Statement.unit_id == unit.id)
    if q := wanted.q.strip():
        like = f"%{q.replace('%', '').replace('_', '')}%"
        query = query.where(or_(Revision.title.ilike(like), Revision.body.ilike(like), Revision.digest.ilike(like)))
    found, total = paging.rows_of(query.order_by(Statement.updated_at.desc(), Statement.id.desc()), wanted.cut,
                                  total=paging.count(query.with_only_columns(Statement.id)))
    return _json(rows.dumps({"items": rows.objects(found), "total": total}))


@bp.get("/statements/<int:statement_id>")
@operation("A statement", responses={200: StatementOut}, errors=(403,))
def get_statement(statement_id: int) -> Response:
    """Two Core queries (and publishing's one) shaped into JSON; a strong ETag, so `If-None-Match` → 304."""
    user = actor()
    row = db.session.execute(rows.by_id(), {"sid": statement_id}).first()
    if row is None:
        raise NotFound(_("回应不存在"))
    if not rules.can_see(user, row):  # the rule of services.get_statement
        rules.require_own_unit(user, row)
    body = rows.dumps(rows.objects([row])[0])
    response = _json(body)
    response.set_etag(rows.etag(row, body))
    response.headers["Cache-Control"] = "private, no-cache"  # per person: revalidate every time, never shared
    return response.make_conditional(request)


def _json(body: bytes) -> Response:
    """A JSON answer byte for byte as `jsonify` writes it here (sorted keys, compact, newline)."""
    return Response(body + b"\n", mimetype="application/json")


@bp.put("/statements/<int:statement_id>")
@operation("Edit a statement: a new revision", body=StatementFields, responses={200: StatementOut},
           errors=(403, 409))
def edit_statement(statement_id: int) -> Response:
    return jsonify(statement_json(services.edit(actor(), statement_id, json_body())))


@bp.post("/statements/<int:statement_id>/submit")
@operation("Submit for review", responses={200: StatementOut}, errors=(403, 409))
def submit_statement(statement_id: int) -> Response:
    """Optional body `{"reviewers": [username, …]}`: experts of the unit asked (and told) to review."""
    return jsonify(statement_json(services.submit(actor(), statement_id, json_body())))


@bp.post("/statements/<int:statement_id>/reviews")
@operation("Decide on a revision (expert, leader)", body=ReviewIn, responses={201: StatementOut},
           errors=(403, 409))
def review_statement(statement_id: int) -> tuple[Response, int]:
    decision = services.decide(actor(), statement_id, json_body())
    row = db.session.execute(rows.by_id(), {"sid": decision.statement_id}).one()
    return _json(rows.dumps(rows.objects([row])[0])), 201  # the decider may see it: decide checked


@bp.post("/statements/<int:statement_id>/confirmations")
@operation("Record an agency's confirmation", body=ConfirmationIn, responses={201: StatementOut},
           errors=(403, 409))
def confirm_statement(statement_id: int) -> tuple[Response, int]:
    confirmation = services.confirm(actor(), statement_id, json_body())
    st = services.get_statement(actor(), confirmation.statement_id)
    return jsonify(statement_json(st)), 201


@bp.post("/statements/<int:statement_id>/comments")
@operation("Comment on a revision", body=CommentIn, responses={201: StatementOut}, errors=(403,))
def comment_statement(statement_id: int) -> tuple[Response, int]:
    """A remark on a revision that is not a decision (kept beside the decisions, counts for nothing)."""
    note = services.comment(actor(), statement_id, json_body())
    return jsonify(statement_json(services.get_statement(actor(), note.statement_id))), 201


@bp.post("/statements/<int:statement_id>/correct")
@operation("Start a correction of a published statement", responses={201: StatementOut}, errors=(403, 409))
def correct_statement(statement_id: int) -> tuple[Response, int]:
    return jsonify(statement_json(services.correct(actor(), statement_id))), 201


@bp.get("/statements/<int:statement_id>/preview")
@operation("What a channel will receive", query=PreviewQuery, responses={200: "text/html"}, errors=(403,))
def preview_statement(statement_id: int) -> Response:
    st = services.get_statement(actor(), statement_id)
    html = preview.render(st, parse_query(PreviewQuery, request.args).channel)
    return Response(html, mimetype="text/html")


@bp.post("/images")
@operation("Upload an image for statement bodies", multipart=IMAGE_UPLOAD, responses={201: ImageOut},
           errors=(403,))
def upload_image() -> tuple[Response, int]:
    user = actor()
    rules.require_role(user, *media.UPLOADERS)
    if request.content_length is not None and request.content_length > media.MAX_IMAGE_BYTES + 64 * 1024:
        raise TooLarge(_("图片不能超过 5 MB"))
    upload = request.files.get("file")
    if upload is None:
        raise Invalid(_("缺少文件"), fields={"file": _("请用 multipart 字段 file 上传图片")})
    data = upload.stream.read(media.MAX_IMAGE_BYTES + 1)
    image = media.save_image(user, data)
    body: dict[str, Any] = {"url": image.url, "sha256": image.sha256}
    return jsonify(body), 201
