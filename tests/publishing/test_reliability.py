"""The outbox under failure, with real `huiying worker` processes (DESIGN.md, "Mechanisms that must be right").

Each test starts workers as the operator would (`huiying worker`, short lease and sweep), drives approvals
through the API, breaks something — a worker killed mid-send, a job RQ lost, Redis emptied, a webhook that
fails, hangs or answers nonsense, two workers on one delivery — and checks what the office and an integrating
CMS see: every approved statement goes out, once, under one delivery key, on one ledger entry.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis as redis_lib
from flask import Flask
from rq.job import Job
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from app.extensions import db
from publishing import queues
from publishing.models import Delivery
from review.lifecycle import release_step
from review.models import Decision, Revision, Statement
from tests.factories import Office
from tests.publishing.workers import (
    LEASE_SECONDS,
    SWEEP_SECONDS,
    WEBHOOK_SECRET,
    Hit,
    Reply,
    Webhook,
    Workers,
    idle_workers,
    serve_webhook,
)

pytestmark = pytest.mark.slow

DEFAULT_URL = "http://huiying.test/releases/{}"


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    yield from serve_webhook()


@pytest.fixture
def app_config(webhook: Webhook) -> dict[str, Any]:
    """The test process's app sees what the workers see."""
    return {"DELIVERY_LEASE_SECONDS": LEASE_SECONDS, "SWEEP_INTERVAL_SECONDS": SWEEP_SECONDS,
            "PORTAL_WEBHOOK_URL": webhook.url, "PORTAL_WEBHOOK_SECRET": WEBHOOK_SECRET}


@pytest.fixture
def workers(app: Flask, database_url: str, tmp_path: Any, webhook: Webhook) -> Iterator[Workers]:
    pool = Workers(database_url, tmp_path, webhook)
    try:
        yield pool
    finally:
        pool.stop_all()
        print(pool.logs())  # shown with the report only when the test failed


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


# --- what the test reads back ------------------------------------------------------------------------------------


def delivery_row(app: Flask, statement_id: int, channel: str = "portal") -> dict[str, Any]:
    """The outbox row as plain values, read in a fresh transaction."""
    with app.app_context():
        d = db.session.scalar(select(Delivery).where(Delivery.statement_id == statement_id,
                                                     Delivery.channel == channel))
        assert d is not None
        return {"id": d.id, "state": d.state, "attempts": d.attempts, "key": d.delivery_key, "url": d.url,
                "last_error": d.last_error, "next_attempt_at": d.next_attempt_at, "lease_until": d.lease_until,
                "published_at": d.published_at, "due_at": d.due_at}


def statement(office: Office, statement_id: int) -> dict[str, Any]:
    resp = office.drafter.get(f"/statements/{statement_id}")
    assert resp.status_code == 200
    return resp.get_json()


def published(office: Office, statement_id: int) -> dict[str, Any] | None:
    st = statement(office, statement_id)
    return st if st["status"] == "published" else None


def ledger(office: Office) -> list[dict[str, Any]]:
    body = office.expert.get("/ledger?limit=1000").get_json()
    return body["entries"]


def ledger_verifies(office: Office) -> bool:
    return office.expert.get("/ledger/verify").get_json()["ok"] is True


def published_entries(office: Office, statement_id: int) -> list[dict[str, Any]]:
    return [e for e in ledger(office) if e["kind"] == "published" and e["statement_id"] == statement_id]


WEBHOOK_FIELDS = {"event", "statement_id", "revision_hash", "title", "digest", "html", "published_at", "ledger_seq",
                  "url"}


def assert_one_delivery_key(hits: list[Hit], key: str) -> None:
    """Every request carried the row's idempotency key, a fresh timestamp and a valid signature (interface §4)."""
    assert hits, "the webhook was never called"
    assert {h.key for h in hits} == {key}
    for hit in hits:
        assert hit.signature_ok(), hit.headers
        assert hit.signature_ok("another secret") is False  # the check above can fail
        assert abs(int(hit.headers["X-Huiying-Timestamp"]) - hit.at) < 60
        assert hit.json()["event"] == "statement.published"


