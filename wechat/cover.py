"""The cover of a WeChat article: which picture the channel uploads, and that picture for the preview.

One rule for both: the body's first image, else the unit's cover, else the plain house cover. WeChat shows it
cropped (2.35:1 in the message list, square on a share card); the preview crops it the same way in CSS.
"""

from __future__ import annotations

from functools import cache

from flask import Blueprint, Response, url_for

from app.extensions import db
from review.models import Image
from review.render import MEDIA_SRC
from wechat.images import plain_cover
from wechat.render import article

bp = Blueprint("wechat_cover", __name__)


def cover_sha256(images: list[str], unit_cover: str | None) -> str | None:
    """The uploaded image the draft names as its cover (`thumb_media_id`): the body's first, else the unit's;
    None means the plain cover."""
    if images:
        found = MEDIA_SRC.fullmatch(images[0])
        assert found is not None  # the renderer lists only /media/ sources
        return found["sha256"]
    return unit_cover


def preview_url(body: str, unit_cover: str | None, *, store: bool = True) -> str:
    """Where a reviewer's browser finds the cover the channel will upload for this body."""
    sha256 = cover_sha256(article(body, store=store).images, unit_cover)
    image = db.session.get(Image, sha256) if sha256 else None
    return image.url if image is not None else url_for("wechat_cover.plain")


@cache
def _plain() -> bytes:
    return plain_cover()


@bp.get("/wechat/cover/plain.jpg")
def plain() -> Response:
    """The plain house cover, as uploaded for statements without any picture."""
    return Response(_plain(), mimetype="image/jpeg", headers={"Cache-Control": "public, max-age=86400"})
