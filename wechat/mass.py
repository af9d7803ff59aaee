"""The WeChat channel's mass send (群发, interface §14): quota first, then exactly one push.

A `mass_send` delivery's attempt (its claimant, see publishing/dispatch.py) asks the quota what to do
(wechat/quota.py): take the period's slot, wait for the next period, or — urgent and no slot — go out as a
free publication (the caller, WechatChannel.publish, does that when this answers None).

Once in a mass send, whichever member's worker holds the mass send's drive lease takes its next step:

- `reserved` → one draft carrying the members' articles in order (each member's own staged draft is its
  article: rendered, checked and uploaded at staging) → `submitting`, with `clientmsgid` fixed as
  "hy-" + the headline delivery's UUID;
- `submitting` → `message/mass/sendall` with that clientmsgid. A worker killed before the answer was
  recorded repeats the call with the same clientmsgid, and WeChat's 45065 ("already sent") hands back the
  msg_id of the first: one push, never two. 45028 (no quota) marks the period spent and sends the members
  back to the quota, where the no-quota rule applies;
- `sending` → `message/mass/get` until SEND_SUCCESS or SEND_FAIL (MASSSENDJOBFINISH at /wechat/callback
  records counts and article URLs and wakes every member at once); held for a phone confirmation (群发保护)
  office is told at 10 minutes and the send fails at 30.

Each member settles its own delivery from the mass send's row: published with its article's URL, or failed
with the mass send's reason.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from flask_babel import gettext

from app.timeutil import utcnow
from publishing.channels import Dispatch, PermanentError, Published, TransientError, Wait
from wechat import quota
from wechat.client import WechatClient, WechatPermanent
from wechat.models import MassSend, MassState

if TYPE_CHECKING:
    from wechat.channel import WechatChannel

#: 群发保护: office is told after this long unconfirmed, and the send fails after `UNCONFIRMED_LIMIT`.
UNCONFIRMED_NOTICE = timedelta(minutes=10)
UNCONFIRMED_LIMIT = timedelta(minutes=30)
#: After SEND_SUCCESS, how long a member waits for its article's URL (MASSSENDJOBFINISH) before it settles
#: without one (read-back then reports it cannot read the article).
URL_WAIT = timedelta(minutes=10)
MAX_WAIT = 30
#: WeChat refuses the same clientmsgid again within a minute (45066); the repeat waits this long.
RETRY_PAUSE = 61



def _wait(job: Dispatch) -> Wait:
    polls = int(job.data.get("mass_polls") or 0) + 1
    job.keep(mass_polls=polls)
    return Wait(min(MAX_WAIT, 2 ** min(polls - 1, 5)))


def _leave(job: Dispatch, mass_id: int, reason: str) -> NoReturn:
    """The mass send failed: this delivery forgets it (a retry by office starts from the quota again) and fails
    with the mass send's reason."""
    job.keep(mass_send_id=None, article_idx=None, failed_mass_send_id=mass_id)
    raise PermanentError(reason)


def _stop(job: Dispatch, mass: MassSend, reason: str) -> NoReturn:
    """WeChat's outcome ends the mass send (counted: it was accepted): every member fails with `reason`."""
    quota.failed(mass.id, reason, refund=False)
    _leave(job, mass.id, reason)


def publish(channel: WechatChannel, api: WechatClient, job: Dispatch) -> Published | Wait | None:
    """The attempt of a `mass_send` delivery; None: publish it freely instead (no slot, or switched)."""
    for _round in range(3):  # a mass send that found no quota sends its members back to the quota once
        mass_id = job.data.get("mass_send_id")
        if mass_id is None:
            allocation = quota.allocate(job.delivery_id, job.statement_id, str(job.extra.get("priority")),
                                        job.approved_at)
            if isinstance(allocation, quota.Waiting):
                job.keep(waiting_for_quota=True, waiting_until=allocation.until.isoformat())
                seconds = (allocation.until - utcnow()).total_seconds()
                return Wait(max(1.0, seconds + 1))
            if isinstance(allocation, quota.NoSlot):
                job.keep(mode="publish", waiting_for_quota=False, quota_fallback=True)
                quota.tell_office_quota_spent(job.statement_id, job.title, job.unit_name)
                return None
            if isinstance(allocation, quota.Switched):
                job.keep(mode="publish", waiting_for_quota=False, switched_to_publish=True)
                return None
            job.keep(mass_send_id=allocation.mass_send_id, article_idx=allocation.article_idx,
                      waiting_for_quota=False, mass_polls=0)
            mass_id = allocation.mass_send_id
        mass = quota.get(int(mass_id))
        if mass.state in (MassState.NO_QUOTA, MassState.CANCELLED):
            job.keep(mass_send_id=None, article_idx=None)
            continue
        return _follow(channel, api, job, mass)
    raise TransientError(gettext("群发名额分配未完成，稍后再试"))


