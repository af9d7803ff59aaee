"""Files stored under their content's sha256 beside the database (images, evidence, upward reports' attachments)."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader sees the whole file or none of it.

    The bytes go to a temporary file of this process and thread first, then are renamed into place: two
    uploads of the same content at once (gunicorn runs several of each) never write into one another's file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
