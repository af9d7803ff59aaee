"""Notifications (interface §9): once per (key, recipient), one's own inbox, e-mail and webhook copies that retry."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import func, select, update

from app import accounts
from app.extensions import db
from app.models import AuditEvent, User
from app.notifications import notify, outgoing, sweep
from app.notifications.models import Notification, NotificationSend
from app.signing import sign
from app.timeutil import utcnow
from app.tx import begin_write
from app.worker import InProcessWorker
from tests.factories import Api, Person, unit, user
from tests.review.test_web import Browser, text


def users(*names: str) -> list[User]:
    found = [User.by_username(n) for n in names]
    assert all(found)
    return found  # type: ignore[return-value]


def raise_one(app: Flask, key: str, *names: str, kind: str = "case_assigned", **extra: Any) -> int:
    """notify() the way a service does: inside its own transaction, then commit."""
    with app.app_context():
        begin_write()
        created = notify(kind, key, users(*names), subject=extra.get("subject", "舆情转办：网传小麦病害"),
                         body=extra.get("body", "请于 48 小时内回应。"), url=extra.get("url", "/cases/7"))
        db.session.commit()
        return created


def inbox_rows(app: Flask, key: str | None = None) -> list[tuple[str, str]]:
    with app.app_context():
        query = select(User.username, Notification.key).join(Notification.recipient).order_by(Notification.id)
        if key is not None:
            query = query.where(Notification.key == key)
        return [(a, b) for a, b in db.session.execute(query)]


@pytest.fixture
def cast(app: Flask) -> dict[str, Person]:
    code = unit(app, "ZBS", "植物保护研究所")
    people = {
        "li": user(app, code, "drafter", username="li"),
        "wang": user(app, code, "leader", username="wang"),
        "zhao": user(app, code, "expert", username="zhao"),
    }
    with app.app_context():
        for name, email in (("li", "li@example.cn"), ("wang", "")):
            found = User.by_username(name)
            assert found is not None
            found.email = email
        db.session.commit()
    return people


# Exactly once -----------------------------------------------------------------------------------


def test_notify_is_once_per_key_and_recipient(app: Flask, cast: dict[str, Person]) -> None:
    assert raise_one(app, "case:7:assigned", "li", "wang", "li") == 2
    assert raise_one(app, "case:7:assigned", "li", "wang", "zhao") == 1  # only zhao is new
    assert raise_one(app, "case:7:assigned", "li") == 0
    assert raise_one(app, "case:7:deadline:response:50", "li") == 1
    assert sorted(inbox_rows(app)) == sorted([
        ("li", "case:7:assigned"), ("wang", "case:7:assigned"), ("zhao", "case:7:assigned"),
        ("li", "case:7:deadline:response:50")])


def test_deactivated_people_get_nothing(app: Flask, cast: dict[str, Person]) -> None:
    with app.app_context():
        zhao = User.by_username("zhao")
        assert zhao is not None
        zhao.active = False
        db.session.commit()
    assert raise_one(app, "k", "zhao", "li") == 1
    assert inbox_rows(app) == [("li", "k")]


def test_notify_joins_the_callers_transaction(app: Flask, cast: dict[str, Person]) -> None:
    with app.app_context():
        begin_write()
        assert notify("case_assigned", "rolled-back", users("li"), subject="x") == 1
        db.session.rollback()
    assert inbox_rows(app) == []
    assert raise_one(app, "rolled-back", "li") == 1


def test_racing_workers_notify_exactly_once(app: Flask, cast: dict[str, Person]) -> None:
    """Eight threads, each its own session and transaction, raise the same notifications at once."""
    barrier = threading.Barrier(8)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                begin_write()
                created = notify("deadline_overdue", "case:9:overdue", users("li", "wang", "zhao"), subject="逾期")
                db.session.commit()
                results.append(created)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert sum(results) == 3 and len(results) == 8
    assert sorted(inbox_rows(app, "case:9:overdue")) == [("li", "case:9:overdue"), ("wang", "case:9:overdue"),
                                                          ("zhao", "case:9:overdue")]


# The inbox ---------------------------------------------------------------------------------------


def test_inbox_api_shows_only_ones_own(app: Flask, cast: dict[str, Person]) -> None:
    raise_one(app, "a", "li", subject="第一条")
    raise_one(app, "b", "li", "wang", subject="第二条")
    li, wang = Api(app, cast["li"]), Api(app, cast["wang"])

    mine = li.get("/notifications").get_json()
    assert mine["total"] == 2 and [n["subject"] for n in mine["items"]] == ["第二条", "第一条"]
    item = mine["items"][0]
    assert set(item) == {"id", "kind", "subject", "body", "url", "created_at", "read_at"}
    assert item["kind"] == "case_assigned" and item["url"] == "/cases/7" and item["read_at"] is None
    assert item["created_at"].endswith("+00:00")
    assert li.get("/notifications?per_page=1&page=2").get_json()["items"][0]["subject"] == "第一条"
    assert li.get("/notifications?per_page=0").status_code == 400

    wangs = wang.get("/notifications").get_json()["items"]
    assert len(wangs) == 1
    assert li.post(f"/notifications/{wangs[0]['id']}/read").status_code == 404  # someone else's
    assert li.post("/notifications/999999/read").status_code == 404
    assert wang.get("/notifications?unread=true").get_json()["total"] == 1

    read = li.post(f"/notifications/{item['id']}/read")
    assert read.status_code == 200 and read.get_json()["read_at"] is not None
    again = li.post(f"/notifications/{item['id']}/read").get_json()
    assert again["read_at"] == read.get_json()["read_at"]  # the first reading is kept
    unread = li.get("/notifications?unread=true").get_json()
    assert unread["total"] == 1 and unread["items"][0]["subject"] == "第一条"
    assert li.post("/notifications/read-all").get_json() == {"marked": 1}
    assert li.get("/notifications?unread=true").get_json()["total"] == 0
    assert wang.get("/notifications?unread=true").get_json()["total"] == 1
    assert app.test_client().get("/api/v1/notifications").status_code == 401


def test_unread_count_on_every_page_and_the_inbox(app: Flask, cast: dict[str, Person]) -> None:
    with app.app_context():
        li = User.by_username("li")
        assert li is not None
        li.set_password("correct horse 42")
        db.session.commit()
    web = Browser(app, "li")
    assert "count-unread" not in text(web.get("/"))
    raise_one(app, "a", "li", subject="请审核：关于小麦的说明", url="/statements/3")
    raise_one(app, "b", "li", subject="舆情逾期")
    home = text(web.get("/"))
    assert 'class="count count-unread"' in home and ">2</span>" in home

    page = web.get("/inbox")
    assert page.status_code == 200 and "请审核：关于小麦的说明" in text(page) and "舆情逾期" in text(page)
    with app.app_context():
        first = db.session.scalar(select(Notification.id).where(Notification.key == "a"))
    opened = web.post(f"/inbox/{first}/open")
    assert opened.status_code == 302 and opened.headers["Location"] == "/statements/3"
    assert ">1</span>" in text(web.get("/inbox"))
    unread_only = text(web.get("/inbox?unread=true"))
    assert "舆情逾期" in unread_only and "请审核" not in unread_only
    done = web.post("/inbox/read-all")
    assert done.status_code == 302
    assert "count-unread" not in text(web.get("/"))
    assert "Inbox" in text(web.get("/inbox?lang=en"))

    raise_one(app, "c", "wang")
    with app.app_context():
        wangs = db.session.scalar(select(Notification.id).join(Notification.recipient).where(User.username == "wang"))
    assert web.post(f"/inbox/{wangs}/open").status_code == 404  # someone else's
    with app.app_context():
        assert db.session.scalar(select(Notification.read_at).where(Notification.id == wangs)) is None


# E-mail -------------------------------------------------------------------------------------------


class Mailbox:
    """An SMTP server on loopback (aiosmtpd) that accepts, or refuses with a chosen reply."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.refuse: str | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mailbox(app: Flask) -> Iterator[Mailbox]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(SMTP_URL=f"smtp://127.0.0.1:{port}", MAIL_FROM="回应 <huiying@example.cn>")
    yield box
    controller.stop()


