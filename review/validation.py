"""Turning what a client sent into checked values, with every problem named by field."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.errors import Invalid
from app.extensions import db
from app.models import Unit
from app.timeutil import utcnow
from app.validation import Errors, parse
from review.availability import unavailable_problem
from review.models import Channel, ConfirmMethod, Image, Priority, Stage, Verdict
from review.render import MEDIA_SRC, image_sources, structure_problem
from review.schemas import (  # noqa: F401 (the limits are imported from here by others)
    BODY_MAX,
    DIGEST_MAX,
    TITLE_MAX,
    WECHAT_TITLE_MAX,
    ConfirmationIn,
    ReviewIn,
    StatementCreate,
    StatementFields,
)

HASH_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class StatementInput:
    """A statement's fields after validation; None means "not given" for edits."""

    title: str | None = None
    digest: str | None = None
    body: str | None = None
    unit: Unit | None = None
    priority: Priority | None = None
    channels: list[str] | None = None
    wechat_mode: str | None = None
    comments_open: bool | None = None
    go_live_at: datetime | None = None
    go_live_given: bool = False
    agencies: list[str] | None = None
    case_ids: list[int] | None = None
    given: set[str] = field(default_factory=set)


def check_body_images(body: str) -> str | None:
    """None when every image in the body was uploaded here; otherwise the reason."""
    sources = image_sources(body)
    hashes = []
    for src in sources:
        match = MEDIA_SRC.match(src)
        if not match:
            return _("只能使用通过本系统上传的图片（/media/…），不能引用外部图片：%(src)s", src=src[:80])
        hashes.append(match["sha256"])
    if hashes:
        known = set(db.session.scalars(select(Image.sha256).where(Image.sha256.in_(hashes))))
        missing = [h for h in hashes if h not in known]
        if missing:
            return _("图片不存在，请先上传：/media/%(h)s", h=missing[0][:12])
    return None


def statement_input(data: Any, *, creating: bool) -> StatementInput:
    """Validate a POST/PUT statement body (interface §3) with its model (review/schemas.py), then what the
    model cannot know: the Markdown's structure, the images, the unit, a go-live time still ahead."""
    values = parse(StatementCreate if creating else StatementFields, data)
    errors = Errors()
    out = StatementInput(given=set(values.model_fields_set))
    out.title, out.body = values.title, values.body
    if "digest" in out.given:
        out.digest = values.digest or ""
    if out.body is not None:
        problem = structure_problem(out.body) or check_body_images(out.body)
        if problem:
            errors.add("body", problem)
    if values.unit is not None:
        out.unit = Unit.by_code(values.unit)
        if out.unit is None:
            errors.add("unit", _("未知单位：%(code)s", code=values.unit[:32]))
    out.priority = values.priority
    if values.channels is not None:
        out.channels = [c.value for c in Channel if c in values.channels]
        problem = unavailable_problem(out.channels)  # WeChat needs WECHAT_APP_ID or the sandbox (§13)
        if problem:
            errors.add("channels", problem)
    out.wechat_mode, out.comments_open = values.wechat_mode, values.comments_open
    if "go_live_at" in out.given:
        out.go_live_given = True
        out.go_live_at = values.go_live_at
        if out.go_live_at is not None and out.go_live_at <= utcnow():
            errors.add("go_live_at", _("发布时间已过，请填写将来的时间或留空（批准后立即发布）"))
    out.agencies = values.agencies
    if values.case_ids is not None:
        out.case_ids = list(dict.fromkeys(values.case_ids))
    errors.raise_if_any()
    return out


def check_wechat_mode(mode: str, channels: list[str]) -> None:
    """A mass send (群发) needs the WeChat channel, on an account that has one (interface §14)."""
    if mode == "mass_send" and (Channel.WECHAT not in channels or unavailable_problem([Channel.WECHAT])):
        raise Invalid(_("群发需要微信渠道：请先选择微信渠道（且本系统已配置公众号）"),
                      fields={"wechat_mode": _("未选择微信渠道或未配置公众号，不能群发")})


def check_wechat_title(title: str, channels: list[str], errors_field: str = "title") -> None:
    """WeChat allows 32 characters of title (interface §3 POST /statements)."""
    if Channel.WECHAT in channels and len(title) > WECHAT_TITLE_MAX:
        raise Invalid(
            _("选择微信渠道时标题不能超过 %(n)d 个字符（当前 %(m)d 个）", n=WECHAT_TITLE_MAX, m=len(title)),
            fields={errors_field: _("微信标题不能超过 32 个字符")},
        )


@dataclass
class ReviewInput:
    revision_hash: str
    stage: Stage
    decision: Verdict
    comment: str
    on_behalf_of: str | None = None


def review_input(data: Any) -> ReviewInput:
    """Validate `POST /statements/{id}/reviews` (`ReviewIn`); a comment is required unless approving."""
    values = parse(ReviewIn, data)
    comment = (values.comment or "").strip()
    if values.decision != Verdict.APPROVE and not comment:
        raise Invalid(_("输入有误"), fields={"comment": _("退回修改或否决时必须填写意见")})
    return ReviewInput(values.revision_hash, Stage(values.stage), Verdict(values.decision), comment,
                       values.on_behalf_of or None)


@dataclass
class ConfirmationInput:
    revision_hash: str
    agency: str
    contact: str
    method: ConfirmMethod
    note: str
    evidence: str | None = None


def confirmation_input(data: Any, agencies: list[str]) -> ConfirmationInput:
    """Validate `POST /statements/{id}/confirmations` (`ConfirmationIn`) against the statement's agencies."""
    values = parse(ConfirmationIn, data)
    agency = values.agency.strip()
    if agency not in agencies:
        raise Invalid(_("输入有误"), fields={"agency": _("应为本回应所列需确认的机构之一")})
    return ConfirmationInput(values.revision_hash, agency, values.contact, values.method, values.note or "",
                             values.evidence)
