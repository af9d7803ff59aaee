"""The sandbox account's whole state, kept in Redis so every web process sees one account.

Tokens, images, permanent materials, drafts, publish jobs, published articles, armed
faults and the call log all live under ``huiying:wxsandbox:`` (mass sends and previews too, kept by
`wechat.sandbox.mass` through this store). Nothing is held in
process memory: gunicorn may answer consecutive calls from different processes.
Time-dependent answers (token expiry, a publish job finishing) are decided lazily
from timestamps stored here, so no background process is needed.

Nothing grows without bound: what callers bring (images, materials, drafts and the
articles they become) is counted against ``max_bytes``, and the remembered tokens, the
armed faults and the call log are capped in number.
"""

from __future__ import annotations

import enum
import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis

PREFIX = "huiying:wxsandbox:"

#: How long a superseded token stays usable, as the official platform promises.
TOKEN_OVERLAP = 300
#: How long an expired token is remembered, so it answers 42001 rather than 40001.
TOKEN_MEMORY = 86_400
#: The call log keeps this many most recent calls.
CALL_LOG_SIZE = 1000
#: Issued tokens remembered (anyone with the account's secret may ask for a new one at any rate).
TOKENS_KEPT = 1000
#: Faults armed at once.
FAULTS_MAX = 100
#: Publish ids and message ids look like real ones (large integers).
ID_BASE = 2_247_483_000


class TokenState(enum.Enum):
    """What an access token presented with a call turns out to be."""

    VALID = "valid"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


class PublishStatus(enum.IntEnum):
    """``publish_status`` values of freepublish/get and the PUBLISHJOBFINISH event."""

    SUCCESS = 0
    PUBLISHING = 1
    ORIGINALITY_FAILED = 2
    FAILED = 3
    REJECTED = 4
    DELETED_BY_USER = 5
    BANNED = 6