def sends(app: Flask) -> list[NotificationSend]:
    with app.app_context():
        rows = list(db.session.scalars(select(NotificationSend).order_by(NotificationSend.id)))
        db.session.expunge_all()
        return rows


def work_notify_queue(app: Flask) -> None:
    """What `huiying worker` does for the `notify` queue: run its jobs in the app."""
    with app.app_context():
        q = outgoing.queue()
        InProcessWorker([q], connection=q.connection).work(burst=True)


def test_email_reaches_a_real_smtp_server(app: Flask, cast: dict[str, Person], mailbox: Mailbox) -> None:
    assert raise_one(app, "case:7:assigned", "li", "wang") == 2
    rows = sends(app)
    assert [(r.channel, r.state) for r in rows] == [("email", "pending")]  # wang has no address
    work_notify_queue(app)  # the job queued after the commit
    assert len(mailbox.messages) == 1
    rcpt, message = mailbox.messages[0]
    assert rcpt == ["li@example.cn"]
    assert str(make_header(decode_header(message["Subject"]))) == "舆情转办：网传小麦病害"
    body = message.get_payload(decode=True).decode(message.get_content_charset())
    assert "请于 48 小时内回应。" in body and "http://huiying.test/cases/7" in body
    assert message["Message-ID"] == f"<{rows[0].key}@huiying>"
    (row,) = sends(app)
    assert row.state == "sent" and row.attempts == 1 and row.sent_at is not None
    with app.app_context():
        assert outgoing.drain() == 0 and sweep() == 0  # nothing left: sent once
    assert len(mailbox.messages) == 1