def assert_webhook_body(hit: Hit, st: dict[str, Any]) -> None:
    """The published event as interface §4 spells it, for exactly the approved revision."""
    body = hit.json()
    assert WEBHOOK_FIELDS <= body.keys(), body.keys()
    assert body["statement_id"] == st["id"] and body["revision_hash"] == st["revision"]["hash"]
    assert body["title"] == st["title"] and body["digest"] == st["digest"] and "网传信息不实" in body["html"]
    assert body["url"] == DEFAULT_URL.format(st["id"]) and body["ledger_seq"] is None
    assert datetime.fromisoformat(body["published_at"]).tzinfo is not None


# --- 1. kill -9 mid-send ------------------------------------------------------------------------------------------


def test_worker_killed_mid_send_the_next_worker_finishes_once(
    app: Flask, office: Office, webhook: Webhook, workers: Workers
) -> None:
    webhook.script(Reply(delay=5))  # the first send stays open long enough to kill its worker under it
    first = workers.start()
    st = office.approved(channels=["portal"])
    hit = workers.wait("the first webhook request", webhook.requests)[0]
    in_flight = delivery_row(app, st["id"])
    assert in_flight["state"] == "sending" and not hit.answered

    first.kill()
    assert not first.alive() and not hit.answered  # died with the request open: outcome unknown
    workers.start()

    st = workers.wait("the statement to be published by the second worker", lambda: published(office, st["id"]))
    workers.settle()
    hits = webhook.requests()
    row = delivery_row(app, st["id"])
    assert row["state"] == "published" and row["url"] == DEFAULT_URL.format(st["id"])
    assert 1 <= row["attempts"] <= 2
    assert len(hits) == 2, [h.json() for h in hits]  # the killed send and the one that finished; no more
    assert_one_delivery_key(hits, row["key"])
    assert hits[0].body == hits[1].body  # same published_at on every retry, so the CMS can dedupe on it too
    assert_webhook_body(hits[0], st)
    assert hits[1].answered
    assert len(published_entries(office, st["id"])) == 1 and len(ledger(office)) == 1
    assert st["ledger_seq"] == 1 and ledger_verifies(office)


# --- 2. a job RQ lost -----------------------------------------------------------------------------------------------


def test_job_lost_by_rq_is_swept_back_and_published(
    app: Flask, office: Office, workers: Workers, redis_client: redis_lib.Redis
) -> None:
    st = office.approved(channels=["portal"], priority="high")
    row = delivery_row(app, st["id"])
    with app.app_context():
        queue = queues.queue("high")
        job_ids = queue.get_job_ids()
    assert len(job_ids) == 1 and queues.delivery_of(job_ids[0]) == row["id"]
    # what a worker dying between pop and start leaves behind: no job anywhere, the row still pending
    assert redis_client.lrem(queue.key, 0, job_ids[0]) == 1
    redis_client.delete(Job.key_for(job_ids[0]))
    with app.app_context():
        assert queues.live_jobs() == (set(), set())

    workers.start(webhook=False)
    st = workers.wait("the sweeper to bring the lost delivery back", lambda: published(office, st["id"]))
    assert st["deliveries"][0]["state"] == "published" and st["deliveries"][0]["attempts"] == 1
    assert len(published_entries(office, st["id"])) == 1
    workers.settle()  # the job is marked finished after its commit (and after it queues the read-back)
    with app.app_context():
        finished = queues.queue("high").finished_job_registry.get_job_ids()
    assert job_ids[0] not in finished and [queues.delivery_of(j) for j in finished] == [row["id"]]


# --- 3. Redis emptied between approval and go-live ------------------------------------------------------------


