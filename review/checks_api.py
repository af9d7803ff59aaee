"""Checks and term lists over HTTP (CONTRACT §10): the editor's as-you-type check, the admin's lists."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_babel import gettext as _

from app.api import actor, api_blueprint, json_body, require_mapping
from app.errors import Invalid
from app.models import Role
from review import checks, rules, terms
from review.models import Channel
from review.validation import BODY_MAX

bp = api_blueprint("checks_api", __name__)


def _draft(data: Any) -> checks.Draft:
    data = require_mapping(data)
    fields: dict[str, str] = {}
    values: dict[str, str] = {}
    for name in ("title", "digest", "body"):
        value = data.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            fields[name] = _("必须是字符串")
        elif len(value) > BODY_MAX:
            fields[name] = _("不能超过 %(n)d 个字符（当前 %(m)d 个）", n=BODY_MAX, m=len(value))
        values[name] = value if isinstance(value, str) else ""
    channels = data.get("channels", [c.value for c in Channel])
    allowed = [c.value for c in Channel]
    if not isinstance(channels, list) or any(c not in allowed for c in channels):
        fields["channels"] = _("应为 [\"portal\", \"wechat\"] 的子集")
        channels = []
    if fields:
        raise Invalid(_("输入有误"), fields=fields)
    return checks.Draft(values["title"], values["digest"], values["body"], tuple(channels))


@bp.post("/checks")
def check_text() -> Response:
    """`{title, digest, body, channels?}` → `{checks, blocking}`: what saving this text would record."""
    actor()
    found = checks.run(_draft(json_body()))
    return jsonify({"checks": found, "blocking": len(checks.blocking(found))})


@bp.get("/terms")
def get_terms() -> Response:
    rules.require_role(actor(), Role.ADMIN)
    return jsonify(terms.current())


@bp.put("/terms")
def put_terms() -> Response:
    """Replace the lists given; open drafts are re-checked and their number answered as `rechecked`."""
    user = actor()
    rules.require_role(user, Role.ADMIN)
    rechecked = terms.replace(user, terms.parse(json_body()))
    return jsonify({**terms.current(), "rechecked": rechecked})
