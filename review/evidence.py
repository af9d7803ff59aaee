"""Evidence for agency confirmations: the document (PDF or image) that records another body's agreement.

Checked by its content, not its name; stored once under its sha256 beside the media (MEDIA_ROOT/evidence/);
served only to people who may see a statement whose confirmation names it — unlike images, never public.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from flask import Blueprint, Response, jsonify, request, send_file
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app import audit
from app.api import actor, api_blueprint
from app.documents import clean_name, document_kind
from app.errors import Invalid, NotFound, TooLarge
from app.extensions import db
from app.models import Role, User
from app.openapi import Out, operation
from app.storage import write_atomically
from review import rules
from review.media import media_root
from review.models import Confirmation, Evidence

MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
UPLOADERS = (Role.DRAFTER, Role.OFFICE)  # who records confirmations
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def evidence_path(sha256: str, ext: str) -> Path:
    return media_root() / "evidence" / sha256[:2] / f"{sha256}.{ext}"


def save(actor: User, data: bytes, name: str = "") -> Evidence:
    """Store an evidence document once per content (PDF or image, ≤ 5 MB)."""
    rules.require_role(actor, *UPLOADERS)
    if len(data) > MAX_EVIDENCE_BYTES:
        raise TooLarge(_("证明材料不能超过 5 MB"), fields={"file": _("证明材料不能超过 5 MB")})
    if not data:
        raise Invalid(_("请选择文件"), fields={"file": _("文件为空")})
    ext, mime = document_kind(data)
    digest = hashlib.sha256(data).hexdigest()
    existing = db.session.get(Evidence, digest)
    if existing is not None:
        return existing
    write_atomically(evidence_path(digest, ext), data)
    found = Evidence(sha256=digest, ext=ext, mime=mime, size=len(data), name=clean_name(name) or f"{digest[:12]}.{ext}",
                     uploaded_by_id=actor.id)
    db.session.add(found)
    audit.record(actor, "evidence.upload", found, after={"sha256": digest, "size": len(data), "mime": mime})
    db.session.commit()
    return found


def known(sha256: str | None) -> Evidence | None:
    """The stored evidence named by this hash, or None."""
    if not sha256 or not SHA256.match(sha256):
        return None
    return db.session.get(Evidence, sha256)


bp = Blueprint("evidence", __name__)


@bp.get("/statements/<int:statement_id>/evidence/<sha256>.<ext>")
@login_required
def serve(statement_id: int, sha256: str, ext: str) -> Response:
    """An evidence document, for whoever may see the statement it confirms (never cached by proxies)."""
    from review import services

    st = services.get_statement(current_user._get_current_object(), statement_id)
    found = db.session.scalar(
        select(Evidence).join(Confirmation, Confirmation.evidence_sha256 == Evidence.sha256)
        .where(Confirmation.statement_id == st.id, Evidence.sha256 == sha256).limit(1)
    )
    if found is None or found.ext != ext:
        raise NotFound(_("证明材料不存在"))
    response = send_file(evidence_path(found.sha256, found.ext), mimetype=found.mime, download_name=found.name,
                         max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


api = api_blueprint("evidence_api", __name__)

EVIDENCE_UPLOAD = {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "PDF, PNG, JPEG, GIF or WebP, at most 5 MB (checked by content)"}},
}


class EvidenceUploaded(Out):
    """An uploaded evidence document; name it in `POST /statements/{id}/confirmations` as `evidence`."""

    sha256: str
    name: str
    mime: str
    size: int


@api.post("/evidence")
@operation("Upload the document that records an agency's agreement", multipart=EVIDENCE_UPLOAD,
           responses={201: EvidenceUploaded}, errors=(403,))
def upload() -> tuple[Response, int]:
    user = actor()
    rules.require_role(user, *UPLOADERS)
    if request.content_length is not None and request.content_length > MAX_EVIDENCE_BYTES + 64 * 1024:
        raise TooLarge(_("证明材料不能超过 5 MB"))
    sent = request.files.get("file")
    if sent is None:
        raise Invalid(_("缺少文件"), fields={"file": _("请用 multipart 字段 file 上传")})
    found = save(user, sent.stream.read(MAX_EVIDENCE_BYTES + 1), sent.filename or "")
    return jsonify({"sha256": found.sha256, "name": found.name, "mime": found.mime, "size": found.size}), 201
