"""Upgrading a database whose closed cases still have running clocks (interface §20): migration
0017_case_intake_waived waives what was still pending at closing and leaves overdue, met and open cases alone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from tests.conftest import _config, fresh_postgres

BEFORE, AFTER = "0016_case_first_response", "0017_case_intake_waived"


def _filler(column: sa.Column[Any]) -> Any:
    """A value for a required column the test does not care about."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 0
    if isinstance(kind, sa.DateTime):
        return datetime(2026, 1, 1)
    if isinstance(kind, sa.JSON):
        return {}
    return "x"


def _insert(connection: sa.Connection, table_name: str, **given: Any) -> int:
    """Insert a row as the schema of the time knows it: the given values, fillers for other required columns."""
    table = sa.Table(table_name, sa.MetaData(), autoload_with=connection)
    values = {c.name: _filler(c) for c in table.columns
              if not (c.nullable or c.primary_key or c.server_default is not None)}
    values.update(given)
    return int(connection.execute(table.insert().values(**values)).inserted_primary_key[0])


@contextmanager
def _database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
    else:
        with fresh_postgres("huiying_test_p5mig") as url:
            yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with _database(request, tmp_path) as url:
        yield url


def test_the_upgrade_waives_clocks_still_running_when_their_case_was_closed(old_url: str, tmp_path: Path) -> None:
    app = create_app(_config(old_url, str(tmp_path / "media")))
    now = datetime.now(UTC).replace(tzinfo=None)
    closed_at = now - timedelta(days=3)
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as c:
            unit = _insert(c, "units", code="A", name="植保所")
            person = _insert(c, "users", username="office", unit_id=unit, active=True)

            def case(status: str, closed: datetime | None) -> int:
                return _insert(c, "cases", title="舆情", source="weibo", discovered_at=closed_at - timedelta(hours=6),
                               status=status, lead_unit_id=unit, created_by=person, closed_at=closed)

            def clock(case_id: int, due: datetime, met: datetime | None = None) -> int:
                return _insert(c, "deadlines", case_id=case_id, kind="press_conference", spec="24h",
                               started_at=closed_at - timedelta(hours=6), due_at=due, met_at=met, alerted=0,
                               next_alert_at=due)

            closed, still_open = case("closed", closed_at), case("handling", None)
            running = clock(closed, closed_at + timedelta(hours=18))
            overdue = clock(closed, closed_at - timedelta(hours=1))
            met = clock(closed, closed_at + timedelta(hours=18), met=closed_at - timedelta(hours=2))
            open_one = clock(still_open, now + timedelta(hours=5))
        upgrade(revision=AFTER)
        rows = {r.id: r for r in db.session.execute(sa.text("SELECT id, waived_at, next_alert_at FROM deadlines"))}
        db.engine.dispose()

    def at(value: Any) -> datetime | None:
        return datetime.fromisoformat(value) if isinstance(value, str) else value

    assert at(rows[running].waived_at) == closed_at and rows[running].next_alert_at is None
    assert rows[overdue].waived_at is None
    assert rows[met].waived_at is None
    assert rows[open_one].waived_at is None and rows[open_one].next_alert_at is not None
