"""Uploaded documents (a PDF or an image) judged by their bytes, never by their name.

One check for every package that takes files from people: review's images and evidence, and the screenshots
attached to cases (which may not import review). Pixels are bounded before anything is decoded.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from flask_babel import gettext as _
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from app.errors import Invalid, TooLarge

#: Decoded pixels an image may have (interface §11): a 640 KB PNG of 13000×13000 would take 650 MB to decode.
MAX_IMAGE_PIXELS = 64_000_000
PILImage.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS  # Pillow's own guard, for any open this module does not wrap
IMAGE_FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"), "GIF": ("gif", "image/gif"),
                 "WEBP": ("webp", "image/webp")}
_NAME_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")


class TooManyPixels(Exception):
    """An image whose header promises more than `MAX_IMAGE_PIXELS`: refused before anything is decoded."""


@contextmanager
def open_bounded(data: bytes) -> Iterator[PILImage.Image]:
    """Open an image (header only) and refuse it before decoding when it has too many pixels.

    Pillow's DecompressionBombWarning is an error here, and the size is checked explicitly too, since
    warning filters are process-wide and another thread may have changed them.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        try:
            opened = PILImage.open(io.BytesIO(data))
        except (PILImage.DecompressionBombWarning, PILImage.DecompressionBombError) as error:
            raise TooManyPixels(str(error)) from None
    with opened as img:
        if img.width * img.height > MAX_IMAGE_PIXELS:
            raise TooManyPixels(f"{img.width}×{img.height}")
        yield img


def decoded_image(data: bytes) -> tuple[str | None, tuple[int, int]]:
    """Pillow's format and the size of an image decoded whole (format None: not an image it can decode); TooLarge
    when the header promises too many pixels, before anything is decoded."""
    try:
        with open_bounded(data) as probe:
            fmt = probe.format
            probe.verify()
        with open_bounded(data) as img:
            img.load()
            return fmt, img.size
    except TooManyPixels:
        raise TooLarge(_("图片像素过多（最多 6400 万像素）"),
                       fields={"file": _("图片像素过多（最多 6400 万像素）")}) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, PILImage.DecompressionBombError):
        return None, (0, 0)


def document_kind(data: bytes) -> tuple[str, str]:
    """(ext, mime) of a whole PDF or a decodable image, judged by the bytes; Invalid (on `file`) for anything else."""
    if data.startswith(b"%PDF-"):
        # a PDF ends with its trailer; a file cut short (or something else with a PDF header) is refused
        if b"%%EOF" not in data[-2048:]:
            raise Invalid(_("文件不是完整的 PDF"), fields={"file": _("PDF 文件不完整或已损坏")})
        return "pdf", "application/pdf"
    fmt, _size = decoded_image(data)
    if fmt not in IMAGE_FORMATS:
        raise Invalid(_("只能上传 PDF 或图片"), fields={"file": _("只支持 PDF、PNG、JPEG、GIF、WebP 文件")})
    return IMAGE_FORMATS[fmt]


def clean_name(name: str) -> str:
    """The uploaded file's name as people will read it: no path, no control characters, ≤ 128 characters."""
    base = _NAME_UNSAFE.sub("_", os.path.basename(name.replace("\\", "/"))).strip(" .")
    return base[-128:]
