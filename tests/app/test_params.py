"""Issue 28, item 12: numbers and dates typed into addresses and forms are read by one parser with bounds
(app/params.py). Each input here was a 500 with a traceback; now it is a 400 naming the field (JSON on the API,
a Chinese message on the page)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.cases.helpers import Cast
from tests.factories import Api
from tests.review.test_web import Browser, section, text

#: What passes `str.isdigit()` and still breaks `int()` or the database: a superscript, 5,000 digits,
#: one past the largest row id PostgreSQL's INTEGER holds.
BAD_NUMBERS = ["²", "9" * 5000, str(2**31)]
#: Days `date.fromisoformat` reads whose instants are past what datetime (or the bounded period) can hold.
BAD_DAYS = ["9999-12-31", "0001-01-01"]


def fields(resp: Any) -> dict[str, str]:
    assert resp.status_code == 400, (resp.status_code, resp.get_data(as_text=True)[:2000])
    error = resp.get_json()["error"]
    assert error["code"] == "invalid"
    return error["fields"]


def test_a_ledger_seq_past_the_largest_row_id_is_400_not_500(app: Flask) -> None:
    anyone = app.test_client()  # these are public: anybody on the internet can send them
    for path in ("/api/v1/ledger", "/api/v1/public/releases", "/api/v1/ledger/checkpoints"):
        for after in (str(2**31), "9" * 5000, "²"):
            assert "after" in fields(anyone.get(f"{path}?after={after}")), path
        assert anyone.get(f"{path}?after={2**31 - 1}").status_code == 200, path


def test_days_outside_2000_to_2100_are_400_on_every_report_and_the_audit(app: Flask) -> None:
    cast = Cast(app)
    office = cast.office
    for day in BAD_DAYS:
        assert "from" in fields(office.get(f"/reports/summary?from={day}&to=2026-10-01"))
        assert "to" in fields(office.get(f"/reports/summary?from=2026-10-01&to={day}"))
        assert "from" in fields(office.get(f"/cases/export.xlsx?from={day}&to=2026-10-01"))
        assert "to" in fields(office.get(f"/cases/export.xlsx?from=2026-10-01&to={day}"))
        assert "from" in fields(office.get(f"/audit?from={day}"))
        assert "to" in fields(office.get(f"/audit.csv?to={day}"))
    web = Browser(app, "office")
    admin = Browser(app, "admin")
    for day in BAD_DAYS:
        for path in (f"/reports?from={day}&to=2026-10-01", f"/reports/bulletin.docx?from=2026-10-01&to={day}",
                     f"/reports/bulletin.docx?from={day}&to=2026-10-01", f"/reports/log.docx?date={day}",
                     f"/admin/audit?from={day}", f"/admin/audit?to={day}"):
            page = web.get(path) if "audit" not in path else admin.get(path)
            assert page.status_code == 400, (path, page.status_code)
            assert "2000" in text(page) and "2100" in text(page), path  # says which days it can take
    # the bounds themselves are days like any other
    assert office.get("/reports/summary?from=2100-12-01&to=2100-12-31").status_code == 200
    assert office.get("/audit?from=2000-01-01&to=2100-12-31").status_code == 200
    assert web.get("/reports/log.docx?date=2100-12-31").status_code == 200


def test_upward_report_page_with_a_bad_case_number_says_so(app: Flask) -> None:
    Cast(app)
    web = Browser(app, "office")
    for raw in BAD_NUMBERS:
        page = web.get(f"/reports/upward?case={raw}")
        assert page.status_code == 400 and "舆情编号" in text(page), (raw[:8], page.status_code)
        posted = web.post(f"/reports/upward?case={raw}", {"recipient": "省委网信办", "method": "document"},
                          follow_redirects=True)
        assert posted.status_code == 400 and "舆情编号" in text(posted), (raw[:8], posted.status_code)
    assert web.get("/reports/upward?case=1").status_code == 404  # a well-formed number of no case


def test_numbers_typed_into_forms_are_400_beside_their_field(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("handling")
    drafter = Browser(app, "drafter_a")
    for raw in BAD_NUMBERS:
        resp = drafter.post(f"/cases/{case['id']}/respond", {"form": "statement", "statement_id": raw},
                            follow_redirects=True)
        assert resp.status_code == 400 and "field-error" in section(resp, "respond"), (raw[:8], resp.status_code)
        assert "1–2147483647" in section(resp, "respond")  # beside the field: which numbers it takes
        made = drafter.post("/statements/new", {"title": "关于网传问题的回应", "body": "经核实，网传信息不实。",
                                                "channels": "portal", "case_ids": f"{case['id']}, {raw}"},
                            follow_redirects=True)
        assert made.status_code == 400 and "field-error" in text(made), (raw[:8], made.status_code)
    assert cast.drafter.get("/statements").get_json()["total"] == 0
    for path in (f"/statements/new?copy={BAD_NUMBERS[0]}", f"/statements/new?case_id={BAD_NUMBERS[0]}"):
        assert drafter.get(path).status_code == 400, path


def test_account_and_token_forms_refuse_numbers_that_are_no_id(app: Flask) -> None:
    Cast(app)
    me = Browser(app, "drafter_a")
    admin = Browser(app, "admin")
    for raw in BAD_NUMBERS:
        for action, name in (("end_session", "session"), ("revoke", "token")):
            resp = me.post("/account", {"action": action, name: raw}, follow_redirects=True)
            assert resp.status_code == 400, (action, raw[:8], resp.status_code)
        resp = admin.post("/admin/tokens", {"revoke": raw}, follow_redirects=True)
        assert resp.status_code == 400, (raw[:8], resp.status_code)


@pytest.mark.parametrize("raw", ["²", "9" * 5000])
def test_revision_numbers_in_the_diff_address_are_read_not_crashed_on(app: Flask, raw: str) -> None:
    cast = Cast(app)
    st = cast.drafter.post("/statements", {"title": "回应", "body": "经核实。", "channels": ["portal"]}).get_json()
    drafter = Browser(app, "drafter_a")
    assert drafter.get(f"/statements/{st['id']}/diff?a={raw}").status_code == 400


def test_api_callers_get_the_field_named(app: Flask) -> None:
    cast = Cast(app)
    office: Api = cast.office
    assert "after" in fields(office.get(f"/ledger?after={2**31}"))
    assert set(fields(office.get("/reports/summary?from=9999-12-31&to=0001-01-01"))) == {"from", "to"}


def test_a_callback_timestamp_of_5000_digits_is_refused_not_a_500(app: Flask) -> None:
    anyone = app.test_client()  # /wechat/callback is public: WeChat's servers, and anybody else, call it
    for stamp in ("9" * 5000, "²", str(2**63)):
        resp = anyone.get("/wechat/callback", query_string={"timestamp": stamp, "nonce": "1", "signature": "x",
                                                            "echostr": "42"})
        assert resp.status_code == 403, (stamp[:8], resp.status_code)


@pytest.mark.parametrize(("typed", "read"), [
    ("2026-03-01T09:00", "2026-03-01T09:00+08:00"),  # what a datetime-local field sends: Shanghai wall time
    (" 2026-03-01T09:00:30 ", "2026-03-01T09:00:30+08:00"),
    ("2026-03-01T09:00+00:00", "2026-03-01T09:00+00:00"),  # an offset given is kept, never replaced
    ("", None),
    ("明天上午", "明天上午"),  # passed on as typed: `moment` names what is wrong beside the field
])
def test_one_reader_of_datetime_local_fields(typed: str, read: str | None) -> None:
    from app import params

    assert params.wall_time(typed) == read
