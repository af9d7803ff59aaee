"""Statements API (CONTRACT §3): parse, call one service, shape the answer."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from app.api import actor, api_blueprint, json_body, page_args
from app.errors import Invalid, TooLarge
from app.extensions import db
from app.models import Unit
from review import media, preview, rules, services
from review.models import Revision, Statement, Status
from review.serialize import statement_json

bp = api_blueprint("review_api", __name__)


@bp.post("/statements")
def create_statement() -> tuple[Response, int]:
    st = services.create(actor(), json_body())
    return jsonify(statement_json(st)), 201


@bp.get("/statements")
def list_statements() -> Response:
    user = actor()
    page, per_page = page_args()
    query = select(Statement).join(Statement.current_revision)
    if not user.sees_all_units:
        query = query.where(Statement.unit_id == user.unit_id)
    if status := request.args.get("status"):
        if status not in {s.value for s in Status}:
            raise Invalid(_("未知状态"), fields={"status": _("未知状态：%(s)s", s=status[:32])})
        query = query.where(Statement.status == status)
    if code := request.args.get("unit"):
        unit = Unit.by_code(code)
        if unit is None:
            raise Invalid(_("未知单位"), fields={"unit": _("未知单位：%(code)s", code=code[:32])})
        query = query.where(Statement.unit_id == unit.id)
    if q := request.args.get("q", "").strip():
        like = f"%{q.replace('%', '').replace('_', '')}%"
        query = query.where(or_(Revision.title.ilike(like), Revision.body.ilike(like), Revision.digest.ilike(like)))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.order_by(Statement.updated_at.desc(), Statement.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).unique()
    return jsonify({"items": [statement_json(st) for st in rows], "total": total})


@bp.get("/statements/<int:statement_id>")
def get_statement(statement_id: int) -> Response:
    return jsonify(statement_json(services.get_statement(actor(), statement_id)))


@bp.put("/statements/<int:statement_id>")
def edit_statement(statement_id: int) -> Response:
    return jsonify(statement_json(services.edit(actor(), statement_id, json_body())))


@bp.post("/statements/<int:statement_id>/submit")
def submit_statement(statement_id: int) -> Response:
    return jsonify(statement_json(services.submit(actor(), statement_id)))


@bp.post("/statements/<int:statement_id>/reviews")
def review_statement(statement_id: int) -> tuple[Response, int]:
    decision = services.decide(actor(), statement_id, json_body())
    st = services.get_statement(actor(), decision.statement_id)
    return jsonify(statement_json(st)), 201


@bp.post("/statements/<int:statement_id>/confirmations")
def confirm_statement(statement_id: int) -> tuple[Response, int]:
    confirmation = services.confirm(actor(), statement_id, json_body())
    st = services.get_statement(actor(), confirmation.statement_id)
    return jsonify(statement_json(st)), 201


@bp.post("/statements/<int:statement_id>/comments")
def comment_statement(statement_id: int) -> tuple[Response, int]:
    """A remark on a revision that is not a decision (kept beside the decisions, counts for nothing)."""
    note = services.comment(actor(), statement_id, json_body())
    return jsonify(statement_json(services.get_statement(actor(), note.statement_id))), 201


@bp.post("/statements/<int:statement_id>/correct")
def correct_statement(statement_id: int) -> tuple[Response, int]:
    return jsonify(statement_json(services.correct(actor(), statement_id))), 201


@bp.get("/statements/<int:statement_id>/preview")
def preview_statement(statement_id: int) -> Response:
    st = services.get_statement(actor(), statement_id)
    html = preview.render(st, request.args.get("channel", "portal"))
    return Response(html, mimetype="text/html")


@bp.post("/images")
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
