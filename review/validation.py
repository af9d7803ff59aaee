"""Turning what a client sent into checked values, with every problem named by field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.api import require_mapping
from app.errors import Invalid
from app.extensions import db
from app.models import Unit
from app.security import MAX_ID
from app.timeutil import utcnow
from review.models import Channel, ConfirmMethod, Image, Priority, Stage, Verdict
from review.render import MEDIA_SRC, image_sources, structure_problem

HASH_RE = re.compile(r"^[0-9a-f]{64}$")
TITLE_MAX, WECHAT_TITLE_MAX, DIGEST_MAX, BODY_MAX = 64, 32, 120, 50_000


@dataclass
class StatementInput:
    """A statement's fields after validation; None means "not given" for edits."""

    title: str | None = None
    digest: str | None = None
    body: str | None = None
    unit: Unit | None = None
    priority: Priority | None = None
    channels: list[str] | None = None
    go_live_at: datetime | None = None
    go_live_given: bool = False
    agencies: list[str] | None = None
    case_ids: list[int] | None = None
    given: set[str] = field(default_factory=set)


class _Errors:
    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)

    def raise_if_any(self) -> None:
        if self.fields:
            raise Invalid(_("输入有误"), fields=self.fields)


def _text(data: Mapping[str, Any], name: str, errors: _Errors, *, lo: int, hi: int) -> str | None:
    if name not in data:
        return None
    value = data[name]
    if value is None and lo == 0:
        return ""
    if not isinstance(value, str):
        errors.add(name, _("必须是字符串"))
        return None
    value = value.strip() if name == "title" else value
    if len(value) < lo:
        errors.add(name, _("不能为空"))
    elif len(value) > hi:
        errors.add(name, _("不能超过 %(n)d 个字符（当前 %(m)d 个）", n=hi, m=len(value)))
    return value


def parse_datetime(value: Any) -> datetime:
    """ISO 8601 with an explicit offset; naive times are refused, never guessed."""
    if not isinstance(value, str):
        raise ValueError(_("必须是 ISO 8601 时间字符串"))
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(_("时间格式无效，应为 ISO 8601，例如 2026-03-01T09:00:00+08:00")) from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(_("时间必须带时区偏移，例如 +08:00"))
    if not 2000 <= parsed.year <= 2100:  # year 9999 in Asia/Shanghai is past datetime's range: pages would fail
        raise ValueError(_("时间超出范围（2000–2100 年）"))
    return parsed


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
    """Validate a POST/PUT statement body (CONTRACT §3); raises Invalid naming every bad field."""
    data = require_mapping(data)
    errors = _Errors()
    out = StatementInput(given={k for k in data})
    if creating and "title" not in data:
        errors.add("title", _("必填"))
    if creating and "body" not in data:
        errors.add("body", _("必填"))
    out.title = _text(data, "title", errors, lo=1, hi=TITLE_MAX)
    out.digest = _text(data, "digest", errors, lo=0, hi=DIGEST_MAX)
    out.body = _text(data, "body", errors, lo=1, hi=BODY_MAX)
    if out.body is not None and "body" not in errors.fields:
        problem = structure_problem(out.body) or check_body_images(out.body)
        if problem:
            errors.add("body", problem)

    if "unit" in data and data["unit"] is not None:
        code = data["unit"]
        unit = Unit.by_code(code) if isinstance(code, str) else None
        if unit is None:
            errors.add("unit", _("未知单位：%(code)s", code=str(code)[:32]))
        out.unit = unit

    if "priority" in data:
        try:
            out.priority = Priority(data["priority"])
        except ValueError:
            errors.add("priority", _("应为 urgent、high、normal 或 low"))

    if "channels" in data:
        channels = data["channels"]
        allowed = [c.value for c in Channel]
        if not isinstance(channels, list) or not channels or any(c not in allowed for c in channels):
            errors.add("channels", _("应为 [\"portal\", \"wechat\"] 的非空子集"))
        else:
            out.channels = [c for c in allowed if c in channels]

    if "go_live_at" in data:
        out.go_live_given = True
        if data["go_live_at"] is not None:
            try:
                when = parse_datetime(data["go_live_at"])
            except ValueError as exc:
                errors.add("go_live_at", str(exc))
            else:
                if when <= utcnow():
                    errors.add("go_live_at", _("发布时间已过，请填写将来的时间或留空（批准后立即发布）"))
                out.go_live_at = when

    if "agencies" in data:
        agencies = data["agencies"]
        if not isinstance(agencies, list) or not all(
            isinstance(a, str) and 0 < len(a.strip()) <= 128 for a in agencies
        ):
            errors.add("agencies", _("应为机构名称列表（每项 1–128 个字符）"))
        elif len({a.strip() for a in agencies}) != len(agencies):
            errors.add("agencies", _("机构名称不能重复"))
        elif len(agencies) > 20:
            errors.add("agencies", _("最多 20 个机构"))
        else:
            out.agencies = [a.strip() for a in agencies]

    if "case_ids" in data:
        ids = data["case_ids"]
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_ID for i in ids
        ):
            errors.add("case_ids", _("应为正整数列表"))
        else:
            out.case_ids = list(dict.fromkeys(ids))
    errors.raise_if_any()
    return out


