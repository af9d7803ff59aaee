"""Post/redirect/get for HTML forms: a refused form is kept, and its page shows it once after the redirect.

A form answered with a page leaves the browser on the POST URL: a refresh sends it again, and a phone that
restores the tab later asks that URL with GET and gets a 405. So every form answers with a redirect. When the
service refused, what was typed and why it was refused are kept server-side (a statement body is far larger than
a session cookie may be) under a random key named in the session; the GET page takes them back, once, and
fills the form in again with the message beside the field, under the refusal's own status code.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import redirect, request, session
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from app.errors import HuiyingError
from app.extensions import get_redis

log = logging.getLogger(__name__)

#: How long a refused form waits for its page (a phone put away mid-form and taken out again).
KEEP_SECONDS = 3600
_SLOT = "huiying_refused_form"
_PREFIX = "huiying:refused-form:"
#: Without Redis, the session cookie carries the refusal alone when what was typed would not fit in it.
_COOKIE_BUDGET = 2500


class Kept(HuiyingError):
    """A refusal as the page after the redirect shows it: the original's message, fields, code and status."""

    def __init__(self, message: str, fields: dict[str, str] | None, code: str, status: int) -> None:
        super().__init__(message, fields)
        self.code = code
        self.status = status


@dataclass
class Refused:
    """One refused form: which form on the page, the refusal (None for a kept preview), what was typed."""

    form: str
    error: Kept | None
    typed: MultiDict[str, Any] = field(default_factory=MultiDict)
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def fields(self) -> dict[str, str]:
        return (self.error.fields or {}) if self.error else {}

    @property
    def status(self) -> int:
        return self.error.status if self.error else 200


def _pairs(typed: Mapping[str, Any] | None) -> list[list[Any]]:
    if typed is None:
        return []
    if isinstance(typed, MultiDict):
        return [[k, v] for k, v in typed.items(multi=True) if k != "csrf_token"]
    return [[k, v] for k, v in typed.items() if k != "csrf_token"]


def back(to: str, error: HuiyingError | None, *, form: str = "", typed: Mapping[str, Any] | None = None,
         values: Mapping[str, Any] | None = None) -> Response:
    """Keep the refusal and what was typed (`typed`: the posted form; `values`: a view's own shape), then redirect.

    Passwords are never kept: a field whose name says password is dropped. A refusal of the
    person rather than of the input (403, 404: nothing on that page is theirs to fill in) is raised instead,
    for the error page.
    """
    if error is not None and error.status in (401, 403, 404):
        raise error
    record = {
        "path": to.split("?", 1)[0], "form": form,
        "error": None if error is None else {"message": error.message, "fields": error.fields or {},
                                             "code": error.code, "status": error.status},
        "typed": [p for p in _pairs(typed) if "password" not in p[0]],
        "values": {k: v for k, v in (values or {}).items() if "password" not in k},
    }
    raw = json.dumps(record, ensure_ascii=False, default=str)  # lazy strings are written as the text they say
    key = secrets.token_urlsafe(18)
    try:
        get_redis().set(_PREFIX + key, raw, ex=KEEP_SECONDS)
        session[_SLOT] = {"key": key, "path": record["path"]}
    except Exception as exc:  # Redis away: the refusal still reaches the page, typed text only if small
        log.warning("refused form kept in the session only: %s", exc)
        if len(raw.encode()) > _COOKIE_BUDGET:
            record["typed"], record["values"] = [], {}
        session[_SLOT] = {"record": record, "path": record["path"]}
    return redirect(to)


def take() -> Refused | None:
    """The refusal kept for this page (`request.path`), at most once; None when there is none."""
    slot = session.get(_SLOT)
    if not isinstance(slot, dict) or slot.get("path") != request.path:
        return None
    session.pop(_SLOT, None)
    record = slot.get("record")
    if record is None:
        try:
            client = get_redis()
            name = _PREFIX + str(slot.get("key"))
            raw = client.get(name)
            client.delete(name)
        except Exception as exc:
            log.warning("refused form could not be read back: %s", exc)
            return None
        if raw is None:
            return None
        record = json.loads(raw)
    error = record.get("error")
    return Refused(
        form=record.get("form") or "",
        error=None if error is None else Kept(error["message"], error.get("fields") or None, error["code"],
                                              int(error["status"])),
        typed=MultiDict([tuple(p) for p in record.get("typed") or []]),
        values=record.get("values") or {},
    )
