"""The WeChat channel: a draft at approval, one submit at go-live, the outcome polled, deletion on retraction.

Every id WeChat returns is stored (`job.remember`) the moment it arrives, because a
timeout or a crash after a call means "maybe done" (DESIGN.md: unknown outcome is not
failure). The ids decide what the next attempt does:

- `publish_id` → the job was submitted: only ever poll `freepublish/get`;
- `submit_started_at` without `publish_id` → a submit may have happened: if the draft
  is still in the draft box it did not, else look for the article among the published
  ones, and after `RECONCILE_LIMIT` hand it to a person — never submit twice;
- `media_id` alone → the draft is ready: submit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale, gettext

from app.timeutil import utcnow
from publishing.channels import Dispatch, PermanentError, Published, TransientError, Wait
from review.render import MEDIA_SRC
from wechat import client, images, mass
from wechat.client import WechatClient, WechatPermanent
from wechat.cover import cover_sha256
from wechat.render import ContentLimitError, article, check_limits, with_correction_notice

#: freepublish/get's publish_status values other than 0 (success) and 1 (publishing).
FAILED_STATUS: dict[int, str] = {
    2: "原创声明失败",
    3: "常规失败",
    4: "平台审核不通过",
    5: "发布成功后文章已被删除",
    6: "发布成功后文章已被系统封禁",
}
PUBLISHING = 1
#: Polls wait 1, 2, 4 … seconds, never more than this.
MAX_POLL_WAIT = 30
#: A job still publishing after this long needs a person (its publish_id is kept).
PUBLISHING_LIMIT = timedelta(hours=2)
#: How long a submit whose answer was lost may stay unconfirmed before a person must look.
RECONCILE_LIMIT = timedelta(minutes=30)
#: Pages of 20 published articles searched for a submit whose answer was lost.
RECONCILE_PAGES = 5
#: The editor's limit on the author field.
AUTHOR_MAX_CHARS = 8
#: `Dispatch.data["mode"]` of a statement that asked for a mass send (interface §14).
MASS_SEND = "mass_send"
#: Stands in for an uploaded image's URL when the limits are checked before any upload;
#: as long as the mmbiz.qpic.cn URLs WeChat returns.
PLACEHOLDER_IMAGE_URL = "https://mmbiz.qpic.cn/sz_mmbiz_jpg/" + "x" * 100 + "/0?wx_fmt=jpeg&from=appmsg"


@contextmanager
def _record_locale() -> Iterator[None]:
    """Reasons are stored and read by the office later: word them in the institution's locale."""
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE") or "zh_Hans_CN"):
        yield



def _sha256(src: str) -> str:
    found = MEDIA_SRC.fullmatch(src)
    assert found is not None  # the renderer lists only /media/ sources
    return found["sha256"]


def _since(job: Dispatch, key: str) -> timedelta:
    value = job.data.get(key)
    return utcnow() - datetime.fromisoformat(value) if value else timedelta(0)


def author_field(speaker: str, unit_name: str) -> str:
    """The article's author as sent (and previewed): the speaker, else the unit, whichever fits the field;
    WeChat accepts an empty author."""
    return next((name for name in (speaker, unit_name) if name and len(name) <= AUTHOR_MAX_CHARS), "")