def test_a_refusing_smtp_server_delays_only_the_email(app: Flask, cast: dict[str, Person], mailbox: Mailbox
                                                      ) -> None:
    mailbox.refuse = "451 4.3.0 Try again later"
    raise_one(app, "case:8:overdue", "li", kind="deadline_overdue")
    with app.app_context():
        assert outgoing.drain() == 1
    (row,) = sends(app)
    assert row.state == "pending" and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at > utcnow() + timedelta(seconds=20)  # backoff, not a hot loop
    assert inbox_rows(app) == [("li", "case:8:overdue")]  # the inbox copy is there regardless
    with app.app_context():
        assert outgoing.drain() == 0 and sweep() == 0  # not due yet

    mailbox.refuse = None
    with app.app_context():  # time passes: the retry is due; the sweeper finds it even if Redis lost the job
        db.session.execute(update(NotificationSend).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        outgoing.queue().connection.flushdb()
        assert sweep() == 1
    work_notify_queue(app)
    (row,) = sends(app)
    assert row.state == "sent" and row.attempts == 2
    assert len(mailbox.messages) == 1


def test_every_attempt_at_a_copy_is_on_the_audit_trail(app: Flask, cast: dict[str, Person], mailbox: Mailbox) -> None:
    mailbox.refuse = "451 4.3.0 Try again later"
    raise_one(app, "case:9:overdue", "li", kind="deadline_overdue")
    with app.app_context():
        assert outgoing.drain() == 1
        db.session.execute(update(NotificationSend).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    mailbox.refuse = None
    with app.app_context():
        assert outgoing.drain() == 1
    (row,) = sends(app)
    assert row.state == "sent" and row.attempts == 2
    with app.app_context():
        trail = db.session.execute(select(AuditEvent.action, AuditEvent.after).where(
            AuditEvent.object_type == "notificationsend", AuditEvent.object_id == row.id).order_by(AuditEvent.id)).all()
    assert [action for action, _ in trail] == ["notification_send.claimed", "notification_send.deferred",
                                               "notification_send.claimed", "notification_send.sent"]
    assert [after["attempt"] for _, after in trail] == [1, 1, 2, 2]
    assert "451" in trail[1].after["error"]


def test_a_permanent_refusal_and_too_many_tries_fail_the_send(app: Flask, cast: dict[str, Person],
                                                               mailbox: Mailbox) -> None:
    mailbox.refuse = "550 5.1.1 No such mailbox"
    raise_one(app, "k1", "li")
    with app.app_context():
        outgoing.drain()
    (row,) = sends(app)
    assert row.state == "failed" and row.attempts == 1 and "550" in row.last_error

    mailbox.refuse = "421 4.7.0 Busy"
    raise_one(app, "k2", "li")
    for _ in range(outgoing.MAX_ATTEMPTS):
        with app.app_context():
            db.session.execute(update(NotificationSend).where(NotificationSend.state == "pending")
                               .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
            db.session.commit()
            assert outgoing.drain() == 1
    row = sends(app)[1]
    assert row.state == "failed" and row.attempts == outgoing.MAX_ATTEMPTS
    with app.app_context():
        assert db.session.scalar(select(func.count(Notification.id))) == 2  # both inbox copies stay


def test_a_lost_enqueue_never_fails_the_callers_commit(app: Flask, cast: dict[str, Person], mailbox: Mailbox
                                                       ) -> None:
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app.extensions.pop("huiying_redis", None)
    assert raise_one(app, "k", "li") == 1
    (row,) = sends(app)
    assert row.state == "pending"
    with app.app_context():
        assert outgoing.drain() == 1  # what the sweeper's job does once Redis is back
    assert sends(app)[0].state == "sent"


def test_a_crashed_sender_leaves_the_row_due_after_its_lease(app: Flask, cast: dict[str, Person],
                                                             mailbox: Mailbox) -> None:
    raise_one(app, "k", "li")
    with app.app_context():
        claim = outgoing.claim_next()  # … and the worker dies here
        assert claim is not None and outgoing.claim_next() is None  # no one else takes it meanwhile
        db.session.execute(update(NotificationSend).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert sweep() == 1 and outgoing.drain() == 1
        outgoing.send_claimed(claim)  # the dead claimant's late answer changes nothing
    (row,) = sends(app)
    assert row.state == "sent" and row.attempts == 2 and len(mailbox.messages) == 1


# Webhook ------------------------------------------------------------------------------------------


class Gateway(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []
    answers: list[int] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), raw))
        status = type(self).answers.pop(0) if type(self).answers else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway(app: Flask) -> Iterator[type[Gateway]]:
    Gateway.received, Gateway.answers = [], []
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config.update(NOTIFY_WEBHOOK_URL=f"http://127.0.0.1:{server.server_port}/sms",
                      NOTIFY_WEBHOOK_SECRET="gateway-secret")
    yield Gateway
    server.shutdown()
    server.server_close()


def test_webhook_is_signed_and_retried_with_the_same_key(app: Flask, cast: dict[str, Person],
                                                         gateway: type[Gateway]) -> None:
    with app.app_context():
        wang = User.by_username("wang")
        assert wang is not None
        wang.display_name, wang.phone = "王所长", "13800138000"
        db.session.commit()
    gateway.answers = [503]
    raise_one(app, "case:7:deadline:response:80", "wang", kind="deadline_warning", subject="即将逾期",
              body="还剩 9 小时", url="/cases/7")
    work_notify_queue(app)
    (row,) = sends(app)
    assert row.channel == "webhook" and row.state == "pending" and "503" in row.last_error
    with app.app_context():
        db.session.execute(update(NotificationSend).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert outgoing.drain() == 1
    assert sends(app)[0].state == "sent"

    assert len(gateway.received) == 2
    (first_headers, first_raw), (headers, raw) = gateway.received
    assert headers["X-Huiying-Delivery"] == first_headers["X-Huiying-Delivery"] == row.key
    assert headers["X-Huiying-Signature"] == sign("gateway-secret", headers["X-Huiying-Timestamp"], raw)
    assert json.loads(raw) == {
        "event": "notification", "kind": "deadline_warning",
        "recipient": {"username": "wang", "name": "王所长", "phone": "13800138000"},
        "subject": "即将逾期", "body": "还剩 9 小时", "url": "http://huiying.test/cases/7",
    }
    assert first_raw == raw


def test_webhook_4xx_is_permanent(app: Flask, cast: dict[str, Person], gateway: type[Gateway]) -> None:
    gateway.answers = [400]
    raise_one(app, "k", "zhao")
    with app.app_context():
        outgoing.drain()
    (row,) = sends(app)
    assert row.state == "failed" and "400" in row.last_error


def test_signing_matches_the_contract() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"s", b"1700000000." + b'{"a":1}', hashlib.sha256).hexdigest()
    assert sign("s", "1700000000", b'{"a":1}') == f"sha256={expected}"


def test_users_without_address_get_no_email_copy(app: Flask, cast: dict[str, Person], mailbox: Mailbox) -> None:
    with app.app_context():
        accounts.create_user("sun", "ZBS", ["drafter"], password="a long password")
    raise_one(app, "k", "sun")
    assert sends(app) == []


def test_a_title_with_line_breaks_is_mailed_once_on_one_header_line(app: Flask, cast: dict[str, Person],
                                                                     mailbox: Mailbox) -> None:
    """Issue 28 item 8: CR/LF in a case title made every attempt fail; now the subject is folded, nothing injected."""
    raise_one(app, "case:9:assigned", "li", subject="舆情转办：网传\r\n小麦病害\nBcc: someone@example.com\u2028续")
    with app.app_context():
        assert outgoing.drain() == 1
    (row,) = sends(app)
    assert (row.state, row.attempts, row.last_error) == ("sent", 1, "")
    ((rcpt, message),) = mailbox.messages
    assert rcpt == ["li@example.cn"] and message["Bcc"] is None
    assert str(make_header(decode_header(message["Subject"]))) == "舆情转办：网传 小麦病害 Bcc: someone@example.com 续"


def test_a_copy_that_cannot_be_composed_fails_at_once(app: Flask, cast: dict[str, Person], mailbox: Mailbox
                                                      ) -> None:
    """Issue 28 item 8: an error no retry can cure (here an unusable MAIL_FROM) fails the copy, not 6 attempts."""
    app.config["MAIL_FROM"] = "回应\n<huiying@example.cn>"
    raise_one(app, "k-compose", "li")
    with app.app_context():
        assert outgoing.drain() == 1
    (row,) = sends(app)
    assert row.state == "failed" and row.attempts == 1 and "MAIL_FROM" in row.last_error
    assert mailbox.messages == []
