"""Statements' request and answer models (interface §3, §10): the shape every client must send, and what it gets.

`review/validation.py` validates with these, then checks what needs the database (the unit, the images,
the Markdown's structure, the channels this deployment has); openapi.json describes the same models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import Field, StringConstraints, field_validator

from app.openapi import Out
from app.validation import Body, Hash, Moment, Msg, Paging, RowId, fail
from review.models import Channel, ConfirmMethod, Priority, Status

TITLE_MAX, WECHAT_TITLE_MAX, DIGEST_MAX, BODY_MAX = 64, 32, 120, 50_000
AGENCY_MAX, AGENCIES_MAX, COMMENT_MAX = 128, 20, 5000

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX),
                  Field(description="1–64 characters; at most 32 when `wechat` is a channel")]
Markdown = Annotated[str, Field(min_length=1, max_length=BODY_MAX,
                                description="Markdown; images only from `POST /images` (`/media/…`)")]
Agency = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=AGENCY_MAX)]


WechatMode = Literal["publish", "mass_send"]


class StatementFields(Body):
    """`PUT /statements/{id}`: any of the fields of `POST /statements`; a new revision."""

    title: Title = None  # type: ignore[assignment]
    digest: Annotated[str | None, Field(max_length=DIGEST_MAX)] = None
    body: Markdown = None  # type: ignore[assignment]
    unit: Annotated[str | None, Field(max_length=32, description="unit code, default the caller's")] = None
    priority: Annotated[Priority, Msg(lambda: _("应为 urgent、high、normal 或 low"))] = None  # type: ignore
    channels: Annotated[list[Channel], Field(min_length=1),
                        Msg(lambda: _("应为 [\"portal\", \"wechat\"] 的非空子集"))] = None  # type: ignore
    wechat_mode: Annotated[WechatMode, Msg(lambda: _("应为 publish（发布）或 mass_send（群发）")),
                           Field(description="publish: not pushed to followers; mass_send: pushed, within the "
                                             "account's quota (interface §14)")] = None  # type: ignore
    comments_open: Annotated[bool, Msg(lambda: _("应为 true 或 false"))] = None  # type: ignore[assignment]
    go_live_at: Annotated[Moment | None, Field(description="null: as soon as approved")] = None
    agencies: Annotated[list[Agency], Field(max_length=AGENCIES_MAX),
                        Msg(lambda: _("应为机构名称列表（每项 1–128 个字符）"),
                            too_long=lambda: _("最多 20 个机构"))] = None  # type: ignore[assignment]
    case_ids: Annotated[list[RowId], Msg(lambda: _("应为正整数列表"))] = None  # type: ignore[assignment]

    @field_validator("agencies")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise fail(_("机构名称不能重复"))
        return value


class StatementCreate(StatementFields):
    """`POST /statements` (a drafter of the unit) → 201 the statement, status `draft`."""

    title: Title
    body: Markdown


class ReviewIn(Body):
    """`POST /statements/{id}/reviews`: a decision on the revision named by its hash."""

    revision_hash: Hash
    stage: Annotated[Literal["expert", "leader"], Msg(lambda: _("应为 expert 或 leader"))]
    decision: Annotated[Literal["approve", "request_changes", "reject"],
                        Msg(lambda: _("应为 approve、request_changes 或 reject"))]
    comment: Annotated[str | None, Field(max_length=COMMENT_MAX, description="required unless approve"),
                       Msg(lambda: _("必须是字符串"), string_too_long=lambda: _("不能超过 5000 个字符"))] = None
    on_behalf_of: Annotated[str | None, Field(max_length=64, description=(
        "username of the person the caller stands in for (代理); by default a stand-in without the stage's "
        "role acts for their principal, anyone holding it in their own right"))] = None


class ConfirmationIn(Body):
    """`POST /statements/{id}/confirmations`: an agency (one of the statement's) confirmed this revision."""

    revision_hash: Hash
    agency: Annotated[str, Field(min_length=1, max_length=AGENCY_MAX),
                      Msg(lambda: _("应为本回应所列需确认的机构之一"))]
    contact: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    method: Annotated[ConfirmMethod, Msg(lambda: _("应为 phone、document、meeting 或 other"))]
    note: Annotated[str | None, Field(max_length=5000)] = None
    evidence: Annotated[str | None, Field(pattern=r"^[0-9a-f]{64}$", description=(
        "sha256 of a document uploaded with `POST /evidence` that records the agreement")),
        Msg(lambda: _("应为已上传证明材料的 sha256"))] = None


class SubmitIn(Body):
    """`POST /statements/{id}/submit` (body optional): the experts the drafter asks for, who are told."""

    reviewers: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=10, description=(
        "usernames of experts of the unit asked to review this round (default: any expert of the unit)")),
        Msg(lambda: _("应为本单位专家的用户名列表（最多 10 人）"))] = None  # type: ignore[assignment]


class CommentIn(Body):
    """`POST /statements/{id}/comments`: a remark on a revision, not a decision."""

    revision_hash: Annotated[str, Field(max_length=64), Msg(lambda: _("不是本回应的修订稿"))]
    comment: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
                       Msg(lambda: _("必填"), string_too_long=lambda: _("不能超过 2000 个字符"))]