def test_redis_flushed_before_go_live_loses_nothing(
    app: Flask, office: Office, workers: Workers, redis_client: redis_lib.Redis
) -> None:
    go_live = (datetime.now(UTC) + timedelta(seconds=6)).replace(microsecond=0)
    scheduled = office.approved(channels=["portal"], go_live_at=go_live.isoformat())
    now = office.approved(channels=["portal"], title="关于网传玉米品种问题的回应")
    assert scheduled["status"] == "scheduled" and now["status"] == "approved"
    assert redis_client.dbsize() > 0
    redis_client.flushdb()  # a non-persistent Redis restarting: every queue, job and schedule gone
    with app.app_context():  # and a stray job that runs long before go-live must not publish early
        queues.enqueue(delivery_row(app, scheduled["id"])["id"], "normal")

    workers.start(webhook=False)
    workers.wait("both statements to be published",
                 lambda: published(office, now["id"]) and published(office, scheduled["id"]))
    for st in (scheduled, now):
        row = delivery_row(app, st["id"])
        assert row["state"] == "published" and row["attempts"] == 1
        assert len(published_entries(office, st["id"])) == 1
    assert delivery_row(app, scheduled["id"])["published_at"] >= go_live  # not a moment before go-live
    assert ledger_verifies(office)


# --- 4. transient failures, then success -------------------------------------------------------------------------


def test_webhook_503_twice_then_200_is_one_success(
    app: Flask, office: Office, webhook: Webhook, workers: Workers
) -> None:
    webhook.script(Reply(503, b"busy"), Reply(503, b"busy"))
    workers.start()
    st = office.approved(channels=["portal"])
    st = workers.wait("the third attempt to publish", lambda: published(office, st["id"]))
    workers.settle()
    hits = webhook.requests()
    row = delivery_row(app, st["id"])

    assert len(hits) == 3
    assert_one_delivery_key(hits, row["key"])
    assert len({h.body for h in hits}) == 1
    assert_webhook_body(hits[0], st)
    assert hits[1].at - hits[0].at < 10  # interface §4: the first retry of a transient failure within 10 s
    assert hits[2].at > hits[1].at
    assert row["attempts"] == 3 and row["last_error"] is None and row["state"] == "published"
    assert len(published_entries(office, st["id"])) == 1 and len(ledger(office)) == 1


# --- 5. two workers, one delivery, many jobs ---------------------------------------------------------------------


def test_two_workers_racing_send_once(
    app: Flask, office: Office, webhook: Webhook, workers: Workers, redis_client: redis_lib.Redis
) -> None:
    webhook.respond = lambda hit, index: Reply(delay=1.0)  # a send slow enough for the other worker to try
    workers.start()
    workers.start()
    workers.wait("two idle workers", lambda: idle_workers(redis_client) >= 2)

    st = office.approved(channels=["portal"])
    row = delivery_row(app, st["id"])
    with app.app_context():
        for _ in range(6):
            queues.enqueue(row["id"], "normal")

    workers.wait("the statement to be published", lambda: published(office, st["id"]))
    workers.settle()
    hits = webhook.requests()
    assert len(hits) == 1
    assert_one_delivery_key(hits, row["key"])

    with app.app_context():
        job_ids = queues.queue("normal").finished_job_registry.get_job_ids()
    jobs = [job for job in Job.fetch_many(job_ids, connection=redis_client) if job is not None]
    assert len(jobs) == 7  # the approval's job and our six duplicates
    outcomes = sorted(job.return_value() for job in jobs)
    assert outcomes == ["not claimed"] * 6 + ["published"]
    assert len({job.worker_name for job in jobs}) == 2, "both workers should have taken jobs for the delivery"
    assert delivery_row(app, st["id"])["attempts"] == 1
    assert len(published_entries(office, st["id"])) == 1 and len(ledger(office)) == 1


# --- 6. priority ------------------------------------------------------------------------------------------------


def test_urgent_overtakes_a_queue_of_low(app: Flask, office: Office, workers: Workers) -> None:
    lows = [office.approved(channels=["portal"], priority="low", title=f"低优先级说明 {i}")["id"] for i in range(2)]
    lows += _approved_like(app, lows[0], 198)
    urgent = office.approved(channels=["portal"], priority="urgent", title="紧急回应")["id"]
    with app.app_context():
        assert queues.depths() == {"urgent": 1, "high": 0, "normal": 0, "low": 200}

    workers.start(webhook=False)
    workers.wait("the urgent statement and a few lows to be published",
                 lambda: published(office, urgent) and _published_times(app, lows, 3))
    urgent_at = delivery_row(app, urgent)["published_at"]
    before = [at for at in _published_times(app, lows, 0) if at < urgent_at]
    assert len(before) <= 1, f"{len(before)} low statements went out before the urgent one"


