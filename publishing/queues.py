"""The release queues on RQ: urgent > high > normal > low, one job per attempt at a delivery."""

from __future__ import annotations

import uuid
from datetime import datetime

from rq import Queue

from app.extensions import get_redis
from app.timeutil import utcnow

QUEUE_NAMES = ("urgent", "high", "normal", "low")
#: Long enough for a channel's own timeouts (10–15 s) and retries inside one attempt.
JOB_TIMEOUT = 120
DISPATCH_FUNC = "publishing.dispatch.run"
STAGE_FUNC = "publishing.dispatch.stage"


def queue(name: str) -> Queue:
    return Queue(name, connection=get_redis(), default_timeout=JOB_TIMEOUT)


def job_id(delivery_id: int, kind: str = "delivery") -> str:
    """Unique per enqueue; the sweeper reads the delivery id back from it."""
    return f"{kind}-{delivery_id}-{uuid.uuid4().hex[:12]}"


def delivery_of(job_id: str) -> int | None:
    """The delivery a `delivery-…` job works on (stage jobs do not count as keeping it alive)."""
    parts = job_id.split("-")
    if len(parts) == 3 and parts[0] == "delivery" and parts[1].isdigit():
        return int(parts[1])
    return None


def enqueue(delivery_id: int, priority: str, at: datetime | None = None, *, key: str | None = None) -> str:
    """Queue an attempt at a delivery, now or at `at` (RQ's scheduler moves it to its queue then).

    `key` (the delivery's own UUID) makes the job act only on that row: a job left in a Redis shared with
    another database cannot touch a stranger's delivery that happens to have the same id.
    """
    q = queue(priority)
    jid = job_id(delivery_id)
    options = {"job_id": jid, "result_ttl": 600, "failure_ttl": 7 * 86400, "description": f"delivery {delivery_id}"}
    if at is not None and at > utcnow():
        q.enqueue_at(at, DISPATCH_FUNC, delivery_id, key, **options)
    else:
        q.enqueue(DISPATCH_FUNC, delivery_id, key, **options)
    return jid


def enqueue_stage(delivery_id: int, priority: str, *, key: str | None = None) -> None:
    """Stage a scheduled delivery now, so only the final step is left for its go-live moment."""
    queue(priority).enqueue(STAGE_FUNC, delivery_id, key, job_id=job_id(delivery_id, "stage"), result_ttl=600,
                            description=f"stage delivery {delivery_id}")


def _ids(job_ids: list[str]) -> set[int]:
    # started-registry entries may carry an execution suffix after ':'
    found = (delivery_of(jid.split(":")[0]) for jid in job_ids)
    return {d for d in found if d is not None}


def live_jobs() -> tuple[set[int], set[int]]:
    """Deliveries with a job waiting (queued or scheduled), and those with a job running."""
    redis = get_redis()
    waiting: set[int] = set()
    running: set[int] = set()
    for name in QUEUE_NAMES:
        q = queue(name)
        queued = [i.decode() if isinstance(i, bytes) else i for i in redis.lrange(q.key, 0, -1)]
        waiting |= _ids(queued + q.scheduled_job_registry.get_job_ids())
        running |= _ids(q.started_job_registry.get_job_ids())
    return waiting, running


def depths() -> dict[str, int]:
    """Jobs waiting in each queue (for the office's queue page)."""
    return {name: queue(name).count for name in QUEUE_NAMES}
