"""The portal channel: our own public pages, plus the signed webhook to an external CMS when configured."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import requests
from flask import current_app

from app.signing import sign
from app.timeutil import utcnow
from publishing import corrections
from publishing.channels import Dispatch, PermanentError, Published, TransientError
from review import renderings

WEBHOOK_TIMEOUT = 10  # interface §4: a request times out after at most 10 s
MAX_ANSWER = 64 * 1024  # a CMS's answer is a small JSON object; more is not read


class PortalChannel:
    """Built-in pages go live in the settling transaction; the webhook, if any, must answer 2xx first."""

    name = "portal"

    def stage(self, job: Dispatch) -> None:
        """Nothing to prepare: the pages render from the approved revision."""

    def prepare(self, job: Dispatch) -> dict[str, Any]:
        """Stored with the claim of the attempt that publishes: the webhook's `published_at`, fixed once so
        every retry sends the same body (interface §4), at no commit of its own."""
        if current_app.config.get("PORTAL_WEBHOOK_URL") and job.data.get("published_at") is None:
            return {"published_at": utcnow().isoformat()}
        return {}

    def publish(self, job: Dispatch) -> Published:
        url = job.portal_url
        webhook = current_app.config.get("PORTAL_WEBHOOK_URL")
        if not webhook:
            return Published(url=url)
        published_at = job.data.get("published_at")
        if published_at is None:  # fixed at the first attempt so every retry sends the same body
            published_at = utcnow().isoformat()
            job.remember(published_at=published_at)
        original = job.extra.get("corrects")
        answer = self._post(webhook, job.delivery_key, {
            "event": "statement.published",
            "statement_id": job.statement_id,
            "revision_hash": job.revision_hash,
            "title": job.title,
            "digest": job.digest,
            # a correction opens with its 更正说明 on the CMS's page too
            "html": (corrections.notice_html(original) if original else "") + renderings.html("portal", job.body),
            "published_at": published_at,
            "ledger_seq": None,
            "url": url,
            "corrects": {k: original[k] for k in ("statement_id", "title", "url")} if original else None,
        })
        their_url = answer.get("url") if isinstance(answer, dict) else None
        if isinstance(their_url, str) and their_url.startswith(("https://", "http://")) and len(their_url) <= 512:
            url = their_url
        return Published(url=url, details={"webhook": webhook})

    def retract(self, job: Dispatch) -> None:
        webhook = current_app.config.get("PORTAL_WEBHOOK_URL")
        if not webhook:
            return
        self._post(webhook, str(uuid.uuid5(uuid.UUID(job.delivery_key), "retract")), {
            "event": "statement.retracted",
            "statement_id": job.statement_id,
            "revision_hash": job.revision_hash,
            "title": job.title,
            "digest": job.digest,
            "html": "",
            "published_at": job.data.get("published_at"),
            "ledger_seq": job.extra.get("ledger_seq"),
            "url": job.portal_url,
            "reason": job.reason,
        })

    def _post(self, webhook: str, key: str, payload: dict[str, Any]) -> Any:
        raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Huiying-Delivery": key,
            "X-Huiying-Timestamp": timestamp,
            "X-Huiying-Signature": sign(current_app.config.get("PORTAL_WEBHOOK_SECRET") or "", timestamp, raw),
            "User-Agent": "Huiying/1 (+portal webhook)",
        }
        deadline = time.monotonic() + WEBHOOK_TIMEOUT
        try:
            with requests.post(webhook, data=raw, headers=headers, timeout=(3, WEBHOOK_TIMEOUT),
                               allow_redirects=False, stream=True) as resp:
                content = _read_within(resp, deadline)
        except (requests.Timeout, TimeoutError):
            raise TransientError(f"门户推送超时（{WEBHOOK_TIMEOUT} 秒）") from None
        except (requests.RequestException, OSError) as error:
            raise TransientError(f"门户推送连接失败：{type(error).__name__}") from None
        if resp.status_code >= 500 or resp.status_code in (408, 425, 429):
            raise TransientError(f"门户推送返回 HTTP {resp.status_code}")
        if not 200 <= resp.status_code < 300:
            snippet = content[:200].decode("utf-8", "replace")
            raise PermanentError(f"门户推送被拒绝：HTTP {resp.status_code} {snippet}")
        try:
            return json.loads(content)
        except (ValueError, RecursionError):  # a 2xx is success whatever its body; only {"url": …} is used
            return None


def _read_within(resp: requests.Response, deadline: float) -> bytes:
    """The answer's body against one total deadline (requests' own timeout is per silent gap), ≤ 64 KiB."""
    body = bytearray()
    while len(body) < MAX_ANSWER:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        conn = resp.raw.connection
        if conn is not None and conn.sock is not None:
            conn.sock.settimeout(remaining)
        chunk = resp.raw.read1(MAX_ANSWER - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body)