def _approved_like(app: Flask, template_id: int, count: int) -> list[int]:
    """`count` more statements approved like the template, at database speed (the API takes ~0.4 s each).

    Review is skipped — its rows are copied — but the declared release step runs exactly as the leader's decision
    runs it, so publishing stages each release and enqueues it after the commit through its own code.
    """
    def columns(row: Any, *skip: str) -> dict[str, Any]:
        return {c.key: getattr(row, c.key) for c in sa_inspect(type(row)).column_attrs
                if c.key not in ("id", *skip)}

    with app.app_context():
        template = db.session.get(Statement, template_id)
        assert template is not None and template.status == "approved"
        rev, leader = template.approved_revision, template.release.approved_by
        ids = []
        for _ in range(count):
            st = Statement(**columns(template, "current_revision_id", "approved_revision_id"))
            db.session.add(st)
            db.session.flush()
            copy = Revision(**columns(rev, "statement_id"), statement_id=st.id)
            db.session.add(copy)
            db.session.flush()
            st.current_revision, st.approved_revision = copy, copy
            db.session.add_all(Decision(**columns(d, "statement_id", "revision_id"), statement_id=st.id,
                                        revision_id=copy.id) for d in template.decisions)
            db.session.flush()
            release_step()(st, leader)
            ids.append(st.id)
        db.session.commit()
    return ids


def _published_times(app: Flask, statement_ids: list[int], at_least: int) -> list[datetime]:
    with app.app_context():
        times = list(db.session.scalars(select(Delivery.published_at).where(
            Delivery.statement_id.in_(statement_ids), Delivery.published_at.is_not(None))))
    return times if len(times) >= at_least else []


# --- 7. a webhook that answers nonsense, hangs, or refuses -------------------------------------------------------


def postgresql_only(database_url: str) -> None:
    """The portal channel's handling of an answer does not touch the database differently per backend; these
    slow tests run once, on the production backend, to keep the suite within its time budget."""
    if not database_url.startswith("postgresql"):
        pytest.skip("channel behaviour independent of the backend: run on PostgreSQL only (time budget)")


def test_webhook_garbage_answers_use_the_default_url(
    app: Flask, office: Office, webhook: Webhook, workers: Workers, database_url: str
) -> None:
    postgresql_only(database_url)
    answers = {
        "not json": Reply(200, b"<html>ok</html>"),
        "url not a string": Reply(200, {"url": 5}),
        "url not http": Reply(200, {"url": "javascript:alert(1)"}),
        "empty": Reply(204, b""),
        "nested too deep": Reply(200, b"[" * 100_000),
        "their url": Reply(200, {"url": "https://cms.example.org/news/1"}),
    }
    webhook.respond = lambda hit, index: answers[hit.json()["digest"]]
    workers.start()
    ids = {name: office.approved(channels=["portal"], digest=name)["id"] for name in answers}

    workers.wait("every statement to be published", lambda: all(published(office, i) for i in ids.values()),
                 timeout=12, fail=False)
    for name, statement_id in ids.items():
        expected = "https://cms.example.org/news/1" if name == "their url" else DEFAULT_URL.format(statement_id)
        portal = statement(office, statement_id)["deliveries"][0]
        assert portal["state"] == "published", f"2xx answer {name!r} not taken as success: {portal}"
        assert portal["url"] == expected, name
        assert portal["attempts"] == 1 and portal["last_error"] is None, name
    workers.settle()
    assert len(webhook.requests()) == len(answers)
    # (the read-back of cms.example.org's page, if the network reaches it, may add a `readback_mismatch`)
    assert [e["kind"] for e in ledger(office) if e["kind"] != "readback_mismatch"] == ["published"] * len(answers)


