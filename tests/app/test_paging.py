"""One paging helper (app/paging.py) behind every list: its bounds, and a page past the end (interface §3)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select

from app import paging
from app.extensions import db
from app.models import Unit
from app.paging import Cut
from tests.factories import Office, unit


@pytest.mark.parametrize(("page", "per_page"), [(0, 20), (1, 0), (1, 101), (1_000_001, 20)])
def test_a_cut_outside_the_bounds_is_a_programming_error(page: int, per_page: int) -> None:
    with pytest.raises(ValueError):
        Cut(page, per_page)


def test_pages_of_a_total() -> None:
    assert [Cut(1, 20).pages(n) for n in (0, 1, 20, 21, 41)] == [1, 1, 1, 2, 3]
    assert Cut(3, 20).offset == 40 and Cut(1_000_000, 100).offset == 99_999_900


def test_a_page_past_the_end_is_empty_and_reads_no_rows(app: Flask) -> None:
    for n in range(5):
        unit(app, f"PG{n}")
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

        def seen(*args: Any) -> None:
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", seen)
        try:
            query = select(Unit).where(Unit.code.startswith("PG")).order_by(Unit.code)
            assert [u.code for u in paging.page_of(query, Cut(2, 2))[0]] == ["PG2", "PG3"]
            statements.clear()
            assert paging.page_of(query, Cut(4, 2)) == ([], 5)
            assert len(statements) == 1 and "count(" in statements[0].lower()  # the count, no page query
            assert paging.page_of(query, Cut(3, 2))[0][0].code == "PG4"  # the last, partial page
        finally:
            event.remove(engine, "before_cursor_execute", seen)


def test_the_api_bounds_page_and_per_page(app: Flask) -> None:
    caller = Office(app, "PGA").drafter
    total = caller.get("/units").get_json()["total"]
    assert total >= 2
    beyond = caller.get("/units?page=1000000&per_page=100")
    assert beyond.status_code == 200 and beyond.get_json() == {"items": [], "total": total}
    assert len(caller.get("/units?per_page=1").get_json()["items"]) == 1
    assert len(caller.get("/units?per_page=100").get_json()["items"]) == total
    for bad, field in (("per_page=0", "per_page"), ("per_page=101", "per_page"), ("page=0", "page"),
                       ("page=1000001", "page"), ("per_page=abc", "per_page")):
        resp = caller.get(f"/units?{bad}")
        assert resp.status_code == 400, bad
        assert resp.get_json()["error"]["code"] == "invalid" and field in resp.get_json()["error"]["fields"], bad
