"""Images for WeChat: made acceptable to the platform, uploaded once, remembered by content.

`media/uploadimg` takes JPG or PNG under 1 MB, so GIF, WebP and large images are
re-encoded with Pillow first. Every upload is cached in Redis under the image's sha256
(and the account), so a retried stage or another statement showing the same picture
reuses the URL or media_id instead of uploading again.
"""

from __future__ import annotations

import io

from flask_babel import gettext
from PIL import Image as PILImage
from PIL import ImageOps

from app.documents import TooManyPixels, open_bounded
from app.extensions import db
from publishing.channels import PermanentError
from review.media import read_image
from review.models import Image
from wechat.client import WechatClient

#: media/uploadimg: "1MB以下".
MAX_BYTES = 1024 * 1024 - 1
MIME = {"jpg": "image/jpeg", "png": "image/png"}
#: Uploaded images and permanent materials do not expire on WeChat; the cache forgets
#: them after a while anyway, in case the account's material library was cleaned.
CACHE_TTL = 30 * 86400
#: The cover when neither the body nor the unit has an image: sober, in the renderer's red.
COVER_SIZE = (900, 383)
COVER_COLOUR = (31, 58, 95)
COVER_BAND = (166, 27, 27)
_JPEG_QUALITIES = (85, 70, 55)


def _kind(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


def _has_alpha(img: PILImage.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)


def for_wechat(data: bytes) -> tuple[bytes, str]:
    """The image as JPG or PNG under 1 MB, re-encoded only when it is not one already.

    GIF and WebP keep their first frame; a transparent image stays PNG if that fits,
    else it is flattened on white; JPEG quality, then size, is reduced until it fits.
    """
    kind = _kind(data)
    if kind is not None and len(data) <= MAX_BYTES:
        return data, kind
    try:
        with open_bounded(data) as opened:
            opened.seek(0)
            img = ImageOps.exif_transpose(opened.copy())
    except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError, TooManyPixels) as error:
        raise PermanentError(gettext("图片无法解码，不能上传到微信：%(error)s", error=error)) from error
    if _has_alpha(img):
        out = io.BytesIO()
        img.save(out, format="PNG", optimize=True)
        if out.tell() <= MAX_BYTES:
            return out.getvalue(), "png"
        flat = PILImage.new("RGB", img.size, (255, 255, 255))
        flat.paste(img.convert("RGBA"), mask=img.convert("RGBA").getchannel("A"))
        img = flat
    img = img.convert("RGB")
    while min(img.size) >= 16:
        for quality in _JPEG_QUALITIES:
            out = io.BytesIO()
            img.save(out, format="JPEG", quality=quality, optimize=True)
            if out.tell() <= MAX_BYTES:
                return out.getvalue(), "jpg"
        img = img.resize((max(1, img.width * 3 // 4), max(1, img.height * 3 // 4)), PILImage.Resampling.LANCZOS)
    raise PermanentError(gettext("图片无法压缩到微信要求的 1 MB 以下"))


def plain_cover() -> bytes:
    """A 900×383 JPEG in the house colours, for statements without any picture."""
    img = PILImage.new("RGB", COVER_SIZE, COVER_COLOUR)
    img.paste(COVER_BAND, (0, COVER_SIZE[1] - 8, COVER_SIZE[0], COVER_SIZE[1]))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _stored(sha256: str) -> bytes | None:
    image = db.session.get(Image, sha256)
    if image is None:
        return None
    try:
        return read_image(image)
    except OSError:
        return None


def _key(api: WechatClient, kind: str, name: str) -> str:
    return f"huiying:wechat:{api.appid}:{kind}:{name}"


def body_image_url(api: WechatClient, sha256: str) -> str:
    """The WeChat URL of an uploaded body image (uploadimg), uploading it the first time."""
    key = _key(api, "uploadimg", sha256)
    cached = api.redis.get(key)
    if cached is not None:
        return cached.decode()
    data = _stored(sha256)
    if data is None:
        raise PermanentError(gettext("正文中的图片 %(name)s 不存在或文件已丢失", name=sha256[:12]))
    payload, ext = for_wechat(data)
    url = api.upload_body_image(payload, f"{sha256[:16]}.{ext}", MIME[ext])
    api.redis.set(key, url, ex=CACHE_TTL)
    return url


def cover_media_id(api: WechatClient, sha256: str | None) -> str:
    """The permanent-material media_id of a cover: that uploaded image, else the plain cover."""
    if sha256:
        key = _key(api, "cover", sha256)
        cached = api.redis.get(key)
        if cached is not None:
            return cached.decode()
        data = _stored(sha256)
        if data is not None:
            payload, ext = for_wechat(data)
            return _add_cover(api, key, payload, f"{sha256[:16]}.{ext}", ext)
    key = _key(api, "cover", "plain-v1")
    cached = api.redis.get(key)
    if cached is not None:
        return cached.decode()
    return _add_cover(api, key, plain_cover(), "cover.jpg", "jpg")


def _add_cover(api: WechatClient, key: str, payload: bytes, filename: str, ext: str) -> str:
    media_id = api.add_image_material(payload, filename, MIME[ext])["media_id"]
    api.redis.set(key, media_id, ex=CACHE_TTL)
    return media_id
