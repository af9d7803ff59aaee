"""Preview on a phone (interface §14): the current revision's article sent to one person's own WeChat through
`message/mass/preview`. Never a publication, no quota spent; 100 a day for the account, counted here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from app import audit
from app.errors import Forbidden, Invalid, RateLimited
from app.extensions import db
from app.models import Role, User
from app.timeutil import SHANGHAI, utcnow
from app.tx import begin_write
from publishing import corrections
from publishing.channels import ChannelError, Dispatch
from publishing.dispatch import portal_url
from review.models import Statement
from review.services import get_statement
from wechat import client
from wechat.channel import WechatChannel
from wechat.client import WechatPermanent
from wechat.models import Preview

#: Previews WeChat allows the account each day.
DAILY_LIMIT = 100


def _day_start() -> datetime:
    """Today's Shanghai midnight."""
    midnight = utcnow().astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(UTC)


def used_today() -> int:
    return int(db.session.scalar(select(func.count()).select_from(Preview).where(Preview.at >= _day_start())) or 0)


def may_preview(user: User, st: Statement) -> bool:
    """Experts and leaders of the statement's unit, and anyone who wrote one of its revisions."""
    if any(rev.author_id == user.id for rev in st.revisions):
        return True
    return user.unit_id == st.unit_id and user.has_role(Role.EXPERT, Role.LEADER)


def send(actor: User, statement_id: int, towxname: str | None) -> dict[str, Any]:
    """Send the statement's current revision to `towxname` (default: the caller's own `wechat_id`)."""
    st = get_statement(actor, statement_id)  # 404 when not visible
    if not may_preview(actor, st):
        raise Forbidden(_("只有本单位的专家、领导和该回应的起草人可以发送预览"))
    if "wechat" not in st.channels:
        raise Invalid(_("该回应未选择微信渠道"), fields={"towxname": _("未选择微信渠道，无需微信预览")})
    target = (towxname or actor.wechat_id or "").strip()
    if not target:
        raise Invalid(_("请填写微信号，或先在“我的账户”中填写自己的微信号"),
                      fields={"towxname": _("未填写微信号，也未在账户中设置微信号")})
    if used_today() >= DAILY_LIMIT:
        raise RateLimited(_("公众号今日的 %(n)d 次预览已用完，请明天再试", n=DAILY_LIMIT))
    rev = st.current_revision
    assert rev is not None
    job = Dispatch(
        delivery_id=0, statement_id=st.id, channel="wechat", delivery_key="preview", title=rev.title,
        digest=rev.digest, body=rev.body, revision_hash=rev.hash, unit_code=st.unit.code, unit_name=st.unit.name,
        speaker=st.author.name, approved_at=utcnow(), go_live_at=utcnow(), portal_url=portal_url(st.id),
        unit_cover=st.unit.wechat_cover, data={}, remember=lambda **_values: None,
        extra={"corrects": corrections.original_of(st), "comments_open": st.comments_open},
    )
    revision_id, user_id = rev.id, actor.id
    db.session.rollback()  # no transaction held across WeChat's calls
    api = client.from_app()
    try:
        _uploaded, item = WechatChannel().news_item(api, job)
        media_id = api.draft.add([item])["media_id"]
        try:
            answer = api.post("message/mass/preview", data={"towxname": target, "mpnews": {"media_id": media_id},
                                                             "msgtype": "mpnews"})
        finally:
            try:
                api.draft.delete(media_id)  # a preview leaves nothing in the draft box
            except ChannelError:
                current_app.logger.warning("preview draft %s not deleted", media_id)
    except WechatPermanent as error:
        if error.errcode == 45009:
            raise RateLimited(_("微信拒绝：今日预览次数已达上限")) from None
        raise Invalid(_("微信拒绝了预览：%(reason)s", reason=error.reason),
                      fields={"towxname": error.reason}) from None
    except ChannelError as error:
        raise Invalid(_("预览未能发出：%(reason)s", reason=error.reason), fields={"towxname": error.reason}) from None
    begin_write()
    row = Preview(statement_id=statement_id, revision_id=revision_id, user_id=user_id, towxname=target[:64],
                  at=utcnow(), msg_id=str(answer.get("msg_id")) if answer.get("msg_id") is not None else None)
    db.session.add(row)
    db.session.flush()
    me = db.session.get(User, user_id)
    audit.record(me, "statement.wechat_preview", row, after={"statement_id": statement_id, "towxname": target,
                                                             "revision_id": revision_id})
    used = used_today()
    db.session.commit()
    return {"towxname": target, "msg_id": row.msg_id, "used_today": used, "limit": DAILY_LIMIT}