def _article_idx(job: Dispatch, mass: MassSend) -> int:
    """Its position as the mass send has it now (a member withdrawn before the submit moves the rest up)."""
    for idx, delivery_id, _key in quota.members(mass.id):
        if delivery_id == job.delivery_id:
            return idx
    return int(job.data.get("article_idx") or 1)


def _follow(channel: WechatChannel, api: WechatClient, job: Dispatch, mass: MassSend) -> Published | Wait | None:
    if mass.state == MassState.FAILED:
        _leave(job, mass.id, mass.error or gettext("群发失败"))
    if mass.state == MassState.SENT:
        settled = _settled(job, mass)
        if settled is not None:
            return settled
    token = quota.drive(mass.id)
    if token is None:
        return _wait(job)  # another member's worker is at it
    try:
        return _drive(channel, api, job, mass.id)
    finally:
        quota.let_go(mass.id, token)


def _settled(job: Dispatch, mass: MassSend) -> Published | None:
    idx = _article_idx(job, mass)
    url = (mass.article_urls or {}).get(str(idx))
    if url is None and mass.finished_at is not None and utcnow() - mass.finished_at < URL_WAIT:
        return None
    msg_data_id = mass.msg_data_id or (quota.mid_of(url) if url else None)
    return Published(url=url, external_id=mass.msg_id, details={
        "mode": "mass_send", "mass_send_id": mass.id, "msg_id": mass.msg_id, "msg_data_id": msg_data_id,
        "article_idx": idx, "sent_count": mass.sent_count, "total_count": mass.total_count,
        "waiting_for_quota": False, "clientmsgid": mass.clientmsgid,
    })


def _drive(channel: WechatChannel, api: WechatClient, job: Dispatch, mass_id: int) -> Published | Wait | None:
    mass = quota.get(mass_id)  # as it is now that we hold it
    if mass.state == MassState.RESERVED:
        found = _prepare(channel, api, job, mass)
        if found is None:
            return _wait(job)
        mass = found
    if mass.state == MassState.SUBMITTING:
        return _submit(channel, api, job, mass)
    if mass.state == MassState.SENDING:
        return _poll(api, job, mass)
    if mass.state == MassState.SENT:
        return _settled(job, mass) or _wait(job)
    if mass.state == MassState.FAILED:
        _leave(job, mass.id, mass.error or gettext("群发失败"))
    # no quota or dissolved meanwhile: back to the quota on the next attempt
    job.keep(mass_send_id=None, article_idx=None)
    return Wait(1)


def _prepare(channel: WechatChannel, api: WechatClient, job: Dispatch, mass: MassSend) -> MassSend | None:
    """The draft carrying the articles in order, then `submitting` with the clientmsgid fixed."""
    articles = quota.members(mass.id)
    if not articles:
        return None
    drafts = quota.member_drafts([delivery_id for _idx, delivery_id, _key in articles])
    if any(drafts.get(delivery_id) is None for _idx, delivery_id, _key in articles):
        return None  # a member not staged yet: its own attempt stages it (it was woken with the others)
    if len(articles) == 1:
        media_id = drafts[articles[0][1]]
    else:
        items = []
        for _idx, delivery_id, _key in articles:
            draft = api.draft.get(drafts[delivery_id])
            items.append(draft["news_item"][0])
        media_id = api.draft.add([_as_new(item) for item in items])["media_id"]
    headline_key = articles[0][2]
    return quota.submitting(mass.id, f"hy-{headline_key}", str(media_id))


