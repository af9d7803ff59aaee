"""The names people read for a case's stored values, in the request's language."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp

from app.models import Role
from cases.models import Case, CaseStatus, Deadline, DeadlineKind, DeadlineState, EventKind, ResponseForm, Source

#: The same names review shows for roles (same message ids, so one translation).
ROLE = {
    Role.DRAFTER: _l("起草人"), Role.EXPERT: _l("专家"), Role.LEADER: _l("领导"),
    Role.OFFICE: _l("院办公室"), Role.ADMIN: _l("管理员"), Role.INTEGRATION: _l("系统接入"),
}

STATUS = {
    CaseStatus.REGISTERED: _l("已登记"),
    CaseStatus.ASSESSED: _l("已研判"),
    CaseStatus.ASSIGNED: _l("已转办"),
    CaseStatus.HANDLING: _l("处置中"),
    CaseStatus.RESPONDED: _l("已回应"),
    CaseStatus.CLOSED: _l("已办结"),
}

LEVEL = {1: _l("特别重大"), 2: _l("重大"), 3: _l("较大"), 4: _l("一般")}

SOURCE = {
    Source.PORTAL: _l("门户网站"),
    Source.FORUM: _l("论坛"),
    Source.WEIBO: _l("微博"),
    Source.WECHAT: _l("微信"),
    Source.SHORT_VIDEO: _l("短视频"),
    Source.ONLINE_PETITION: _l("网上信访"),
    Source.HOTLINE: _l("热线电话"),
    Source.NEWS_COMMENT: _l("新闻跟帖"),
    Source.PRESS: _l("报刊媒体"),
    Source.SUPERIOR: _l("上级交办"),
    Source.OTHER: _l("其他"),
}

FORM = {
    ResponseForm.STATEMENT: _l("发布回应"),
    ResponseForm.EXPERT_INTERPRETATION: _l("专家解读"),
    ResponseForm.PRESS_CONFERENCE: _l("新闻发布会"),
    ResponseForm.MEDIA_INTERVIEW: _l("接受媒体采访"),
    ResponseForm.OTHER: _l("其他"),
}

DEADLINE_KIND = {
    DeadlineKind.AUTHORITATIVE_RELEASE: _l("发布权威信息"),
    DeadlineKind.PRESS_CONFERENCE: _l("召开新闻发布会"),
    DeadlineKind.RESPONSE: _lp("deadline", "回应"),  # 回应 alone is also the product's name
}

DEADLINE_STATE = {
    DeadlineState.PENDING: _l("进行中"),
    DeadlineState.MET: _l("按时完成"),
    DeadlineState.MET_LATE: _l("超时完成"),
    DeadlineState.OVERDUE: _l("已超时"),
    DeadlineState.WAIVED: _l("已免除（办结时未到期）"),
}

def deadline_state_text(deadline: Deadline, case: Case, now: datetime) -> str:
    """A clock's state in words; a waived one names why its case was closed (interface §20: shown with it)."""
    state = deadline.state(now)
    text = str(DEADLINE_STATE.get(state, state))
    if state == DeadlineState.WAIVED and case.closing_reason:
        return _("%(state)s，办结理由：%(reason)s", state=text, reason=case.closing_reason)
    return text


EVENT = {
    EventKind.REGISTERED: _l("登记"),
    EventKind.ASSESSED: _l("研判"),
    EventKind.ASSIGNED: _l("转办"),
    EventKind.ACCEPTED: _l("受理"),
    EventKind.FEEDBACK: _l("反馈"),
    EventKind.RESPONDED: _lp("event", "回应"),
    EventKind.STATEMENT_LINKED: _l("关联回应稿"),
    EventKind.STATEMENT_UNLINKED: _l("取消关联回应稿"),
    EventKind.CLOSED: _l("办结"),
    EventKind.REPORTED_UPWARD: _l("归口报送"),
    EventKind.DEADLINES_MOVED: _l("工作日历调整，时限顺延或提前"),
}
