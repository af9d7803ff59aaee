"""The audit trail in words: what each recorded action code and object type is called on /admin/audit.

The codes stay what the API and its filters answer (interface §11); people read these names (context "audit":
a past action, not a button's verb). The shell may not import the packages above it, so the few domain words
needed (channels, stages) are named here again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_pgettext as _lp
from flask_babel.speaklater import LazyString

#: Actions recorded under a fixed code, by services and by `app.door` (each table's action names).
ACTIONS: dict[str, LazyString] = {
    "auth.login": _lp("audit", "登录"),
    "auth.logout": _lp("audit", "退出登录"),
    "user.create": _lp("audit", "新建用户"),
    "user.update": _lp("audit", "修改用户信息"),
    "user.deactivate": _lp("audit", "停用用户"),
    "user.activate": _lp("audit", "启用用户"),
    "user.unlock": _lp("audit", "解除登录限制"),
    "user.force_password_reset": _lp("audit", "要求下次登录修改密码"),
    "user.password_change": _lp("audit", "修改密码"),
    "user.sign_out_everywhere": _lp("audit", "在所有设备上退出"),
    "user.session_end": _lp("audit", "结束一个登录会话"),
    "user.sessions_end_others": _lp("audit", "结束其他登录会话"),
    "unit.create": _lp("audit", "新建单位"),
    "unit.update": _lp("audit", "修改单位与责任人"),
    "token.create": _lp("audit", "创建 API 令牌"),
    "token.revoke": _lp("audit", "撤销 API 令牌"),
    "delegation.create": _lp("audit", "指定代理人"),
    "delegation.revoke": _lp("audit", "收回代理"),
    "image.upload": _lp("audit", "上传图片"),
    "evidence.upload": _lp("audit", "上传证明材料"),
    "upward_report.create": _lp("audit", "记录归口报送"),
    "statement.create": _lp("audit", "新建回应"),
    "statement.edit": _lp("audit", "修改回应（新修订稿）"),
    "statement.edited": _lp("audit", "修改回应（新修订稿）"),
    "statement.submit": _lp("audit", "提交审核"),
    "statement.submitted": _lp("audit", "提交审核"),
    "statement.reviewed": _lp("audit", "完成一个审核环节"),
    "statement.changes_requested": _lp("audit", "退回修改"),
    "statement.rejected": _lp("audit", "否决回应"),
    "statement.approved": _lp("audit", "领导批准发布"),
    "statement.correct": _lp("audit", "起草更正"),
    "statement.went_live": _lp("audit", "到达上线时间，开始发布"),
    "statement.channel_out": _lp("audit", "渠道发布结果更新"),
    "statement.channel_failed": _lp("audit", "渠道发布失败"),
    "statement.retry": _lp("audit", "重新发送失败的渠道"),
    "statement.retried": _lp("audit", "重新发送失败的渠道"),
    "statement.retract": _lp("audit", "撤回回应"),
    "statement.retracted": _lp("audit", "撤回回应"),
    "statement.cancel": _lp("audit", "取消发布（未发出）"),
    "statement.cancelled": _lp("audit", "取消发布（未发出）"),
    "review.comment": _lp("audit", "审核评论"),
    "review.agency.confirm": _lp("audit", "记录机构确认"),
    "review.expert.approve": _lp("audit", "专家审核：同意"),
    "review.expert.request_changes": _lp("audit", "专家审核：退回修改"),
    "review.expert.reject": _lp("audit", "专家审核：否决"),
    "review.leader.approve": _lp("audit", "领导审批：同意发布"),
    "review.leader.request_changes": _lp("audit", "领导审批：退回修改"),
    "review.leader.reject": _lp("audit", "领导审批：否决"),
    "case.create": _lp("audit", "登记舆情"),
    "case.assess": _lp("audit", "研判舆情"),
    "case.assign": _lp("audit", "交办舆情"),
    "case.accept": _lp("audit", "受理舆情"),
    "case.feedback": _lp("audit", "反馈处置情况"),
    "case.respond": _lp("audit", "记录回应情况"),
    "case.statement_published": _lp("audit", "关联的回应已发布"),
    "case.close": _lp("audit", "办结舆情"),
    "case.attach": _lp("audit", "添加舆情附件"),
    "notification_send.claimed": _lp("audit", "开始发送通知副本"),
    "notification_send.sent": _lp("audit", "通知副本已发出"),
    "notification_send.deferred": _lp("audit", "通知副本发送未成，稍后重试"),
    "notification_send.failed": _lp("audit", "通知副本发送失败"),
    "case.deadlines_moved": _lp("audit", "按工作日历调整时限"),
    "calendar.update": _lp("audit", "修改工作日历"),
    # WeChat mass send (interface §14): a waiting statement switched, a preview, the mass sends' steps
    "statement.wechat_mode": _lp("audit", "改为发布（不再等待群发名额）"),
    "statement.wechat_preview": _lp("audit", "发送微信预览"),
    "wechat_mass.regrouped": _lp("audit", "群发文章重新排序"),
    "wechat_mass.submitting": _lp("audit", "提交群发"),
    "wechat_mass.accepted": _lp("audit", "微信已接受群发"),
    "wechat_mass.finished": _lp("audit", "群发完成"),
    "wechat_mass.recorded": _lp("audit", "记录群发结果"),
    "wechat_mass.failed": _lp("audit", "群发失败"),
    "wechat_mass.no_quota": _lp("audit", "微信答复群发名额已用完"),
    "wechat_mass.cancelled": _lp("audit", "群发取消（未发出）"),
    "wechat_mass_item.bundled": _lp("audit", "编入群发"),
    "wechat_mass_item.requeued": _lp("audit", "重新等待群发名额"),
    "wechat_mass_item.switched": _lp("audit", "改为发布"),
    "wechat_mass_item.withdrawn": _lp("audit", "退出群发"),
}

#: `delivery.<channel>.<step>` and `delivery.<step>`: one channel's delivery of a statement.
CHANNELS: dict[str, LazyString] = {"portal": _lp("audit", "门户网站"), "wechat": _lp("audit", "微信公众号")}
DELIVERY_STEPS: dict[str, LazyString] = {
    "claimed": _lp("audit", "开始发送"),
    "staged": _lp("audit", "已预先建好草稿"),
    "released": _lp("audit", "交回队列等待"),
    "published": _lp("audit", "已发出"),
    "out": _lp("audit", "已发出"),
    "failed": _lp("audit", "发送失败"),
    "retry": _lp("audit", "重新发送"),
    "retried": _lp("audit", "重新发送"),
    "cancel": _lp("audit", "取消（未发出）"),
    "takedown": _lp("audit", "开始撤下"),
    "retracted": _lp("audit", "已撤下"),
    "taken_down": _lp("audit", "已撤下"),
    "readback": _lp("audit", "回读核对"),
}
#: `terms.<list>.replace` and `settings.<key>.update|reset`.
TERM_LISTS: dict[str, LazyString] = {
    "sensitive": _lp("audit", "敏感词"),
    "allowed": _lp("audit", "允许的例外"),
    "leaders": _lp("audit", "领导姓名与职务"),
    "agencies": _lp("audit", "需确认的机构"),
}
SETTINGS: dict[str, LazyString] = {"case_deadlines": _lp("audit", "处置时限")}

#: The contract's object types (`audit.OBJECT_TYPES`) and the stored names of the others.
OBJECT_TYPES: dict[str, LazyString] = {
    "statement": _lp("audit", "回应"),
    "case": _lp("audit", "舆情"),
    "user": _lp("audit", "用户"),
    "unit": _lp("audit", "单位"),
    "token": _lp("audit", "API 令牌"),
    "terms": _lp("audit", "词表"),
    "delivery": _lp("audit", "投递"),
    "settings": _lp("audit", "设置"),
    "delegation": _lp("audit", "代理"),
    "image": _lp("audit", "图片"),
    "evidence": _lp("audit", "证明材料"),
    "upwardreport": _lp("audit", "归口报送"),
    "notificationsend": _lp("audit", "通知副本"),
    "calendar": _lp("audit", "工作日历"),
    "masssend": _lp("audit", "群发"),
    "massitem": _lp("audit", "群发文章"),
    "preview": _lp("audit", "微信预览"),
}


def action_label(code: str) -> str:
    """What an action code is called; the code itself when nothing names it."""
    if code in ACTIONS:
        return str(ACTIONS[code])
    parts = code.split(".")
    if parts[0] == "delivery" and len(parts) == 3 and parts[1] in CHANNELS and parts[2] in DELIVERY_STEPS:
        return _("%(channel)s：%(step)s", channel=CHANNELS[parts[1]], step=DELIVERY_STEPS[parts[2]])
    if parts[0] == "delivery" and len(parts) == 2 and parts[1] in DELIVERY_STEPS:
        return _("投递：%(step)s", step=DELIVERY_STEPS[parts[1]])
    if parts[0] == "terms" and len(parts) == 3 and parts[2] == "replace":
        return _("更新词表：%(list)s", list=TERM_LISTS.get(parts[1], parts[1]))
    if parts[0] == "settings" and len(parts) == 3 and parts[2] in ("update", "reset"):
        name = SETTINGS.get(parts[1], parts[1])
        return _("修改设置：%(name)s", name=name) if parts[2] == "update" else _("恢复默认设置：%(name)s", name=name)
    return code


def event_label(event: Mapping[str, Any]) -> str:
    """What one recorded event did: a user's deactivation or reactivation reads as such, not as an update."""
    before, after = event.get("before") or {}, event.get("after") or {}
    if event.get("action") == "user.update" and "active" in after and before.get("active") != after["active"]:
        return action_label("user.activate" if after["active"] else "user.deactivate")
    return action_label(str(event.get("action", "")))


def object_label(object_type: str, object_id: Any = None) -> str:
    """"用户 zbs_li", "回应 12": an object as the trail names it."""
    name = str(OBJECT_TYPES.get(object_type, object_type))
    return name if object_id is None or object_id == "" else f"{name} {object_id}"