class StatementQuery(Paging):
    """Filters of `GET /statements`."""

    status: Annotated[Status | None, Msg(lambda: _("未知状态"))] = None
    unit: Annotated[str | None, Field(max_length=32, description="unit code")] = None
    q: Annotated[str, Field(max_length=200, description="words in the title, digest or body")] = ""


class PreviewQuery(Body):
    channel: Annotated[Channel, Msg(lambda: _("应为 portal 或 wechat"))] = Channel.PORTAL


class ChecksIn(Body):
    """`POST /checks`: the text the editor holds (nothing is saved)."""

    title: Annotated[str | None, Field(max_length=BODY_MAX)] = ""
    digest: Annotated[str | None, Field(max_length=BODY_MAX)] = ""
    body: Annotated[str | None, Field(max_length=BODY_MAX)] = ""
    channels: Annotated[list[Channel], Msg(lambda: _("应为 [\"portal\", \"wechat\"] 的子集"))] = [
        Channel.PORTAL, Channel.WECHAT]


class Leader(Body):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    title: Annotated[str, Field(max_length=64)] = ""


TermList = Annotated[list[Annotated[str, Field(max_length=64)]], Msg(lambda: _("应为字符串列表，每项不超过 64 个字符"))]


class TermsIn(Body):
    """`PUT /terms` (admin): any of the three lists; the ones given replace the stored ones."""

    model_config = {"extra": "forbid"}

    sensitive: TermList = None  # type: ignore[assignment]
    allowed: TermList = None  # type: ignore[assignment]
    leaders: Annotated[list[Leader], Msg(lambda: _("应为 {\"name\": 姓名, \"title\": 职务} 对象的列表"))] = None  # type: ignore
    agencies: Annotated[list[Agency], Msg(lambda: _("应为机构名称列表（每项 1–128 个字符）"))] = None  # type: ignore


# --- answers ----------------------------------------------------------------------------------------------

class Check(Out):
    """One finding of the pre-publication checks."""

    code: str
    severity: Literal["block", "warn"]
    message: str
    excerpt: str | None = None


class RevisionOut(Out):
    number: int
    hash: str
    author: str
    created_at: datetime
    checks: list[Check]


class ReviewOut(Out):
    stage: str
    decision: str
    reviewer: str
    revision_hash: str
    comment: str
    at: datetime
    on_behalf_of: str | None = Field(None, description="代理: the reviewer acted as this person's stand-in")


class EvidenceOut(Out):
    """A document recording an agency's agreement (PDF or image), readable by those who see the statement."""

    sha256: str
    name: str
    mime: str
    size: int
    url: str


class ConfirmationOut(Out):
    agency: str
    contact: str
    method: str
    note: str
    recorded_by: str
    revision_hash: str
    at: datetime
    evidence: EvidenceOut | None = None


class CommentOut(Out):
    author: str
    revision_hash: str
    comment: str
    at: datetime


class Readback(Out):
    state: Literal["match", "mismatch", "unavailable"]
    at: datetime | None = None
    detail: Any = None


class DeliveryOut(Out):
    channel: Channel
    state: str
    external_id: str | None
    url: str | None
    attempts: int
    last_error: str | None
    published_at: datetime | None
    readback: Readback | None = None
    mode: Literal["publish", "mass_send"] = Field("publish", description=(
        "how it went out on WeChat: publish (发布, not pushed) or mass_send (群发, pushed to followers)"))
    msg_id: str | None = None
    msg_data_id: str | None = None
    article_idx: int | None = Field(None, description="1-based position in its mass send")
    sent_count: int | None = None
    total_count: int | None = None
    waiting_for_quota: bool = Field(False, description="a mass send waiting for the next period's slot")


class StatementOut(Out):
    """A statement (interface §3)."""

    requested_reviewers: list[str] = Field(default_factory=list, description=(
        "usernames of the experts the drafter asked for at the last submit (empty: any expert of the unit)"))

    id: int
    title: str
    digest: str
    body: str
    unit: str
    priority: Priority
    channels: list[Channel]
    wechat_mode: WechatMode
    comments_open: bool
    go_live_at: datetime | None
    agencies: list[str]
    case_ids: list[int]
    corrects: int | None
    status: Status
    author: str
    revision: RevisionOut
    pending_stage: Literal["expert", "agency", "leader"] | None
    reviews: list[ReviewOut]
    confirmations: list[ConfirmationOut]
    comments: list[CommentOut]
    deliveries: list[DeliveryOut]
    ledger_seq: int | None


class StatementList(Out):
    """A page of statements, most recently changed first."""

    items: list[StatementOut]
    total: int


class ChecksOut(Out):
    """What saving this text would record."""

    checks: list[Check]
    blocking: int


class TermsOut(Out):
    """The term lists."""

    sensitive: list[str]
    allowed: list[str]
    leaders: list[dict[str, str]]
    agencies: list[str] = []
    versions: dict[str, int]


class TermsReplaced(TermsOut):
    """The lists now, and how many open drafts were re-checked."""

    rechecked: int


class ImageOut(Out):
    """An uploaded image."""

    url: str
    sha256: str


IMAGE_UPLOAD: dict[str, Any] = {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "PNG, JPEG, GIF or WebP, at most 5 MB (checked by content)"}},
}
