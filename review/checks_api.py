"""Checks and term lists over HTTP (interface §10): the editor's as-you-type check, the admin's lists."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from app.api import actor, api_blueprint, json_body
from app.models import Role
from app.openapi import operation
from app.validation import parse
from review import checks, rules, terms
from review.schemas import ChecksIn, ChecksOut, TermsIn, TermsOut, TermsReplaced

bp = api_blueprint("checks_api", __name__)


def _draft(data: Any) -> checks.Draft:
    values = parse(ChecksIn, data)
    return checks.Draft(values.title or "", values.digest or "", values.body or "",
                        tuple(c.value for c in values.channels))


@bp.post("/checks")
@operation("Check a text as saving it would", body=ChecksIn, responses={200: ChecksOut})
def check_text() -> Response:
    """`{title, digest, body, channels?}` → `{checks, blocking}`: what saving this text would record."""
    actor()
    found = checks.run(_draft(json_body()))
    return jsonify({"checks": found, "blocking": len(checks.blocking(found))})


@bp.get("/terms")
@operation("The term lists (admin)", responses={200: TermsOut}, errors=(403,))
def get_terms() -> Response:
    rules.require_role(actor(), Role.ADMIN)
    return jsonify(terms.current())


@bp.put("/terms")
@operation("Replace term lists (admin)", body=TermsIn, responses={200: TermsReplaced}, errors=(403,))
def put_terms() -> Response:
    """Replace the lists given; open drafts are re-checked and their number answered as `rechecked`."""
    user = actor()
    rules.require_role(user, Role.ADMIN)
    rechecked = terms.replace(user, terms.parse(json_body()))
    return jsonify({**terms.current(), "rechecked": rechecked})
