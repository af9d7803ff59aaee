"""GET /api/v1/reports/summary counts exactly what the register holds (interface §12).

The register (tests/reports/helpers.py), in Asia/Shanghai time:

| case | unit | source | discovered | level | counted responses | clocks |
|---|---|---|---|---|---|---|
| c0 | A | other | 08-31 23:59 | 4 | — | (before P1) |
| c1 | A | weibo | 09-10 10:00 | 3 | 09-10 16:00 (6 h), closed | response met |
| c2 | A | forum | 09-20 08:00 | 1 | 09-20 15:00 (7 h), press conference 09-21 06:00 | release met late, press met |
| c3 | B | hotline | 09-30 23:30 | 4 | — | response overdue (due 10-02 23:30) |
| c4 | B | weibo | 09-05 09:00 | — | — | — |
| c5 | A | press | 09-15 12:00 | 3 | 09-17 00:00 (36 h) | response met |
| c6 | B | weibo | 10-01 00:10 | 3 | 10-04 00:10 (72 h) | response met late |
| c7 | A | forum | 10-08 09:00 | 2 | — | release and press overdue |

Statements: s1 (A) 09-12 portal + WeChat; s2 (A) 09-30 23:30 portal, retracted 10-02; s3 (B) 10-05 portal,
corrected by s4 (B) 10-06 portal.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from app.models import Unit
from app.timeutil import SHANGHAI
from reports import period as periods
from reports import summary
from tests.cases.helpers import Cast
from tests.cases.test_closing import closed_level_1
from tests.factories import Api, unit, user
from tests.reports.helpers import Register, known_register, local

P1 = "from=2026-09-01&to=2026-09-30"
P2 = "from=2026-10-01&to=2026-10-31"
ZERO_SOURCES = {s: 0 for s in ("portal", "forum", "weibo", "wechat", "short_video", "online_petition", "hotline",
                               "news_comment", "press", "superior", "other")}


def fig(total: int, met: int = 0, met_late: int = 0, overdue: int = 0, rate: float | None = None,
        waived: int = 0) -> dict[str, Any]:
    return {"total": total, "met": met, "met_late": met_late, "overdue": overdue, "waived": waived,
            "pending": total - met - met_late - overdue - waived, "on_time_rate": rate}


@pytest.fixture
def reg(app: Flask) -> Register:
    return known_register(app)


def local_date(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def get(api: Api, query: str) -> dict[str, Any]:
    resp = api.get(f"/reports/summary?{query}")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_every_figure_of_two_periods_for_the_office(reg: Register) -> None:
    office = reg.cast.office
    s = get(office, P1)
    assert (s["from"], s["to"], s["unit"]) == ("2026-09-01", "2026-09-30", None)
    assert s["cases"] == {
        "by_level": {"1": 1, "2": 0, "3": 2, "4": 1, "unassessed": 1},
        "by_source": {**ZERO_SOURCES, "weibo": 2, "forum": 1, "hotline": 1, "press": 1},
        "by_status": {"registered": 1, "assessed": 1, "assigned": 0, "handling": 0, "responded": 2, "closed": 1},
        "by_unit": {"A": 3, "B": 2},
        "total": 5, "closed": 1, "overdue_open": 1,
    }
    assert s["deadlines"] == {
        "authoritative_release": fig(1, met_late=1, rate=0.0),
        "press_conference": fig(1, met=1, rate=1.0),
        "response": fig(3, met=2, overdue=1, rate=0.6667),
    }
    assert s["response_hours"] == {"1": {"median": 7.0, "p90": 7.0}, "2": {"median": None, "p90": None},
                                   "3": {"median": 21.0, "p90": 33.0}, "4": {"median": None, "p90": None}}
    assert s["statements"] == {"published": 2, "retracted": 0, "corrected": 0,
                               "by_channel": {"portal": 2, "wechat": 1},
                               "submission_to_approval_hours": {"median": 3.0, "p90": 3.8},
                               "approval_to_live_minutes": {"median": 2.0, "p90": 2.8}}
    assert set(s["freshness"]) == {"portal_days", "wechat_days"}

    s = get(office, P2)
    assert s["cases"]["by_level"] == {"1": 0, "2": 1, "3": 1, "4": 0, "unassessed": 0}
    assert s["cases"]["by_status"]["responded"] == 1 and s["cases"]["by_status"]["assessed"] == 1
    assert s["cases"]["by_unit"] == {"A": 1, "B": 1}
    assert (s["cases"]["total"], s["cases"]["closed"], s["cases"]["overdue_open"]) == (2, 0, 1)
    assert s["deadlines"] == {
        "authoritative_release": fig(1, overdue=1, rate=0.0),
        "press_conference": fig(1, overdue=1, rate=0.0),
        "response": fig(1, met_late=1, rate=0.0),
    }
    assert s["response_hours"]["3"] == {"median": 72.0, "p90": 72.0}
    assert s["response_hours"]["2"] == {"median": None, "p90": None}
    assert s["statements"] == {"published": 2, "retracted": 1, "corrected": 1,
                               "by_channel": {"portal": 2, "wechat": 0},
                               "submission_to_approval_hours": {"median": 3.0, "p90": 4.6},
                               "approval_to_live_minutes": {"median": 15.0, "p90": 19.0}}

    # both periods at once add up; the day before P1 (c0) is still outside
    s = get(office, "from=2026-09-01&to=2026-10-31")
    assert s["cases"]["total"] == 7 and s["statements"]["published"] == 4
    assert get(office, "from=2026-08-31&to=2026-08-31")["cases"]["by_unit"] == {"A": 1}


def test_the_last_minutes_of_a_month_belong_to_it(reg: Register) -> None:
    office = reg.cast.office
    last_day = get(office, "from=2026-09-30&to=2026-09-30")
    assert last_day["cases"]["by_unit"] == {"B": 1}  # c3, 23:30 local = 15:30 UTC
    assert last_day["statements"]["published"] == 1 and last_day["statements"]["by_channel"]["portal"] == 1
    first_day = get(office, "from=2026-10-01&to=2026-10-01")
    assert first_day["cases"]["by_unit"] == {"B": 1}  # c6, 00:10 local = 16:10 UTC the day before
    assert first_day["statements"]["published"] == 0


def test_a_unit_sees_its_own_figures(reg: Register) -> None:
    leader_b = reg.cast["leader", reg.cast.b]
    s = get(leader_b, P1)
    assert s["unit"] == "B"
    assert s["cases"]["by_unit"] == {"B": 2} and s["cases"]["by_level"]["unassessed"] == 1
    assert s["deadlines"]["response"] == fig(1, overdue=1, rate=0.0)
    assert s["deadlines"]["authoritative_release"] == fig(0)
    assert s["statements"]["published"] == 0
    assert get(leader_b, f"{P1}&unit=B") == s
    s = get(leader_b, P2)
    assert s["statements"] == {"published": 2, "retracted": 0, "corrected": 1, "by_channel": {"portal": 2, "wechat": 0},
                               "submission_to_approval_hours": {"median": 3.0, "p90": 4.6},
                               "approval_to_live_minutes": {"median": 15.0, "p90": 19.0}}
    a = get(reg.cast.office, f"{P2}&unit=A")
    assert a["statements"] == {"published": 0, "retracted": 1, "corrected": 0, "by_channel": {"portal": 0, "wechat": 0},
                               "submission_to_approval_hours": {"median": None, "p90": None},
                               "approval_to_live_minutes": {"median": None, "p90": None}}
    assert a["deadlines"]["press_conference"] == fig(1, overdue=1, rate=0.0)


def test_pending_clocks_and_freshness_at_a_given_moment(reg: Register, app: Flask) -> None:
    with app.app_context():
        p1 = periods.Period(local("2026-09-01 00:00").date(), local("2026-09-30 00:00").date())
        early = summary.summary(p1, None, now=local("2026-10-01 12:00"))
        assert early["deadlines"]["response"] == {"total": 3, "met": 2, "met_late": 0, "overdue": 0, "pending": 1,
                                                  "waived": 0, "on_time_rate": 1.0}
        later = summary.summary(p1, None, now=local("2026-10-20 12:00"))
        assert later["freshness"] == {"portal_days": 14, "wechat_days": 38}
        assert summary.freshness(local("2026-10-16 09:59")) == {"portal_days": 9, "wechat_days": 33}
        weeks = summary.weekly(p1, None)
        assert [(w["week"], w["cases"], w["responses"]) for w in weeks] == [
            ("2026-08-31", 1, 0), ("2026-09-07", 1, 1), ("2026-09-14", 2, 2), ("2026-09-21", 0, 1),
            ("2026-09-28", 1, 0)]
        rows = {r["unit"]: r for r in summary.assessment(p1, None)}
        assert {k: rows["A"][k] for k in ("cases", "closed", "deadlines", "met", "met_late", "overdue",
                                          "on_time_rate", "statements", "retracted", "corrected")} == {
            "cases": 3, "closed": 1, "deadlines": 4, "met": 3, "met_late": 1, "overdue": 0, "on_time_rate": 0.75,
            "statements": 2, "retracted": 0, "corrected": 0}
        assert (rows["B"]["cases"], rows["B"]["overdue"], rows["B"]["on_time_rate"]) == (2, 1, 0.0)
        assert rows["OFFICE"]["cases"] == 0 and rows["OFFICE"]["on_time_rate"] is None
        only_b = summary.assessment(p1, Unit.by_code("B"))
        assert [r["unit"] for r in only_b] == ["B"]


def test_who_may_ask_and_bad_input(app: Flask) -> None:
    a = unit(app, "A")
    b = unit(app, "B")
    office = Api(app, user(app, unit(app, "OFFICE"), "office"))
    leader = Api(app, user(app, a, "leader"))
    drafter = Api(app, user(app, a, "drafter"))
    assert app.test_client().get("/api/v1/reports/summary").status_code == 401
    resp = drafter.get("/reports/summary")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "wrong_role"
    resp = leader.get(f"/reports/summary?unit={b}")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "wrong_unit"
    # 403 before 400: the leader asking for another unit with a bad date is still refused
    assert leader.get(f"/reports/summary?unit={b}&from=x").status_code == 403
    resp = office.get("/reports/summary?from=2026-13-01&to=2026-02-30")
    assert resp.status_code == 400 and set(resp.get_json()["error"]["fields"]) == {"from", "to"}
    resp = office.get("/reports/summary?from=2026-10-02&to=2026-10-01")
    assert resp.status_code == 400 and "to" in resp.get_json()["error"]["fields"]
    resp = office.get("/reports/summary?unit=NOPE")
    assert resp.status_code == 400 and "unit" in resp.get_json()["error"]["fields"]
    s = office.get("/reports/summary").get_json()
    today = periods.today()
    assert (s["from"], s["to"]) == (today.replace(day=1).isoformat(), today.isoformat())
    assert s["freshness"] == {"portal_days": None, "wechat_days": None}
    assert s["cases"]["total"] == 0 and s["deadlines"]["response"]["on_time_rate"] is None


def test_a_response_recorded_late_but_held_earlier_is_the_first(app: Flask) -> None:
    """The response time counts from the earliest counted response, whatever order they were recorded in."""
    reg = Register(app)
    reg.case("x", "A", "weibo", "2026-11-02 08:00", level=3,
             responses=(("press_conference", "2026-11-03 08:00"), ("expert_interpretation", "2026-11-02 12:00")))
    s = get(reg.cast.office, "from=2026-11-01&to=2026-11-30")
    assert s["response_hours"]["3"] == {"median": 4.0, "p90": 4.0}


def test_a_clock_waived_at_closing_is_neither_met_nor_overdue_nor_pending(app: Flask) -> None:
    """interface §20: a case closed before its press conference fell due; days later it is still not overdue."""
    cast = Cast(app)
    case = closed_level_1(cast)
    day = local_date(datetime.fromisoformat(case["discovered_at"]))
    s = get(cast.office, f"from={day}&to={day}")
    assert s["deadlines"]["press_conference"] == fig(1, waived=1, rate=None)
    assert s["deadlines"]["authoritative_release"] == fig(1, overdue=1, rate=0.0)
    with app.app_context():
        period = periods.Period(day, day)
        later = summary.summary(period, None, now=datetime.now(UTC) + timedelta(days=3))
        assert later["deadlines"]["press_conference"] == fig(1, waived=1, rate=None)
        row = next(r for r in summary.assessment(period, None, datetime.now(UTC) + timedelta(days=3))
                   if r["unit"] == "A")
        assert (row["deadlines"], row["met"], row["overdue"], row["waived"], row["on_time_rate"]) == (2, 0, 1, 1, 0.0)