class WechatChannel:
    """Publishes approved statements to the official account (interface §5)."""

    name = "wechat"

    # --- stage ---------------------------------------------------------------------------

    def stage(self, job: Dispatch) -> None:
        """Render, upload the images and the cover, create the draft; once per delivery."""
        with _record_locale():
            if not job.data.get("media_id"):
                self._draft(client.from_app(), job)

    def _check(self, job: Dispatch, html: str) -> None:
        try:
            check_limits(job.title, job.digest, html)
        except ContentLimitError as error:
            raise PermanentError(error.reason) from error

    def _draft(self, api: WechatClient, job: Dispatch) -> None:
        uploaded, item = self.news_item(api, job)
        answer = api.draft.add([item])
        # the draft's id the moment it is returned: with it, no later attempt makes a second draft
        job.keep(image_urls=uploaded, thumb_media_id=item["thumb_media_id"], media_id=answer["media_id"])

    def news_item(self, api: WechatClient, job: Dispatch) -> tuple[dict[str, str], dict[str, Any]]:
        """The article as WeChat takes it (draft/add's news item), with its images and cover uploaded."""
        # Limits first, with a stand-in for each image URL: a statement that cannot go
        # out costs no upload, no draft and no quota.
        corrects = job.extra.get("corrects")
        estimate = article(job.body, image_url=lambda _src: PLACEHOLDER_IMAGE_URL)
        self._check(job, with_correction_notice(estimate.html, corrects))
        # Images and covers are remembered by content where they are uploaded (wechat/images.py), so a worker
        # that dies before the draft exists uploads none of them again; their URLs and media id are stored
        # with the draft's id, in one commit (the worker's heartbeat keeps the lease meanwhile).
        uploaded: dict[str, str] = {}
        for src in estimate.images:
            uploaded[src] = images.body_image_url(api, _sha256(src))
        html = with_correction_notice(article(job.body, image_url=uploaded.__getitem__).html, corrects)
        self._check(job, html)
        thumb_media_id = images.cover_media_id(api, cover_sha256(estimate.images, job.unit_cover))
        # comments are open unless the statement says otherwise (interface §14)
        comments = 0 if job.extra.get("comments_open") is False else 1
        return uploaded, {
            "title": job.title,
            "author": author_field(job.speaker, job.unit_name),
            "digest": job.digest,
            "content": html,
            "content_source_url": job.portal_url,
            "thumb_media_id": thumb_media_id,
            "need_open_comment": comments,
            "only_fans_can_comment": 0,
        }

    # --- publish -------------------------------------------------------------------------

    def publish(self, job: Dispatch) -> Published | Wait:
        """Submit the draft once, then learn the outcome; see the module docstring for the order. A
        `mass_send` statement goes through the quota first (wechat/mass.py): it is pushed, waits for the
        next period, or, too urgent to wait, comes back here as a free publication."""
        with _record_locale():
            api = client.from_app()
            if job.data.get("mode") == MASS_SEND:
                sent = mass.publish(self, api, job)
                if sent is not None:
                    return sent
            if job.data.get("publish_id"):
                return self._poll(api, job)
            if not job.data.get("media_id"):  # a retry after a failed publish starts from a new draft
                self._draft(api, job)
            if job.data.get("submit_started_at"):
                found = self._reconcile(api, job)
                if found is not None:
                    return found
            return self._submit(api, job)

    def _submit(self, api: WechatClient, job: Dispatch) -> Wait:
        job.keep(submit_started_at=utcnow().isoformat(), polls=0)
        try:
            answer = api.freepublish.submit(job.data["media_id"])
        except WechatPermanent as error:
            if error.errcode != 40007:
                raise
            # The draft left the box between our look and our submit: someone published
            # or deleted it. Reconciling tells which; submitting again cannot help.
            return self._wait(job)
        # submitted_at: the moment the account accepted it (the WeChat side of the go-live skew)
        job.keep(publish_id=str(answer["publish_id"]), submitted_at=utcnow().isoformat())
        return Wait(1)

    def _wait(self, job: Dispatch) -> Wait:
        polls = int(job.data.get("polls") or 0) + 1
        job.keep(polls=polls)
        return Wait(min(MAX_POLL_WAIT, 2 ** (polls - 1)))

    def _poll(self, api: WechatClient, job: Dispatch) -> Published | Wait:
        publish_id = job.data["publish_id"]
        answer = api.freepublish.get(publish_id)
        status = int(answer["publish_status"])
        if status == 0:
            article_id = answer["article_id"]
            items = (answer.get("article_detail") or {}).get("item") or []
            url = items[0]["article_url"] if items else None
            return Published(url=url, external_id=article_id,
                             details={"article_id": article_id, "publish_id": publish_id})
        if status == PUBLISHING:
            if _since(job, "submit_started_at") > PUBLISHING_LIMIT:
                raise PermanentError(gettext(
                    "微信发布任务 %(id)s 超过 2 小时仍在进行中，请在公众平台人工核查；重试将继续查询该任务",
                    id=publish_id))
            return self._wait(job)
        # Final: the draft is used up. Forget it, so a retry by the office starts afresh.
        job.keep(media_id=None, publish_id=None, submit_started_at=None, polls=0,
                  failed_publish_id=publish_id)
        reason = FAILED_STATUS.get(status, gettext("未知状态"))
        raise PermanentError(gettext("微信发布失败：%(reason)s（状态 %(status)s）", reason=reason, status=status))

    def _reconcile(self, api: WechatClient, job: Dispatch) -> Published | Wait | None:
        """After a submit whose answer was lost: None if it never happened (submit), else its outcome."""
        media_id = job.data["media_id"]
        try:
            api.draft.get(media_id)
            return None  # still in the draft box: the submit did not take effect
        except WechatPermanent as error:
            if error.errcode != 40007:
                raise
        found = self._find_article(api, job)
        if found is not None:
            article_id, url = found
            return Published(url=url, external_id=article_id, details={"article_id": article_id, "publish_id": None})
        if _since(job, "submit_started_at") > RECONCILE_LIMIT:
            job.keep(media_id=None, submit_started_at=None, polls=0, unconfirmed_media_id=media_id)
            raise PermanentError(gettext(
                "无法确认微信是否已提交发布：草稿已不在草稿箱，已发布列表中也未找到该文章。"
                "请在公众平台人工核查；确认未发布后再重试（重试会新建草稿并提交）"))
        return self._wait(job)

    def _find_article(self, api: WechatClient, job: Dispatch) -> tuple[str, str | None] | None:
        """This statement among the recently published articles: same title and source URL."""
        for page in range(RECONCILE_PAGES):
            answer = api.freepublish.batchget(page * 20, 20, no_content=1)
            for entry in answer.get("item") or []:
                for item in entry["content"]["news_item"]:
                    if item.get("title") == job.title and item.get("content_source_url") == job.portal_url:
                        return entry["article_id"], item.get("url")
            if (page + 1) * 20 >= int(answer.get("total_count") or 0):
                break
        return None

    # --- retract -------------------------------------------------------------------------

    def retract(self, job: Dispatch) -> None:
        """Delete the published article, or the draft if it never went out; gone already is fine. A mass-sent
        statement deletes only its own article of the mass send (wechat/mass.py)."""
        with _record_locale():
            api = client.from_app()
            if job.data.get("mode") == MASS_SEND and mass.retract(api, job):
                return
            article_id = job.data.get("article_id") or self._article_of(api, job)
            if article_id:
                try:
                    api.freepublish.delete(article_id, 0)
                except WechatPermanent as error:
                    if error.errcode != 53600:
                        raise
            elif job.data.get("media_id"):
                try:
                    api.draft.delete(job.data["media_id"])
                except WechatPermanent as error:
                    if error.errcode != 40007:
                        raise

    def _article_of(self, api: WechatClient, job: Dispatch) -> str | None:
        """The article a submit produced, if any; raises TransientError while that is unknowable."""
        if job.data.get("publish_id"):
            answer = api.freepublish.get(job.data["publish_id"])
            if int(answer["publish_status"]) == PUBLISHING:
                raise TransientError(gettext("微信仍在发布该文章，发布结束后再撤回"))
            return answer.get("article_id") or None
        if not job.data.get("submit_started_at") or not job.data.get("media_id"):
            return None
        try:
            api.draft.get(job.data["media_id"])
            return None  # never submitted: the draft is deleted instead
        except WechatPermanent as error:
            if error.errcode != 40007:
                raise
        found = self._find_article(api, job)
        if found is None:
            raise TransientError(gettext("无法确认微信是否已发布该文章，稍后再试撤回"))
        return found[0]
