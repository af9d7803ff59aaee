"""Read-back (interface §10): after the portal reports `published`, the real worker reads the page back and
compares it with the approved text; a page that differs is a ledger entry and a notice to the office."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from app.extensions import db, get_redis
from app.timeutil import utcnow
from publishing import readback
from publishing.models import Delivery
from publishing.worker import ReleaseWorker
from tests.factories import Office
from tests.publishing.helpers import drain

BODY = "经核实，网传“小麦感染新型病害”一事不实。\n\n相关地块黄化系**低温冻害**所致，不具有传染性。"


class Cms:
    """A stand-in CMS: takes the webhook, answers its own page URL, and serves whatever page it is told to."""

    def __init__(self) -> None:
        self.page_status = 200
        self.page = ""
        cms = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                pushed = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if not cms.page:
                    cms.page = f"<html><body><h1>{pushed['title']}</h1>{pushed['html']}</body></html>"
                self._send(200, json.dumps({"url": f"{cms.base}/news/{pushed['statement_id']}.html"}).encode())

            def do_GET(self) -> None:  # noqa: N802
                self._send(cms.page_status, cms.page.encode())

            def _send(self, status: int, raw: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def cms(app: Flask) -> Iterator[Cms]:
    server = Cms()
    app.config.update(PORTAL_WEBHOOK_URL=f"{server.base}/hook", PORTAL_WEBHOOK_SECRET="s3cret")
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


def portal(office: Office, st: dict[str, Any]) -> dict[str, Any]:
    st = office.drafter.get(f"/statements/{st['id']}").get_json()
    return next(d for d in st["deliveries"] if d["channel"] == "portal")


def ledger_kinds(office: Office) -> list[str]:
    return [e["kind"] for e in office.office.get("/ledger").get_json()["entries"]]


def test_own_portal_page_reads_back_as_a_match(app: Flask, office: Office) -> None:
    st = office.approved(channels=["portal"], body=BODY)
    drain(app)
    readback = portal(office, st)["readback"]
    assert readback["state"] == "match" and readback["at"] and readback["detail"] == ""
    assert ledger_kinds(office) == ["published"]


def test_cms_page_showing_the_approved_text_matches(app: Flask, office: Office, cms: Cms) -> None:
    st = office.approved(channels=["portal"], body=BODY)
    drain(app)
    delivery = portal(office, st)
    assert delivery["url"].startswith(cms.base) and delivery["readback"]["state"] == "match"


def test_cms_page_that_differs_is_a_mismatch_on_the_record(app: Flask, office: Office, cms: Cms) -> None:
    # the CMS shows the right title, but one word of the text turned into its opposite
    cms.page = ("<html><body><h1>关于网传小麦品种问题的回应</h1>"
                "<p>经核实，网传“小麦感染新型病害”一事属实。</p><p>相关地块黄化系低温冻害所致，不具有传染性。</p></body></html>")
    st = office.approved(channels=["portal"], body=BODY)
    drain(app)
    readback = portal(office, st)["readback"]
    assert readback["state"] == "mismatch"
    assert sorted(readback["detail"].split("；")) == ["+属", "−不"]
    assert ledger_kinds(office) == ["published", "readback_mismatch"]
    entry = office.office.get("/ledger").get_json()["entries"][1]
    assert entry["statement_id"] == st["id"] and entry["payload"]["channel"] == "portal"
    assert office.office.get("/ledger/verify").get_json()["ok"] is True
    notices = office.office.get("/notifications").get_json()["items"]
    assert [n["kind"] for n in notices if n["kind"] == "readback_mismatch"] == ["readback_mismatch"]


def test_unreadable_page_is_unavailable_and_tried_again(app: Flask, office: Office, cms: Cms) -> None:
    cms.page_status = 503
    st = office.approved(channels=["portal"], body=BODY)
    drain(app)
    readback = portal(office, st)["readback"]
    assert readback["state"] == "unavailable" and "503" in readback["detail"] and readback["tries"] == 1
    assert ledger_kinds(office) == ["published"]
    # the next try is a time in the database, not a job in Redis: a flush loses nothing
    with app.app_context():
        due = db.session.scalar(select(Delivery.readback_due_at).where(Delivery.statement_id == st["id"]))
        assert due is not None and due > utcnow()
        get_redis().flushdb()
        db.session.execute(update(Delivery).values(readback_due_at=utcnow()))
        db.session.commit()
    cms.page_status = 200
    assert ReleaseWorker(app).sweep() >= 1
    drain(app)
    assert portal(office, st)["readback"]["state"] == "match"
    with app.app_context():
        assert db.session.scalar(select(Delivery.readback_due_at).where(Delivery.statement_id == st["id"])) is None


def test_statement_page_says_verified(app: Flask, office: Office) -> None:
    from tests.review.test_web import Browser, text

    st = office.approved(channels=["portal"], body=BODY)
    drain(app)
    page = text(Browser(app, office.drafter.user.username).get(f"/statements/{st['id']}"))
    assert 'data-readback="match"' in page and "已核验一致" in page


def test_a_read_back_finishing_after_the_retraction_puts_nothing_on_the_record(
        app: Flask, office: Office, cms: Cms) -> None:
    cms.page_status = 503  # the first read finds nothing: another is due
    st = office.approved(channels=["portal"], body=BODY)
    drain(app)
    assert portal(office, st)["readback"]["state"] == "unavailable"
    retracted = office.leader.post(f"/statements/{st['id']}/retract", {"reason": "表述需更正"})
    assert retracted.status_code == 200
    # the CMS still shows something else to a read that began before the retraction and ends after it
    with app.app_context():
        delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.statement_id == st["id"]))
        assert delivery_id is not None
        readback.record(delivery_id, readback.State.MISMATCH, "−不")
    assert ledger_kinds(office) == ["published", "retracted"]
    assert portal(office, st)["readback"]["state"] == "unavailable"
    notices = office.office.get("/notifications").get_json()["items"]
    assert [n for n in notices if n["kind"] == "readback_mismatch"] == []