def check_wechat_title(title: str, channels: list[str], errors_field: str = "title") -> None:
    """WeChat allows 32 characters of title (CONTRACT §3 POST /statements)."""
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


def review_input(data: Any) -> ReviewInput:
    """Validate `POST /statements/{id}/reviews`."""
    data = require_mapping(data)
    errors = _Errors()
    rev = data.get("revision_hash")
    if not isinstance(rev, str) or not HASH_RE.match(rev):
        errors.add("revision_hash", _("应为 64 位十六进制哈希"))
    stage = decision = None
    try:
        stage = Stage(data.get("stage"))
        if stage == Stage.AGENCY:
            raise ValueError
    except ValueError:
        errors.add("stage", _("应为 expert 或 leader"))
    try:
        decision = Verdict(data.get("decision"))
    except ValueError:
        errors.add("decision", _("应为 approve、request_changes 或 reject"))
    comment = data.get("comment") or ""
    if not isinstance(comment, str):
        errors.add("comment", _("必须是字符串"))
        comment = ""
    elif len(comment) > 5000:
        errors.add("comment", _("不能超过 5000 个字符"))
    elif decision in (Verdict.REQUEST_CHANGES, Verdict.REJECT) and not comment.strip():
        errors.add("comment", _("退回修改或否决时必须填写意见"))
    errors.raise_if_any()
    assert stage is not None and decision is not None
    return ReviewInput(rev, stage, decision, comment.strip())


@dataclass
class ConfirmationInput:
    revision_hash: str
    agency: str
    contact: str
    method: ConfirmMethod
    note: str


def confirmation_input(data: Any, agencies: list[str]) -> ConfirmationInput:
    """Validate `POST /statements/{id}/confirmations` against the statement's agencies."""
    data = require_mapping(data)
    errors = _Errors()
    rev = data.get("revision_hash")
    if not isinstance(rev, str) or not HASH_RE.match(rev):
        errors.add("revision_hash", _("应为 64 位十六进制哈希"))
    agency = data.get("agency")
    if not isinstance(agency, str) or agency.strip() not in agencies:
        errors.add("agency", _("应为本回应所列需确认的机构之一"))
    contact = _text(data, "contact", errors, lo=1, hi=128)
    if "contact" not in data:
        errors.add("contact", _("必填"))
    method = None
    try:
        method = ConfirmMethod(data.get("method"))
    except ValueError:
        errors.add("method", _("应为 phone、document、meeting 或 other"))
    note = _text(data, "note", errors, lo=0, hi=5000) or ""
    errors.raise_if_any()
    assert method is not None and isinstance(agency, str) and contact is not None
    return ConfirmationInput(rev, agency.strip(), contact.strip(), method, note)
