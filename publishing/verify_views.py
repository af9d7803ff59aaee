"""The public authenticity check (interface §10): `POST /api/v1/public/verify`, the `/verify` page, and the
QR code on every release page that leads to it. No sign-in; rate-limited per address."""

from __future__ import annotations

import io
from typing import Any

import segno
from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from app.api import json_body
from app.errors import Invalid, TooLarge
from app.extensions import csrf, db
from app.limits import rate_limited
from app.openapi import operation
from app.validation import parse
from publishing import verify
from publishing.ledger import entry_json
from publishing.models import LedgerEntry, Release
from publishing.schemas import VerdictOut, VerifyIn
from review.validation import BODY_MAX, HASH_RE

bp = Blueprint("verify", __name__, template_folder="templates")
api = Blueprint("verify_api", __name__, url_prefix="/api/v1/public")
csrf.exempt(api)



def too_often() -> str:
    """What a check past its limit says (app/limits.py: 30 a minute per address)."""
    return _("核验过于频繁，请一分钟后再试")


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(_("请粘贴要核验的文字"), fields={"text": _("请粘贴要核验的文字")})
    if len(value) > BODY_MAX:
        raise TooLarge(_("文字不能超过 %(n)d 个字符", n=BODY_MAX),
                       fields={"text": _("不能超过 %(n)d 个字符", n=BODY_MAX)})
    return value


@api.post("/verify")
@rate_limited("verify", too_often)
@operation("Was this text published? (public; 30 a minute per address)", body=VerifyIn,
           responses={200: VerdictOut}, errors=(413, 429), public=True)
def verify_api() -> Response:
    """`{"text"}` → the verdict, the statement it matched and the ledger entry that proves it."""
    values = parse(VerifyIn, json_body(), _("请粘贴要核验的文字"))
    return jsonify(verify.check(_text(values.text)).as_json())


def _record(rel: Release | None) -> dict[str, Any] | None:
    """The ledger entry that proves a release (published), if it has one yet."""
    if rel is None or rel.ledger_seq is None:
        return None
    entry = db.session.get(LedgerEntry, rel.ledger_seq)
    return entry_json(entry) if entry is not None else None


def _refused_page(message: str) -> Response:
    """The form again, with what was typed and the limit's message beside it (answered with 429)."""
    return Response(render_template("publishing/verify.html", answer=None, error=message,
                                    typed=request.form.get("text", ""), wanted="", rel=None, record=None, url=None))


@bp.route("/verify", methods=["GET", "POST"])
@rate_limited("verify", too_often, methods=("POST",), page=_refused_page)
def verify_page() -> tuple[str, int]:
    """Paste a text, or arrive from a release's QR code (`?h=<revision hash>`)."""
    answer: dict[str, Any] | None = None
    error: str | None = None
    typed = ""
    status = 200
    rel: Release | None = None
    wanted = request.args.get("h", "").strip().lower()
    if request.method == "POST":
        typed = request.form.get("text", "")
        try:
            result = verify.check(_text(typed))
        except (Invalid, TooLarge) as err:
            error, status = (err.fields or {}).get("text") or err.message, err.status
        else:
            answer, rel = result.as_json(), result.release
            answer["hunks"] = verify.hunks(result.differences)
    elif wanted:
        rel = verify.by_hash(wanted) if HASH_RE.match(wanted) else None
        if rel is None:
            status = 404
    return render_template("publishing/verify.html", answer=answer, error=error, typed=typed, wanted=wanted,
                           rel=rel, record=_record(rel), url=verify.release_url(rel) if rel else None), status


def verify_address(revision_hash: str) -> str:
    """The absolute `/verify?h=` address a release's QR code carries."""
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/verify?h={revision_hash}"


@bp.get("/releases/<int:statement_id>/qr.svg")
def release_qr(statement_id: int) -> Response:
    """The QR code of a published release's `/verify?h=` address, as SVG."""
    rel = db.session.scalar(select(Release).where(Release.statement_id == statement_id))
    if rel is None:
        abort(404)
    out = io.BytesIO()
    segno.make(verify_address(rel.revision_hash), error="m").save(out, kind="svg", scale=4, border=2)
    response = Response(out.getvalue(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