def test_webhook_hanging_past_the_timeout_is_retried_not_lost(
    app: Flask, office: Office, webhook: Webhook, workers: Workers, database_url: str
) -> None:
    postgresql_only(database_url)
    webhook.script(Reply(delay=15))  # longer than the 10 s timeout; then answers 200
    workers.start()
    st = office.approved(channels=["portal"])
    seen: list[dict[str, Any]] = []

    def watch() -> dict[str, Any] | None:
        row = delivery_row(app, st["id"])
        seen.append(row)
        return row if row["state"] == "published" else None

    row = workers.wait("the retry to publish", watch, timeout=40, every=0.05)
    workers.settle()
    hits = webhook.requests()
    retrying = [r for r in seen if r["state"] == "pending" and r["attempts"] == 1]
    assert retrying, "the timed-out attempt should have been recorded and given back for a retry"
    assert "超时" in retrying[0]["last_error"] and "10" in retrying[0]["last_error"]
    assert retrying[0]["next_attempt_at"] is not None
    assert not any(r["state"] == "failed" for r in seen)

    assert len(hits) == 2 and not hits[0].answered
    assert_one_delivery_key(hits, row["key"])
    gap = hits[1].at - hits[0].at
    assert 9.5 <= gap < 10 + 10, gap  # gave up after ~10 s, retried within 10 s of that
    assert row["attempts"] == 2 and row["last_error"] is None
    assert len(published_entries(office, st["id"])) == 1


def test_webhook_trickling_its_answer_still_times_out_within_10_s(
    app: Flask, office: Office, webhook: Webhook, workers: Workers, database_url: str
) -> None:
    """interface §4: "a request times out after at most 10 s" — a total, not a limit on each silent gap.

    Otherwise a slow CMS holds a worker (and the claim) for as long as it likes, past the lease, and a second
    worker sends the same statement concurrently.
    """
    postgresql_only(database_url)
    webhook.script(Reply(200, {"url": "https://cms.example.org/slow", "pad": "x" * 40}, drip=1.0))  # ~70 s
    workers.start()
    st = office.approved(channels=["portal"])
    first = workers.wait("the first webhook request", webhook.requests)[0]

    def given_back() -> dict[str, Any] | None:
        row = delivery_row(app, st["id"])
        return row if row["last_error"] or row["state"] != "sending" else None  # attempts count at the claim

    row = workers.wait("the trickling attempt to be abandoned", given_back, timeout=16, every=0.1)
    assert time.time() - first.at < 14
    assert row["state"] in ("pending", "sending") and "超时" in (row["last_error"] or ""), row
    st = workers.wait("the retry to publish", lambda: published(office, st["id"]))
    workers.settle()
    assert len(webhook.requests()) == 2 and st["deliveries"][0]["url"] == DEFAULT_URL.format(st["id"])


def test_webhook_refusal_fails_the_delivery_and_office_retry_publishes(
    app: Flask, office: Office, webhook: Webhook, workers: Workers
) -> None:
    webhook.script(Reply(400, b'{"error": "unknown column"}'))
    workers.start()
    st = office.approved(channels=["portal"])
    st = workers.wait("the delivery to fail", lambda: (s := statement(office, st["id"]))["status"] == "failed" and s)
    portal = st["deliveries"][0]
    assert portal["state"] == "failed" and "HTTP 400" in portal["last_error"] and portal["attempts"] == 1
    entries = ledger(office)
    assert [e["kind"] for e in entries] == ["delivery_failed"]
    assert entries[0]["statement_id"] == st["id"] and entries[0]["payload"]["channel"] == "portal"
    assert "HTTP 400" in entries[0]["payload"]["reason"]
    assert len(webhook.requests()) == 1  # a permanent refusal is not retried by itself

    resp = office.office.post(f"/statements/{st['id']}/deliveries/portal/retry")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] in ("publishing", "published")  # no longer `failed`
    st = workers.wait("the retried delivery to publish", lambda: published(office, st["id"]))
    workers.settle()
    hits = webhook.requests()
    assert len(hits) == 2
    assert_one_delivery_key(hits, delivery_row(app, st["id"])["key"])
    assert st["deliveries"][0]["last_error"] is None and st["deliveries"][0]["attempts"] == 1  # counted afresh
    assert [e["kind"] for e in ledger(office)] == ["delivery_failed", "published"]
    assert st["ledger_seq"] == 2 and ledger_verifies(office)