def _as_new(item: dict[str, Any]) -> dict[str, Any]:
    """A news item as draft/get answers it, as draft/add takes it."""
    keep = ("title", "author", "digest", "content", "content_source_url", "thumb_media_id", "need_open_comment",
            "only_fans_can_comment")
    return {k: item[k] for k in keep if k in item}


def _submit(channel: WechatChannel, api: WechatClient, job: Dispatch, mass: MassSend) -> Published | Wait | None:
    try:
        answer = api.post("message/mass/sendall", data={
            "filter": {"is_to_all": True}, "mpnews": {"media_id": mass.media_id}, "msgtype": "mpnews",
            "send_ignore_reprint": 0, "clientmsgid": mass.clientmsgid,
        })
    except WechatPermanent as error:
        if error.errcode == 45065 and error.answer and error.answer.get("msg_id"):
            # already sent under this clientmsgid (a worker died before recording the answer): that send is ours
            quota.accepted(mass.id, str(error.answer["msg_id"]), None)
            return _wait(job)
        if error.errcode == 45066:  # the same clientmsgid again within a minute: WeChat wants a minute's pause
            return Wait(RETRY_PAUSE)
        if error.errcode == 45028:
            quota.no_quota(mass.id)
            job.keep(mass_send_id=None, article_idx=None)
            return Wait(1)  # the next attempt meets the quota's no-slot rule
        quota.failed(mass.id, error.reason, refund=True)  # refused: it never counted
        _leave(job, mass.id, error.reason)
    data_id = answer.get("msg_data_id")
    quota.accepted(mass.id, str(answer["msg_id"]), str(data_id) if data_id is not None else None)
    return _wait(job)


def _poll(api: WechatClient, job: Dispatch, mass: MassSend) -> Published | Wait | None:
    answer = api.post("message/mass/get", data={"msg_id": mass.msg_id})
    status = str(answer.get("msg_status") or "")
    if status == "SEND_SUCCESS":
        done = quota.finished(mass.id) or quota.get(mass.id)
        return _settled(job, done) or _wait(job)
    if status in ("SEND_FAIL", "DELETE"):
        held = mass.unconfirmed_notified_at is not None and utcnow() - (mass.submitted_at or utcnow()) >= \
            UNCONFIRMED_LIMIT
        if status == "DELETE":
            reason = gettext("群发已在微信公众平台被删除")
        elif held:  # WeChat drops a protected job nobody confirmed within 30 minutes
            reason = quota.failure_reason("err(40002)")
        else:
            reason = gettext("群发发送失败（微信返回 SEND_FAIL）")
        _stop(job, mass, reason)
    submitted = mass.submitted_at or utcnow()
    if utcnow() - submitted > UNCONFIRMED_LIMIT:
        _stop(job, mass, quota.failure_reason("err(40002)"))
    if utcnow() - submitted > UNCONFIRMED_NOTICE:
        quota.mark_unconfirmed_told(mass.id, job.statement_id, job.title)
    return _wait(job)


def retract(api: WechatClient, job: Dispatch) -> bool:
    """Take a `mass_send` delivery down: only its own article of its mass send (interface §14). One that went
    out as a free publication instead has `mode` "publish" and never comes here."""
    out = quota.withdraw(job.delivery_id)
    if out is None:  # waiting, or in a mass send not yet submitted: nothing went out but its own draft
        _delete_draft(api, job)
        return True
    msg_id = out.msg_id
    if msg_id is None:
        raise TransientError(gettext("群发正在提交，结果确定后再撤回"))
    try:
        api.post("message/mass/delete", data={"msg_id": msg_id, "article_idx": out.article_idx})
    except WechatPermanent as error:
        if error.errcode not in (40007, 53600):
            raise
    return True


def _delete_draft(api: WechatClient, job: Dispatch) -> None:
    if job.data.get("media_id") and not job.data.get("publish_id") and not job.data.get("submit_started_at"):
        try:
            api.draft.delete(job.data["media_id"])
        except WechatPermanent as error:
            if error.errcode != 40007:
                raise
