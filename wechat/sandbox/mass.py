"""Mass sends (群发) and previews as WeChat keeps them (interface §14), in the sandbox's Redis.

A mass send takes a draft's articles, spends one of the period's quota and becomes a job that answers
``SENDING`` until its time and then its result. With mass-send protection (群发保护) on, the job waits for
the account admin to confirm on a phone, and fails if nobody does within 30 minutes. As with publish jobs,
outcomes are decided lazily from timestamps. Every change to a job is one WATCHed Redis transaction, so a
job is marked finished (and its ``MASSSENDJOBFINISH`` event pushed) exactly once, whichever process reads
it first, and a deletion can never undo a confirmation or the reverse.
"""

from __future__ import annotations

import copy
import enum
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import redis

from wechat.sandbox.quota import Period
from wechat.sandbox.store import StorageFull, Store

#: Mass-send message ids look like real ones (WeChat's are ten digits).
MSG_ID_BASE = 1_000_000_000
#: How long a protected mass send waits for the admin's confirmation before it fails.
PROTECTION_TIMEOUT = 30 * 60
#: Previews kept for the viewer (the oldest are forgotten, their bytes no longer counted).
PREVIEWS_KEPT = 100
#: Counters of past periods are kept this much longer, then Redis drops them.
COUNTER_MARGIN = 86_400

#: ``Status`` of the MASSSENDJOBFINISH event: sent, or the reason it was not.
SENT = "send success"
ADMIN_REJECTED = "err(40001)"  # 管理员拒绝
CONFIRMATION_TIMED_OUT = "err(40002)"  # 管理员30分钟内无响应，超时

T = TypeVar("T")


class MassStatus(enum.StrEnum):
    """``msg_status`` of message/mass/get."""

    SENDING = "SENDING"
    SEND_SUCCESS = "SEND_SUCCESS"
    SEND_FAIL = "SEND_FAIL"
    DELETE = "DELETE"


class Deletion(enum.Enum):
    """What message/mass/delete did."""

    DONE = "done"
    NOT_SENT = "not_sent"  # only a mass send that was sent can be deleted
    NO_SUCH_ARTICLE = "no_such_article"


class ClientMsgIdUsed(Exception):
    """A mass send with this ``clientmsgid`` exists: nothing is sent again."""

    def __init__(self, msg_id: int) -> None:
        super().__init__(msg_id)
        self.msg_id = msg_id


class NoDraft(Exception):
    """No draft has this ``media_id`` (never made, deleted, or already sent)."""


class NoQuota(Exception):
    """The period's mass sends are spent."""


class PreviewLimit(Exception):
    """The day's previews are spent."""


@dataclass(frozen=True)
class Plan:
    """How a new mass send will go: its delay, whether it waits for confirmation, how it ends, to how many."""

    delay: float
    protected: bool
    result: str
    followers: int


