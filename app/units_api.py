"""Units and their responsibility register over the API (interface §11): parse, call one service, shape."""

from __future__ import annotations

from flask import Response, jsonify
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import paging
from app.api import actor, api_blueprint, json_body, page_args
from app.models import Unit
from app.openapi import operation
from app.register import create_unit, get_unit, unit_json, update_unit
from app.schemas import UnitCreate, UnitList, UnitOut, UnitUpdate
from app.validation import Paging

bp = api_blueprint("units_api", __name__)


@bp.get("/units")
@operation("List units with their register", query=Paging, responses={200: UnitList})
def list_units() -> Response:
    """Every unit with its register, by code; any signed-in role."""
    actor()
    units, total = paging.page_of(
        select(Unit).options(selectinload(Unit.parent), selectinload(Unit.first_responsible),
                             selectinload(Unit.direct_responsible), selectinload(Unit.spokespersons))
        .order_by(Unit.code), page_args())
    return jsonify({"items": [unit_json(u) for u in units], "total": total})


@bp.post("/units")
@operation("Create a unit with its register (admin)", body=UnitCreate, responses={201: UnitOut}, errors=(403,))
def post_unit() -> tuple[Response, int]:
    """A new unit (interface §20); an existing code is 400 `invalid` on `code`, as `POST /users` on `username`."""
    return jsonify(unit_json(create_unit(actor(), json_body()))), 201


@bp.get("/units/<code>")
@operation("A unit with its register", responses={200: UnitOut})
def get_one(code: str) -> Response:
    actor()
    return jsonify(unit_json(get_unit(code)))


@bp.put("/units/<code>")
@operation("Change a unit's register (admin)", body=UnitUpdate, responses={200: UnitOut}, errors=(403,))
def put_unit(code: str) -> Response:
    return jsonify(unit_json(update_unit(actor(), code, json_body())))
