"""The interaction desk's API (interface §15): parse, call one service, shape the answer."""

from __future__ import annotations

from flask import Response, jsonify, request
from flask_babel import gettext as _

from app.api import actor, api_blueprint, json_body
from app.extensions import db
from app.openapi import operation
from app.validation import parse_query
from interaction import services
from interaction.schemas import AssignIn, InteractionIn, InteractionList, InteractionOut, InteractionQuery
from interaction.serialize import interaction_json

bp = api_blueprint("interaction_api", __name__)


def _answer(interaction_id: int, status: int = 200) -> tuple[Response, int]:
    db.session.expire_all()
    return jsonify(interaction_json(services.get(actor(), interaction_id))), status


@bp.post("/interactions")
@operation("Post a message from the public (integration, office)", body=InteractionIn,
           responses={201: InteractionOut, 200: InteractionOut}, errors=(403,), description=(
               "Idempotent by `channel` + `external_id`: the same message again answers the existing interaction, "
               "200. With `unit` it arrives `assigned`, else `new` for the office to assign. `text` over 5,000 "
               "characters is 400; control characters are stripped."))
def create_interaction() -> tuple[Response, int]:
    done = services.intake(actor(), json_body())
    body = interaction_json(done.interaction)
    return jsonify(body), 201 if done.created else 200


@bp.get("/interactions")
@operation("The interaction desk: open ones by time left first", query=InteractionQuery,
           responses={200: InteractionList}, errors=(403,))
def list_interactions() -> Response:
    user = actor()
    wanted = parse_query(InteractionQuery, request.args, _("筛选条件有误"))
    rows, total = services.page(user, wanted, wanted.cut)
    return jsonify({"items": [interaction_json(i) for i in rows], "total": total})


@bp.get("/interactions/<int:interaction_id>")
@operation("An interaction", responses={200: InteractionOut}, errors=(403,))
def get_interaction(interaction_id: int) -> Response:
    return jsonify(interaction_json(services.get(actor(), interaction_id)))


@bp.post("/interactions/<int:interaction_id>/assign")
@operation("Assign a message to a unit (office)", body=AssignIn, responses={200: InteractionOut},
           errors=(403, 409))
def assign(interaction_id: int) -> tuple[Response, int]:
    services.assign(actor(), interaction_id, json_body())
    return _answer(interaction_id)


@bp.post("/interactions/<int:interaction_id>/case")
@operation("Make a case from a message and link both (office; drafter or leader of its unit)",
           responses={201: InteractionOut}, errors=(403, 409))
def escalate(interaction_id: int) -> tuple[Response, int]:
    services.escalate(actor(), interaction_id)
    return _answer(interaction_id, 201)
