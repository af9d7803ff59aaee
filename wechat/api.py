"""WeChat's JSON (interface §14): the mass-send quota, switching a waiting statement to a free publication, and
a preview on a person's own WeChat."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask import Response, jsonify
from flask_babel import gettext as _
from pydantic import Field, StringConstraints

from app.api import actor, api_blueprint, json_body
from app.openapi import Out, operation
from app.timeutil import iso
from app.validation import Body, Msg, parse
from review.schemas import StatementOut
from review.serialize import statement_json
from wechat import modes, phone_preview, quota

bp = api_blueprint("wechat_api", __name__)


class QuotaOut(Out):
    """The account's mass sends in the current period (interface §14)."""

    account_type: Literal["subscription", "service"]
    period_start: datetime
    period_end: datetime
    used: int
    limit: int
    waiting: list[int] = Field(description="statement ids waiting for a slot, in the order they will go")


class WechatModeIn(Body):
    wechat_mode: Annotated[Literal["publish"], Msg(lambda: _("只能改为 publish（发布）"))]


class PreviewIn(Body):
    towxname: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=64),
                        Field(description="a WeChat ID; default: the caller's wechat_id")] = None


class PreviewOut(Out):
    towxname: str
    msg_id: str | None
    used_today: int
    limit: int


@bp.get("/wechat/quota")
@operation("The mass-send quota of this period and the statements waiting for it", responses={200: QuotaOut})
def quota_status() -> Response:
    actor()
    now = quota.status()
    return jsonify({"account_type": now.account_type, "period_start": iso(now.period_start),
                    "period_end": iso(now.period_end), "used": now.used, "limit": now.limit,
                    "waiting": now.waiting})


@bp.post("/statements/<int:statement_id>/wechat-mode")
@operation("Switch a statement waiting for the mass-send quota to a free publication (its unit's leader, office)",
           body=WechatModeIn, responses={200: StatementOut}, errors=(403, 404, 409))
def wechat_mode(statement_id: int) -> Response:
    me = actor()
    parse(WechatModeIn, json_body())
    return jsonify(statement_json(modes.switch_to_publish(me, statement_id)))


@bp.post("/statements/<int:statement_id>/wechat-preview")
@operation("Send the current revision's article to a WeChat ID as a preview (not a publication)",
           body=PreviewIn, responses={202: PreviewOut}, errors=(400, 403, 404, 429))
def wechat_preview(statement_id: int) -> tuple[Response, int]:
    wanted = parse(PreviewIn, json_body())
    sent = phone_preview.send(actor(), statement_id, wanted.towxname)
    return jsonify(sent), 202
