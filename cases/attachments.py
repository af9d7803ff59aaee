"""Attachments of a case: the screenshot of a post, a letter, a PDF — evidence of what was said.

Checked by content as review's evidence is (`app.documents`), stored once under their sha256 beside the media
(MEDIA_ROOT/cases/), added by the people who may act on the case, served only to those who may see it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app import audit
from app.documents import clean_name, document_kind
from app.errors import Invalid, NotFound, TooLarge, WrongState
from app.extensions import db
from app.models import User
from app.storage import write_atomically
from app.tx import begin_write
from cases import rules
from cases.models import CaseAttachment
from cases.services import get_case

#: As review's evidence documents.
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024


def attachment_path(sha256: str, ext: str) -> Path:
    """Where the bytes of a case attachment are kept (one file per content)."""
    return Path(current_app.config["MEDIA_ROOT"]) / "cases" / sha256[:2] / f"{sha256}.{ext}"


def add(actor: User, case_id: int, data: bytes, name: str = "") -> CaseAttachment:
    """Attach a PDF or an image (≤ 5 MB, judged by its bytes) to an open case; audited as `case.attach`."""
    begin_write()
    case = get_case(actor, case_id, for_update=True)
    rules.may_attach(actor, case)
    if not case.is_open:
        raise WrongState(_("舆情已办结，不能再添加附件"))
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise TooLarge(_("附件不能超过 5 MB"), fields={"file": _("附件不能超过 5 MB")})
    if not data:
        raise Invalid(_("请选择文件"), fields={"file": _("文件为空")})
    ext, mime = document_kind(data)
    digest = hashlib.sha256(data).hexdigest()
    path = attachment_path(digest, ext)
    if not path.exists():
        write_atomically(path, data)
    found = CaseAttachment(case_id=case.id, sha256=digest, ext=ext, mime=mime, size=len(data),
                           name=clean_name(name) or f"{digest[:12]}.{ext}", uploaded_by=actor.id)
    db.session.add(found)
    db.session.flush()
    audit.record(actor, "case.attach", case, after={"attachment": found.id, "name": found.name, "sha256": digest,
                                                    "size": len(data), "mime": mime})
    db.session.commit()
    return found


def get(actor: User, case_id: int, attachment_id: int) -> CaseAttachment:
    """One attachment of a case the actor may see (403 wrong_unit, 404 otherwise)."""
    case = get_case(actor, case_id)
    found = db.session.scalar(select(CaseAttachment).where(CaseAttachment.id == attachment_id,
                                                           CaseAttachment.case_id == case.id))
    if found is None:
        raise NotFound(_("附件不存在"))
    return found
