"""A notification is stored once and read in each reader's language (issue 27 item 7).

The inbox speaks the page's language; the e-mail copy speaks the language the recipient last chose on the site
(`?lang=en` while signed in), since the worker that sends it has no page to ask.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header

from flask import Flask

from app.extensions import db
from app.notifications.models import Notification
from cases import clock
from tests.app.test_notifications import Mailbox, mailbox, work_notify_queue  # noqa: F401
from tests.cases.helpers import Cast
from tests.publishing.test_pages import login


def overdue_case(app: Flask, cast: Cast) -> int:
    """A level-3 case found 49 hours ago, swept: its 48-hour `response` clock is overdue."""
    found = datetime.now(UTC) - timedelta(hours=49)
    case = cast.case(title="网传小麦病害", discovered_at=found.isoformat())
    assert cast.office.post(f"/cases/{case['id']}/assessment",
                            {"level": 3, "rationale": "研判", "must_respond": True}).status_code == 201
    with app.app_context():
        assert clock.sweep() >= 3
    return int(case["id"])


def subjects(api: object, kind: str = "deadline_overdue") -> list[str]:
    items = api.get("/notifications").get_json()["items"]  # type: ignore[attr-defined]
    return [n["subject"] for n in items if n["kind"] == kind]


def test_each_reader_gets_the_same_notification_in_their_own_language(app: Flask, mailbox: Mailbox  # noqa: F811
                                                                      ) -> None:
    cast = Cast(app)
    for name in ("leader_a", "leader2_a"):
        assert cast.admin.put(f"/users/{name}", {"email": f"{name}@example.cn"}).status_code == 200
    english = login(app, "leader2_a")
    assert english.get("/inbox?lang=en").status_code == 200  # leader2_a reads the site in English
    overdue_case(app, cast)
    with app.app_context():  # stored once per recipient, whatever the languages
        assert db.session.query(Notification).filter_by(kind="deadline_overdue").count() == 3

    leader2 = cast.people["leader2", cast.a]
    (subject,) = subjects(leader2)
    assert subject.startswith("[Overdue] 网传小麦病害: Response was due "), subject
    assert "[Overdue] 网传小麦病害: Response" in english.get("/inbox").get_data(as_text=True)
    (subject,) = subjects(cast.leader)
    assert subject.startswith("【已超时】网传小麦病害：回应已超过时限"), subject
    # the page's language decides on the page: leader_a switching to English reads the stored one in English
    chinese = login(app, "leader_a")
    assert "[Overdue] 网传小麦病害: Response" in chinese.get("/inbox?lang=en").get_data(as_text=True)
    assert "【已超时】网传小麦病害：回应" in chinese.get("/inbox?lang=zh_Hans_CN").get_data(as_text=True)

    work_notify_queue(app)
    mails = {rcpt[0]: message for rcpt, message in mailbox.messages}
    assert set(mails) == {"leader_a@example.cn", "leader2_a@example.cn"}

    def mailed(address: str) -> tuple[str, str]:
        message = mails[address]
        return (str(make_header(decode_header(message["Subject"]))),
                message.get_payload(decode=True).decode(message.get_content_charset()).replace("\r\n", "\n"))

    subject, body = mailed("leader2_a@example.cn")
    assert subject.startswith("[Overdue] 网传小麦病害: Response was due ")
    assert body.startswith("Case: 网传小麦病害\nDeadline: Response, due ") and "Please act in time." in body
    subject, body = mailed("leader_a@example.cn")
    assert subject.startswith("【已超时】网传小麦病害：回应已超过时限")
    assert body.startswith("舆情：网传小麦病害\n时限：回应，") and "请及时处置。" in body


def test_the_case_assignment_notice_follows_the_reader(app: Flask) -> None:
    cast = Cast(app)
    assert login(app, "drafter_a").get("/?lang=en").status_code == 200
    case = cast.at("assigned")
    items = cast.drafter.get("/notifications").get_json()["items"]
    assert [n["subject"] for n in items if n["kind"] == "case_assigned"] == [
        f"[Assigned] {case['title']}: 植物保护研究所 leads the handling"]
    items = cast.leader.get("/notifications").get_json()["items"]
    assert [n["subject"] for n in items if n["kind"] == "case_assigned"] == [
        f"【转办】{case['title']}：请植物保护研究所牵头处置"]