class StorageFull(Exception):
    """Keeping this would take the sandbox past its ``max_bytes``; nothing was stored."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class TooManyFaults(Exception):
    """`FAULTS_MAX` faults are armed already."""


class Store:
    """Typed access to the sandbox's Redis keys; one instance per request is cheap.

    ``clock`` is the sandbox's time, `Store.now` unless given: a test that replaces `Store.now` moves every
    store the app makes (requests, timers) to its own time. ``max_bytes`` bounds what callers' data takes in
    all (None: no bound, for tests of other rules).
    """

    @staticmethod
    def now() -> float:
        """The wall clock; tests put a frozen one in its place."""
        return time.time()

    def __init__(self, client: redis.Redis, clock: Callable[[], float] | None = None,
                 max_bytes: int | None = None) -> None:
        self.r = client
        self.clock = clock or Store.now
        self.max_bytes = max_bytes

    @staticmethod
    def key(*parts: str) -> str:
        """The full Redis key for ``parts`` under the sandbox prefix."""
        return PREFIX + ":".join(parts)

    def _get_json(self, *parts: str) -> Any:
        raw = self.r.get(self.key(*parts))
        return None if raw is None else json.loads(raw)

    def _set_json(self, value: Any, *parts: str) -> None:
        self.r.set(self.key(*parts), json.dumps(value, ensure_ascii=False))

    # --- what is stored, counted ------------------------------------------------------

    def stored_bytes(self) -> int:
        """Bytes of callers' data the sandbox keeps now (images, materials, drafts, articles)."""
        return int(self.r.get(self.key("stored_bytes")) or 0)

    def reserve(self, size: int) -> None:
        """Count ``size`` more bytes, or raise `StorageFull` and count nothing (atomic across processes)."""
        used = self.r.incrby(self.key("stored_bytes"), size)
        if self.max_bytes is not None and used > self.max_bytes:
            self.r.decrby(self.key("stored_bytes"), size)
            raise StorageFull(self.max_bytes)

    def release(self, size: int) -> None:
        """Stop counting ``size`` bytes (what they were kept for is gone)."""
        self.r.decrby(self.key("stored_bytes"), size)

    # --- access tokens -------------------------------------------------------------

    def _new_token(self, ttl: int) -> str:
        token = secrets.token_urlsafe(96)
        self.r.set(self.key("token", token), self.clock() + ttl, ex=ttl + TOKEN_MEMORY)
        tokens = self.key("tokens")
        self.r.zadd(tokens, {token: self.clock()})
        # Only the newest are remembered: an older one answers 40001, as a token never issued would.
        for raw, _score in self.r.zpopmin(tokens, max(self.r.zcard(tokens) - TOKENS_KEPT, 0)) or []:
            self.r.delete(self.key("token", raw.decode()))
        return token

    def _expires_at(self, token: str) -> float | None:
        raw = self.r.get(self.key("token", token))
        return None if raw is None else float(raw)

    def issue_token(self, ttl: int) -> tuple[str, int]:
        """cgi-bin/token: always a new token; the previous one stays valid 5 more minutes."""
        previous = self.r.get(self.key("current_token", "plain"))
        if previous is not None:
            previous_token = previous.decode()
            expires_at = self._expires_at(previous_token)
            if expires_at is not None:
                cut = min(expires_at, self.clock() + TOKEN_OVERLAP)
                self.r.set(self.key("token", previous_token), cut, keepttl=True)
        token = self._new_token(ttl)
        self.r.set(self.key("current_token", "plain"), token)
        return token, ttl

    def stable_token(self, ttl: int, force_refresh: bool) -> tuple[str, int]:
        """cgi-bin/stable_token: the same token while it has over 5 minutes left.

        ``force_refresh`` voids the current token at once, as the official API does.
        """
        current = self.r.get(self.key("current_token", "stable"))
        if current is not None:
            token = current.decode()
            expires_at = self._expires_at(token)
            if force_refresh:
                self.r.delete(self.key("token", token))
            elif expires_at is not None and expires_at - self.clock() > TOKEN_OVERLAP:
                return token, int(expires_at - self.clock())
        token = self._new_token(ttl)
        self.r.set(self.key("current_token", "stable"), token)
        return token, ttl

    def token_state(self, token: str) -> TokenState:
        """Whether ``token`` may be used now, has expired, or was never issued."""
        expires_at = self._expires_at(token)
        if expires_at is None:
            return TokenState.UNKNOWN
        return TokenState.VALID if self.clock() < expires_at else TokenState.EXPIRED

    def expire_tokens(self) -> int:
        """Make every issued token expired now (a fault switch); returns how many."""
        now = self.clock()
        expired = 0
        for raw in self.r.zrange(self.key("tokens"), 0, -1):
            token = raw.decode()
            if self.r.set(self.key("token", token), now, keepttl=True, xx=True):
                expired += 1
            else:
                self.r.zrem(self.key("tokens"), token)
        return expired

    # --- images and permanent materials -----------------------------------------------

    def put_image(self, data: bytes, content_type: str, ext: str) -> str:
        """Keep image bytes; returns the file name they are served under. Raises `StorageFull`."""
        self.reserve(len(data))
        name = f"{secrets.token_hex(16)}.{ext}"
        self.r.hset(self.key("media", name), mapping={"type": content_type, "data": data})
        return name

    def image(self, name: str) -> tuple[bytes, str] | None:
        """The bytes and content type of an image kept by `put_image`."""
        found = self.r.hgetall(self.key("media", name))
        if not found:
            return None
        return found[b"data"], found[b"type"].decode()

    def add_material(self, url: str) -> str:
        """Register a permanent image material; returns its ``media_id``. Raises `StorageFull`."""
        media_id = secrets.token_urlsafe(48)
        material = {"url": url, "created_at": self.clock()}
        self.reserve(len(json.dumps(material)) + len(media_id))
        self._set_json(material, "material", media_id)
        return media_id

    def material_url(self, media_id: str) -> str | None:
        """The URL of a permanent material, or None when no such material exists."""
        material = self._get_json("material", media_id)
        return None if material is None else material["url"]

    # --- drafts ----------------------------------------------------------------------

    def add_draft(self, news_item: list[dict[str, Any]]) -> str:
        """Save a draft of one or more articles; returns its ``media_id``. Raises `StorageFull`.

        Its bytes stay counted when it is published: the article is the same text.
        """
        media_id = secrets.token_urlsafe(48)
        now = self.clock()
        draft = {"news_item": news_item, "create_time": int(now), "update_time": int(now)}
        self.reserve(len(json.dumps(draft, ensure_ascii=False).encode()))
        self._set_json(draft, "draft", media_id)
        self.r.zadd(self.key("drafts"), {media_id: now})
        return media_id

    def draft(self, media_id: str) -> dict[str, Any] | None:
        """A draft by ``media_id``, or None when absent (never created, deleted, published)."""
        return self._get_json("draft", media_id)

    def delete_draft(self, media_id: str) -> bool:
        """Remove a draft (its bytes no longer count); False when there was none."""
        self.r.zrem(self.key("drafts"), media_id)
        raw = self.r.getdel(self.key("draft", media_id))
        if raw is None:
            return False
        self.release(len(raw))
        return True

    def drafts(self, offset: int, count: int) -> tuple[int, list[tuple[str, dict[str, Any]]]]:
        """The total number of drafts and one page of them, newest first."""
        total = self.r.zcard(self.key("drafts"))
        ids = [raw.decode() for raw in self.r.zrevrange(self.key("drafts"), offset, offset + count - 1)]
        page = [(media_id, self.draft(media_id)) for media_id in ids]
        return total, [(media_id, draft) for media_id, draft in page if draft is not None]

    def take_draft(self, media_id: str) -> list[dict[str, Any]] | None:
        """Take a draft's articles out of the draft box to publish or mass-send them; None when absent.

        GETDEL, so two concurrent calls cannot both take one draft. Its bytes stay counted: the articles
        it becomes are the same text.
        """
        raw = self.r.getdel(self.key("draft", media_id))
        if raw is None:
            return None
        self.r.zrem(self.key("drafts"), media_id)
        news_item: list[dict[str, Any]] = json.loads(raw)["news_item"]
        return news_item

    def next_msg_data_id(self) -> int:
        """A new ``msg_data_id`` (the ``mid`` of article URLs): one sequence for publications and mass sends."""
        return ID_BASE + int(self.r.incr(self.key("seq", "publish")))

    # --- publishing ------------------------------------------------------------------

    def submit(
        self,
        media_id: str,
        delay: float,
        outcome: PublishStatus,
        article_url: Callable[[str, int], str],
    ) -> dict[str, Any] | None:
        """Turn a draft into a publish job that ends with ``outcome`` after ``delay`` seconds.

        The draft leaves the draft box at once (GETDEL, so two concurrent submits of one
        draft cannot both succeed). Returns the job, or None when there is no such draft.
        """
        news_item = self.take_draft(media_id)
        if news_item is None:
            return None
        now = self.clock()
        ready_at = now + delay
        msg_data_id = self.next_msg_data_id()
        job: dict[str, Any] = {
            "publish_id": str(msg_data_id),
            "msg_data_id": msg_data_id,
            "submitted_at": now,
            "ready_at": ready_at,
            "outcome": int(outcome),
            "article_id": "",
            "count": len(news_item),
        }
        if outcome in (PublishStatus.SUCCESS, PublishStatus.DELETED_BY_USER, PublishStatus.BANNED):
            article_id = secrets.token_urlsafe(24)
            deleted = outcome != PublishStatus.SUCCESS
            items = [
                {**item, "url": article_url(article_id, idx), "is_deleted": deleted}
                for idx, item in enumerate(news_item, start=1)
            ]
            article = {
                "article_id": article_id,
                "publish_id": job["publish_id"],
                "published_at": ready_at,
                "news_item": items,
            }
            self._set_json(article, "article", article_id)
            if not deleted:
                self.r.zadd(self.key("articles"), {article_id: ready_at})
            job["article_id"] = article_id
        self._set_json(job, "publish", job["publish_id"])
        return job

    def publish_job(self, publish_id: str) -> dict[str, Any] | None:
        """A publish job by ``publish_id``, or None."""
        return self._get_json("publish", publish_id)

    def article(self, article_id: str) -> dict[str, Any] | None:
        """A published article by ``article_id``; None also while its job is still running."""
        article = self._get_json("article", article_id)
        if article is None or article["published_at"] > self.clock():
            return None
        return article

    def articles(self, offset: int, count: int) -> tuple[int, list[dict[str, Any]]]:
        """Published articles not wholly deleted: their total and one page, newest first."""
        now = self.clock()
        key = self.key("articles")
        total = self.r.zcount(key, "-inf", now)
        ids = self.r.zrevrangebyscore(key, now, "-inf", start=offset, num=count)
        page = [self.article(raw.decode()) for raw in ids]
        return total, [article for article in page if article is not None]

    def delete_article(self, article_id: str, index: int) -> bool:
        """Mark item ``index`` (1-based; 0 = all) of a published article deleted.

        False when there is no such article or item.
        """
        article = self.article(article_id)
        items = [] if article is None else article["news_item"]
        if not items or not 0 <= index <= len(items):
            return False
        for idx, item in enumerate(items, start=1):
            if index in (0, idx):
                item["is_deleted"] = True
        self._set_json(article, "article", article_id)
        if all(item["is_deleted"] for item in items):
            self.r.zrem(self.key("articles"), article_id)
        return True

    def alter_article(self, article_id: str, find: str, replace: str) -> bool:
        """Change the text of a published article, as a platform (or an intruder) might: the read-back
        must notice. False when there is no such article or the text does not occur in it."""
        article = self.article(article_id)
        if article is None or not any(find in item["content"] for item in article["news_item"]):
            return False
        for item in article["news_item"]:
            item["content"] = item["content"].replace(find, replace)
        self._set_json(article, "article", article_id)
        return True

    # --- faults ----------------------------------------------------------------------

    def add_fault(self, spec: dict[str, Any], times: int) -> str:
        """Arm a fault that fires on the next ``times`` matching calls; `TooManyFaults` past `FAULTS_MAX`."""
        if self.r.llen(self.key("faults")) >= FAULTS_MAX:
            raise TooManyFaults()
        fault_id = secrets.token_hex(8)
        self._set_json({**spec, "id": fault_id}, "fault", fault_id)
        self.r.set(self.key("fault", fault_id, "left"), times)
        self.r.rpush(self.key("faults"), fault_id)
        return fault_id

    def take_fault(self, path: str, modes: frozenset[str]) -> dict[str, Any] | None:
        """Consume one firing of the oldest armed fault matching ``path`` and ``modes``.

        The count-down is a Redis DECR, so concurrent processes never fire a fault
        more often than it was armed for.
        """
        for raw in self.r.lrange(self.key("faults"), 0, -1):
            fault_id = raw.decode()
            spec = self._get_json("fault", fault_id)
            if spec is None:
                self.r.lrem(self.key("faults"), 0, fault_id)
                continue
            if spec["mode"] not in modes or spec["path"] not in (path, "*"):
                continue
            left = self.r.decr(self.key("fault", fault_id, "left"))
            if left <= 0:
                self._drop_fault(fault_id)
            if left >= 0:
                return spec
        return None

    def _drop_fault(self, fault_id: str) -> None:
        self.r.lrem(self.key("faults"), 0, fault_id)
        self.r.delete(self.key("fault", fault_id), self.key("fault", fault_id, "left"))

    def faults(self) -> list[dict[str, Any]]:
        """The armed faults, oldest first, each with the firings it has left."""
        armed = []
        for raw in self.r.lrange(self.key("faults"), 0, -1):
            fault_id = raw.decode()
            spec = self._get_json("fault", fault_id)
            left = self.r.get(self.key("fault", fault_id, "left"))
            if spec is not None and left is not None:
                armed.append({**spec, "times": int(left)})
        return armed

    def clear_faults(self) -> None:
        """Disarm every fault."""
        for raw in self.r.lrange(self.key("faults"), 0, -1):
            self._drop_fault(raw.decode())
        self.r.delete(self.key("faults"))

    # --- call log --------------------------------------------------------------------

    def log_call(self, path: str, errcode: int | None, status: int) -> None:
        """Append one API call to the log tests read through ``GET /_calls``."""
        entry = {
            "path": path,
            "at": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
            "errcode": errcode,
            "status": status,
        }
        key = self.key("calls")
        self.r.rpush(key, json.dumps(entry))
        self.r.ltrim(key, -CALL_LOG_SIZE, -1)

    def calls(self) -> list[dict[str, Any]]:
        """Logged calls, oldest first."""
        return [json.loads(raw) for raw in self.r.lrange(self.key("calls"), 0, -1)]

    def clear_calls(self) -> None:
        """Forget the call log."""
        self.r.delete(self.key("calls"))
