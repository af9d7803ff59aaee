"""Uploaded images: checked by their content, stored under their sha256, served from /media/."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Blueprint, Response, current_app, send_file
from flask_babel import gettext as _

from app import audit
from app.documents import IMAGE_FORMATS, decoded_image
from app.errors import Invalid, NotFound, TooLarge
from app.extensions import db
from app.models import Role, User
from app.storage import write_atomically
from review import rules
from review.models import Image

MAX_IMAGE_BYTES = 5 * 1024 * 1024
UPLOADERS = (Role.DRAFTER, Role.OFFICE)
MIME_BY_EXT = {ext: mime for ext, mime in IMAGE_FORMATS.values()}


def media_root() -> Path:
    return Path(current_app.config["MEDIA_ROOT"])


def media_path(sha256: str, ext: str) -> Path:
    return media_root() / sha256[:2] / f"{sha256}.{ext}"


def read_image(image: Image) -> bytes:
    """The stored bytes of an uploaded image."""
    return media_path(image.sha256, image.ext).read_bytes()


def save_image(actor: User, data: bytes) -> Image:
    """Store an upload once per content (PNG, JPEG, GIF, WebP; ≤ 5 MB, decoded to be sure)."""
    rules.require_role(actor, *UPLOADERS)
    if len(data) > MAX_IMAGE_BYTES:
        raise TooLarge(_("图片不能超过 5 MB"))
    if not data:
        raise Invalid(_("请选择图片文件"), fields={"file": _("文件为空")})
    fmt, (width, height) = decoded_image(data)
    if fmt is None:
        raise Invalid(_("文件不是有效的图片"), fields={"file": _("只支持 PNG、JPEG、GIF、WebP 图片")})
    if fmt not in IMAGE_FORMATS:
        raise Invalid(_("不支持的图片格式"), fields={"file": _("只支持 PNG、JPEG、GIF、WebP 图片")})
    ext, mime = IMAGE_FORMATS[fmt]
    digest = hashlib.sha256(data).hexdigest()
    existing = db.session.get(Image, digest)
    if existing is not None:
        return existing
    write_atomically(media_path(digest, ext), data)
    image = Image(sha256=digest, ext=ext, mime=mime, size=len(data), width=width, height=height,
                  uploaded_by_id=actor.id)
    db.session.add(image)
    audit.record(actor, "image.upload", image, after={"sha256": digest, "size": len(data)})
    db.session.commit()
    return image


bp = Blueprint("media", __name__)


@bp.get("/media/<sha256>.<ext>")
def serve(sha256: str, ext: str) -> Response:
    """Uploaded images, public like the statements that show them; immutable, so cached for a year."""
    image = db.session.get(Image, sha256) if len(sha256) == 64 else None
    if image is None or image.ext != ext:
        raise NotFound(_("图片不存在"))
    response = send_file(media_path(image.sha256, image.ext), mimetype=image.mime, max_age=31536000)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
