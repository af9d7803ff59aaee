"""WeChat's JSON (interface §14): the mass-send quota, switching a waiting statement to a free publication, and
a preview on a person's own WeChat."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask import Response, jsonify
from flask_babel import gettext as _
from pydantic import Field, StringConstraints

from app import audit
from app.api import actor, api_blueprint, json_body
from app.errors import Forbidden, WrongState
from app.extensions import db
from app.models import Role
from app.openapi import Out, operation
from app.timeutil import iso
from app.tx import begin_write
from app.validation import Body, Msg, parse
from review.models import Statement
from review.schemas import StatementOut
from review.serialize import statement_json
from review.services import get_statement
from wechat import phone_preview, quota

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
    begin_write()
    st = get_statement(me, statement_id, for_update=True)
    if not (me.has_role(Role.OFFICE) or (me.has_role(Role.LEADER) and me.unit_id == st.unit_id)):
        raise Forbidden(_("只有本单位领导或办公室可以改为发布"))
    if not quota.switch_to_publish(me, st):
        raise WrongState(_("该回应没有在等待群发名额，不能改为发布"))
    audit.record(me, "statement.wechat_mode", st, before={"wechat_mode": st.wechat_mode},
                 after={"wechat_mode": "publish"})
    st.wechat_mode = "publish"
    db.session.commit()
    found = db.session.get(Statement, statement_id)
    assert found is not None
    return jsonify(statement_json(found))


@bp.post("/statements/<int:statement_id>/wechat-preview")
@operation("Send the current revision's article to a WeChat ID as a preview (not a publication)",
           body=PreviewIn, responses={202: PreviewOut}, errors=(400, 403, 404, 429))
def wechat_preview(statement_id: int) -> tuple[Response, int]:
    wanted = parse(PreviewIn, json_body())
    sent = phone_preview.send(actor(), statement_id, wanted.towxname)
    return jsonify(sent), 202