class MassSends:
    """The account's mass sends and previews, on top of a `Store` (its Redis, prefix, clock and byte count)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.r: redis.Redis = store.r

    def _key(self, *parts: str) -> str:
        return self.store.key("mass", *parts)

    def _count(self, counter: str, period: Period) -> bool:
        """Take one of ``period``'s allowance from ``counter``; False (nothing taken) when none is left."""
        used = int(self.r.incr(counter))
        self.r.expire(counter, max(int(period.end - self.store.clock()), 0) + COUNTER_MARGIN)
        if used > period.limit:
            self.r.decr(counter)
            return False
        return True

    def _new_msg_id(self) -> int:
        return MSG_ID_BASE + int(self.r.incr(self._key("seq")))

    # --- sending -------------------------------------------------------------------

    def send(self, media_id: str, clientmsgid: str, period: Period, planned: Callable[[], Plan],
             article_url: Callable[[int, int], str]) -> dict[str, Any]:
        """message/mass/sendall of a draft: the new job. Raises `ClientMsgIdUsed`, `NoDraft` or `NoQuota`.

        The ``clientmsgid`` is claimed first (SET NX), so a repeated send is answered with the first one's
        msg_id even after its draft and the quota are gone; a refused send gives its claim back.
        ``planned`` is asked how the send will go only once it is accepted.
        """
        msg_id = self._new_msg_id()
        claim = self._key("client", clientmsgid) if clientmsgid else None
        if claim is not None and not self.r.set(claim, msg_id, nx=True):
            raise ClientMsgIdUsed(int(self.r.get(claim) or 0))
        try:
            news_item = self._take(media_id, period)
        except (NoDraft, NoQuota):
            if claim is not None:
                self.r.delete(claim)
            raise
        plan = planned()
        now = self.store.clock()
        msg_data_id = self.store.next_msg_data_id()
        job: dict[str, Any] = {
            "msg_id": msg_id,
            "msg_data_id": msg_data_id,
            # tells this job from one that reuses its msg_id after the database was emptied (tests)
            "nonce": secrets.token_hex(8),
            "clientmsgid": clientmsgid,
            "period": period.name,
            "submitted_at": now,
            "delay": plan.delay,
            "awaiting": plan.protected,
            "ready_at": now + (PROTECTION_TIMEOUT if plan.protected else plan.delay),
            "result": CONFIRMATION_TIMED_OUT if plan.protected else plan.result,
            "planned": plan.result,
            "total_count": plan.followers,
            "finished_at": None,
            "news_item": [
                {**item, "url": article_url(msg_data_id, idx), "is_deleted": False}
                for idx, item in enumerate(news_item, start=1)
            ],
        }
        self.r.set(self._key("job", str(msg_id)), json.dumps(job, ensure_ascii=False))
        self.r.set(self._key("mid", str(msg_data_id)), msg_id)
        self.r.zadd(self._key("jobs"), {str(msg_id): now})
        return job

    def _take(self, media_id: str, period: Period) -> list[dict[str, Any]]:
        if self.store.draft(media_id) is None:
            raise NoDraft()
        counter = self._key("quota", period.name)
        if not self._count(counter, period):
            raise NoQuota()
        news_item = self.store.take_draft(media_id)
        if news_item is None:  # another call took it a moment ago
            self.r.decr(counter)
            raise NoDraft()
        return news_item

    def used(self, period: Period) -> int:
        """Mass sends accepted in ``period``."""
        return int(self.r.get(self._key("quota", period.name)) or 0)

    # --- reading jobs ----------------------------------------------------------------

    def job(self, msg_id: int) -> dict[str, Any] | None:
        """A mass send by ``msg_id``, or None."""
        raw = self.r.get(self._key("job", str(msg_id)))
        return None if raw is None else dict(json.loads(raw))

    def by_mid(self, msg_data_id: int) -> dict[str, Any] | None:
        """The mass send whose articles have this ``mid`` (``msg_data_id``), or None."""
        msg_id = self.r.get(self._key("mid", str(msg_data_id)))
        return None if msg_id is None else self.job(int(msg_id))

    def jobs(self, offset: int, count: int) -> tuple[int, list[dict[str, Any]]]:
        """How many mass sends there are, and one page of them, newest first."""
        key = self._key("jobs")
        ids = cast(list[bytes], self.r.zrevrange(key, offset, offset + count - 1))
        page = [self.job(int(raw)) for raw in ids]
        return int(self.r.zcard(key)), [job for job in page if job is not None]

    def awaiting(self, job: dict[str, Any]) -> bool:
        """Whether the job waits for the admin's confirmation now (protection on, neither answered nor timed out)."""
        return bool(job["awaiting"]) and self.store.clock() < job["ready_at"]

    def status(self, job: dict[str, Any]) -> MassStatus:
        """The job's ``msg_status`` now."""
        if self.store.clock() < job["ready_at"]:
            return MassStatus.SENDING
        if job["result"] != SENT:
            return MassStatus.SEND_FAIL
        if all(item["is_deleted"] for item in job["news_item"]):
            return MassStatus.DELETE
        return MassStatus.SEND_SUCCESS

    # --- changing jobs, one transaction each -----------------------------------------------

    def _update(self, msg_id: int, change: Callable[[dict[str, Any]], T]) -> tuple[dict[str, Any], T] | None:
        """Apply ``change`` to the job under WATCH (retried if another process wrote it meanwhile); None if absent."""
        key = self._key("job", str(msg_id))

        def step(pipe: Any) -> tuple[dict[str, Any], T] | None:
            raw = pipe.get(key)
            if raw is None:
                return None
            job = json.loads(raw)
            before = copy.deepcopy(job)
            outcome = change(job)
            if job != before:
                pipe.multi()
                pipe.set(key, json.dumps(job, ensure_ascii=False))
            return job, outcome

        transaction: Callable[..., Any] = self.r.transaction  # typed as if it never answered
        return cast(tuple[dict[str, Any], T] | None, transaction(step, key, value_from_callable=True))

    def finish(self, msg_id: int, nonce: str | None = None) -> dict[str, Any] | None:
        """Mark the job finished if it is due and was not yet: the job when this call did it, else None.

        ``nonce`` (from a timer) names the very job meant, so a timer never finishes another one.
        """

        def change(job: dict[str, Any]) -> bool:
            due = self.store.clock() >= job["ready_at"]
            if job["finished_at"] is not None or not due or (nonce is not None and job["nonce"] != nonce):
                return False
            job["finished_at"] = self.store.clock()
            return True

        done = self._update(msg_id, change)
        return done[0] if done is not None and done[1] else None

    def confirm(self, msg_id: int) -> bool | None:
        """The admin confirmed on the phone: the job sends now. False when it was not waiting; None if absent."""

        def change(job: dict[str, Any]) -> bool:
            if not self.awaiting(job):
                return False
            job.update(awaiting=False, ready_at=self.store.clock() + job["delay"], result=job["planned"])
            return True

        done = self._update(msg_id, change)
        return None if done is None else done[1]

    def reject(self, msg_id: int) -> bool | None:
        """The admin refused on the phone: the job fails now. False when it was not waiting; None if absent."""

        def change(job: dict[str, Any]) -> bool:
            if not self.awaiting(job):
                return False
            job.update(awaiting=False, ready_at=self.store.clock(), result=ADMIN_REJECTED)
            return True

        done = self._update(msg_id, change)
        return None if done is None else done[1]

    def delete(self, msg_id: int, article_idx: int) -> Deletion | None:
        """Delete article ``article_idx`` (1-based; 0 = all) of a sent mass send; None if there is no such send.

        Deleting what is deleted already succeeds; the card stays in followers' chats, its article page goes.
        """

        def change(job: dict[str, Any]) -> Deletion:
            if self.status(job) not in (MassStatus.SEND_SUCCESS, MassStatus.DELETE):
                return Deletion.NOT_SENT
            items = job["news_item"]
            if not 0 <= article_idx <= len(items):
                return Deletion.NO_SUCH_ARTICLE
            for idx, item in enumerate(items, start=1):
                if article_idx in (0, idx):
                    item["is_deleted"] = True
            return Deletion.DONE

        done = self._update(msg_id, change)
        return None if done is None else done[1]

    # --- protection ------------------------------------------------------------------

    def protection(self, default: bool) -> bool:
        """Whether new mass sends wait for confirmation: as switched at run time, else ``default`` (the setting)."""
        switched = self.r.get(self._key("protection"))
        return default if switched is None else switched == b"1"

    def set_protection(self, on: bool) -> None:
        """Switch protection on or off for the mass sends that follow."""
        self.r.set(self._key("protection"), "1" if on else "0")

    # --- previews --------------------------------------------------------------------

    def preview(self, media_id: str, towxname: str, day: Period) -> dict[str, Any]:
        """message/mass/preview of a draft to one WeChat ID: the preview kept for the viewer.

        Raises `NoDraft`, `PreviewLimit` or `StorageFull`. The draft stays in the draft box.
        """
        draft = self.store.draft(media_id)
        if draft is None:
            raise NoDraft()
        counter = self._key("previews", "count", day.name)
        if not self._count(counter, day):
            raise PreviewLimit()
        record = {
            "msg_id": self._new_msg_id(),
            "towxname": towxname,
            "sent_at": self.store.clock(),
            "news_item": draft["news_item"],
        }
        raw = json.dumps(record, ensure_ascii=False)
        try:
            self.store.reserve(len(raw.encode()))
        except StorageFull:
            self.r.decr(counter)
            raise
        self.r.set(self._key("preview", str(record["msg_id"])), raw)
        kept = self._key("previews")
        self.r.rpush(kept, record["msg_id"])
        while int(self.r.llen(kept)) > PREVIEWS_KEPT:
            oldest = cast(bytes | None, self.r.lpop(kept))
            gone = self.r.getdel(self._key("preview", oldest.decode())) if oldest else None
            if gone is not None:
                self.store.release(len(gone))
        return record

    def previews(self) -> list[dict[str, Any]]:
        """The previews kept, newest first."""
        ids = self.r.lrange(self._key("previews"), 0, -1)
        found = [self.preview_sent(int(raw)) for raw in reversed(ids)]
        return [record for record in found if record is not None]

    def preview_sent(self, msg_id: int) -> dict[str, Any] | None:
        """One kept preview by its ``msg_id``, or None."""
        raw = self.r.get(self._key("preview", str(msg_id)))
        return None if raw is None else dict(json.loads(raw))
