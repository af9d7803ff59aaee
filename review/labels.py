"""The names people read for stored values (statuses, stages, roles …), in the request's language."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from flask import g
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from flask_babel.speaklater import LazyString

from app.models import Role
from review.models import Channel, ConfirmMethod, Priority, Stage, Status, Verdict


class Labels(Mapping[str, str]):
    """The names shown for stored values, translated once per request (lists show hundreds)."""

    def __init__(self, names: Mapping[str, LazyString]) -> None:
        self._names = names

    def _table(self) -> dict[str, str]:
        cache: dict[int, dict[str, str]] = g.setdefault("huiying_labels", {})
        if id(self) not in cache:
            cache[id(self)] = {str(key): str(name) for key, name in self._names.items()}
        return cache[id(self)]

    def __getitem__(self, key: str) -> str:
        return self._table()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._names)


STATUS = Labels({
    Status.DRAFT: _l("草稿"),
    Status.IN_REVIEW: _l("审核中"),
    Status.CHANGES_REQUESTED: _lp("status", "退回修改"),
    Status.APPROVED: _l("已批准"),
    Status.SCHEDULED: _l("定时发布"),
    Status.PUBLISHING: _l("发布中"),
    Status.PUBLISHED: _l("已发布"),
    Status.PARTIALLY_PUBLISHED: _l("部分发布"),
    Status.FAILED: _l("发布失败"),
    Status.REJECTED: _l("已否决"),
    Status.RETRACTED: _l("已撤回"),
})
STAGE = Labels({Stage.EXPERT: _l("专家审核"), Stage.AGENCY: _l("机构确认"), Stage.LEADER: _l("领导审批")})
PENDING = Labels({Stage.EXPERT: _l("待专家审核"), Stage.AGENCY: _l("待机构确认"), Stage.LEADER: _l("待领导审批")})
PRIORITY = Labels({
    Priority.URGENT: _l("特急"), Priority.HIGH: _l("急"), Priority.NORMAL: _l("普通"), Priority.LOW: _l("低"),
})
CHANNEL = Labels({Channel.PORTAL: _l("门户网站"), Channel.WECHAT: _l("微信公众号")})
METHOD = Labels({
    ConfirmMethod.PHONE: _l("电话"), ConfirmMethod.DOCUMENT: _l("公文"),
    ConfirmMethod.MEETING: _l("会议"), ConfirmMethod.OTHER: _l("其他"),
})
VERDICT = Labels({Verdict.APPROVE: _l("同意"), Verdict.REQUEST_CHANGES: _l("退回修改"), Verdict.REJECT: _l("否决")})
ROLE = Labels({
    Role.DRAFTER: _l("起草人"), Role.EXPERT: _l("专家"), Role.LEADER: _l("领导"),
    Role.OFFICE: _l("院办公室"), Role.ADMIN: _l("管理员"), Role.INTEGRATION: _l("系统接入"),
})
