"""A known register for the reports tests: cases, clocks, responses and publications in two units and periods.

Periods: September 2026 (P1) and October 2026 (P2), both long past, so every clock that is not met is
overdue whenever the test runs. Times are Asia/Shanghai wall times.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import update

from app.extensions import db
from app.timeutil import SHANGHAI
from publishing.models import Delivery, LedgerEntry, Release
from review.models import Statement
from tests.cases.helpers import Cast
from tests.publishing.helpers import drain


def local(text: str) -> datetime:
    """'2026-09-30 23:30' in Asia/Shanghai, as an aware time."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def at(text: str) -> str:
    return local(text).isoformat()


class Register:
    """The cast of tests.cases plus a filled-in register; `ids` names each case by its letter."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.cast = Cast(app)
        self.ids: dict[str, int] = {}
        self.statements: dict[str, int] = {}

    def case(self, key: str, unit: str, source: str, discovered: str, level: int | None = None,
             responses: tuple[tuple[str, str], ...] = (), close: bool = False) -> None:
        cast, office = self.cast, self.cast.office
        drafter = cast["drafter", unit]
        case = cast.case(title=f"舆情{key}", units=[unit], source=source, discovered_at=at(discovered))
        cid = self.ids[key] = case["id"]
        if level is not None:
            self._ok(office.post(f"/cases/{cid}/assessment",
                                 {"level": level, "rationale": "研判", "must_respond": True}))
        if responses or close:
            self._ok(office.post(f"/cases/{cid}/assignment", {"lead_unit": unit, "assisting_units": [], "note": ""}))
            self._ok(drafter.post(f"/cases/{cid}/acceptance", {"note": "已受理"}))
        for form, held in responses:
            self._ok(drafter.post(f"/cases/{cid}/responses", {"form": form, "held_at": at(held), "note": "回应"}))
        if close:
            self._ok(office.post(f"/cases/{cid}/close", {"outcome": "已澄清"}))

    @staticmethod
    def _ok(resp: Any) -> dict[str, Any]:
        assert resp.status_code in (200, 201), resp.get_json()
        return resp.get_json()

    def publish(self, key: str, unit: str, *, corrects: str | None = None) -> int:
        """Through review and the real worker (portal); backdate it with `published_on`."""
        cast = self.cast
        drafter, expert, leader = cast["drafter", unit], cast["expert", unit], cast["leader", unit]
        if corrects:
            st = self._ok(drafter.post(f"/statements/{self.statements[corrects]}/correct"))
            st = self._ok(drafter.put(f"/statements/{st['id']}", {
                "title": f"更正{key}", "body": "经再次核实，更正如下。", "channels": ["portal"]}))
        else:
            st = self._ok(drafter.post("/statements", {"title": f"回应{key}", "body": "经核实，网传信息不实。",
                                                       "channels": ["portal"]}))
        sid = self.statements[key] = st["id"]
        self._ok(drafter.post(f"/statements/{sid}/submit"))
        for who, stage in ((expert, "expert"), (leader, "leader")):
            self._ok(who.post(f"/statements/{sid}/reviews", {"revision_hash": st["revision"]["hash"],
                                                              "stage": stage, "decision": "approve"}))
        drain(self.app)
        assert self._ok(drafter.get(f"/statements/{sid}"))["status"] == "published"
        return sid

    def retract(self, key: str, unit: str) -> None:
        self._ok(self.cast["leader", unit].post(f"/statements/{self.statements[key]}/retract", {"reason": "待核实"}))
        drain(self.app)

    def backdate(self, key: str, kind: str, when: str, channels: tuple[str, ...] = (),
                 review_hours: float = 0, release_minutes: float = 0) -> None:
        """Move a statement's ledger entry of `kind` (and its channels' publication) to `when`; for
        `published`, its release went live then, approved `release_minutes` before, submitted
        `review_hours` before that."""
        moment = local(when)
        with self.app.app_context():
            sid = self.statements[key]
            if kind == "published":
                approved = moment - timedelta(minutes=release_minutes)
                db.session.execute(update(Release).where(Release.statement_id == sid)
                                   .values(published_at=moment, approved_at=approved))
                db.session.execute(update(Statement).where(Statement.id == sid)
                                   .values(submitted_at=approved - timedelta(hours=review_hours)))
            db.session.execute(update(LedgerEntry).where(LedgerEntry.statement_id == sid, LedgerEntry.kind == kind)
                               .values(at=moment.astimezone(UTC).isoformat()))
            for channel in channels:
                delivery = db.session.scalar(db.select(Delivery).where(Delivery.statement_id == sid,
                                                                       Delivery.channel == channel))
                if delivery is None:  # the WeChat account as a second channel, without its sandbox
                    portal = db.session.scalar(db.select(Delivery).where(Delivery.statement_id == sid))
                    assert portal is not None
                    delivery = Delivery(release_id=portal.release_id, statement_id=sid, channel=channel,
                                        state="published", priority=portal.priority, due_at=portal.due_at)
                    db.session.add(delivery)
                delivery.published_at = moment
            db.session.commit()


def known_register(app: Flask) -> Register:
    """The register every reports test counts (figures worked out in tests/reports/test_summary.py)."""
    reg = Register(app)
    a, b = reg.cast.a, reg.cast.b
    ei, pc = "expert_interpretation", "press_conference"
    reg.case("c0", a, "other", "2026-08-31 23:59", level=4)  # the day before P1
    reg.case("c1", a, "weibo", "2026-09-10 10:00", level=3, responses=((ei, "2026-09-10 16:00"),), close=True)
    reg.case("c2", a, "forum", "2026-09-20 08:00", level=1,
             responses=((ei, "2026-09-20 15:00"), (pc, "2026-09-21 06:00")))
    reg.case("c3", b, "hotline", "2026-09-30 23:30", level=4)  # 23:30 on P1's last day
    reg.case("c4", b, "weibo", "2026-09-05 09:00")
    reg.case("c5", a, "press", "2026-09-15 12:00", level=3, responses=((ei, "2026-09-17 00:00"),))
    reg.case("c6", b, "weibo", "2026-10-01 00:10", level=3, responses=((ei, "2026-10-04 00:10"),))
    reg.case("c7", a, "forum", "2026-10-08 09:00", level=2)
    reg.publish("s1", a)
    reg.publish("s2", a)
    reg.retract("s2", a)
    reg.publish("s3", b)
    reg.publish("s4", b, corrects="s3")
    reg.backdate("s1", "published", "2026-09-12 10:00", ("portal", "wechat"), review_hours=2, release_minutes=1)
    reg.backdate("s2", "published", "2026-09-30 23:30", ("portal",), review_hours=4, release_minutes=3)
    reg.backdate("s2", "retracted", "2026-10-02 09:00")
    reg.backdate("s3", "published", "2026-10-05 10:00", ("portal",), review_hours=1, release_minutes=10)
    reg.backdate("s4", "published", "2026-10-06 10:00", ("portal",), review_hours=5, release_minutes=20)
    reg.backdate("s3", "corrected", "2026-10-06 10:00")
    return reg
