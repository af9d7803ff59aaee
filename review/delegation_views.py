"""代理 over HTTP: the JSON API (`/api/v1/delegations`) and the page where an expert or leader names a stand-in."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import params, prg
from app.api import actor, api_blueprint, json_body
from app.errors import HuiyingError
from app.extensions import db
from app.models import User
from app.openapi import operation
from review import delegation
from review.delegation import DelegationIn, DelegationList, DelegationOut

api = api_blueprint("delegations_api", __name__)
bp = Blueprint("delegations", __name__, template_folder="templates")


@api.get("/delegations")
@operation("My stand-in grants (代理): given and held", responses={200: DelegationList})
def list_delegations() -> Response:
    given, received = delegation.mine(actor())
    return jsonify({"given": [delegation.delegation_json(d) for d in given],
                    "received": [delegation.delegation_json(d) for d in received]})


@api.post("/delegations")
@operation("Name a stand-in of your unit for one of your review roles, for a period",
           body=DelegationIn, responses={201: DelegationOut}, errors=(403,))
def create_delegation() -> tuple[Response, int]:
    return jsonify(delegation.delegation_json(delegation.create(actor(), json_body()))), 201


@api.post("/delegations/<int:delegation_id>/revoke")
@operation("End a stand-in grant now (the principal, the stand-in or an admin)", responses={200: DelegationOut})
def revoke_delegation(delegation_id: int) -> Response:
    return jsonify(delegation.delegation_json(delegation.revoke(actor(), delegation_id)))


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


@bp.get("/delegations")
@login_required
def page() -> tuple[str, int]:
    """代理设置: the stand-ins I named and the work I hold for others."""
    user = _user()
    kept = prg.take()
    given, received = delegation.mine(user)
    roles = [r for r in delegation.ROLES if user.has_role(r)]
    typed: Any = kept.typed if kept else {}
    return render_template(
        "review/delegations.html", given=given, received=received, roles=roles,
        colleagues=delegation.colleagues(user) if roles else [], typed=typed,
        error=kept.error if kept else None, fields=(kept.error.fields or {}) if kept and kept.error else {},
        active=delegation.is_active, work=delegation.ROLE_WORK,
    ), kept.status if kept else 200


@bp.post("/delegations")
@login_required
def create() -> Response:
    form = request.form
    data = {"deputy": form.get("deputy", ""), "role": form.get("role", ""), "note": form.get("note", "")}
    for name in ("starts_at", "ends_at"):
        when = params.wall_time(form.get(name, ""))  # datetime-local is wall time in Asia/Shanghai
        if when is not None:
            data[name] = when
    try:
        grant = delegation.create(_user(), data)
    except HuiyingError as err:
        db.session.rollback()
        return prg.back(url_for(".page"), err, form="delegation", typed=form)
    flash(_("已指定 %(who)s 为代理人，对方已收到通知", who=grant.deputy.name), "success")
    return redirect(url_for(".page"))


@bp.post("/delegations/<int:delegation_id>/revoke")
@login_required
def revoke(delegation_id: int) -> Response:
    try:
        delegation.revoke(_user(), delegation_id)
    except HuiyingError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for(".page"))
    flash(_("代理已撤销"), "success")
    return redirect(url_for(".page"))
