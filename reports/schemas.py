"""Reports' query and answer models (interface §12)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from app.openapi import Out
from app.validation import Day, Query
from cases.schemas import CaseFilters


class Period(Query):
    from_: Annotated[Day | None, Field(alias="from", description="first day, YYYY-MM-DD (Asia/Shanghai); "
                                                          "default the month's first")] = None
    to: Annotated[Day | None, Field(description="last day, inclusive; at most two years after `from`")] = None


class SummaryQuery(Period):
    """`GET /reports/summary`."""

    unit: Annotated[str | None, Field(max_length=32, description="unit code (office); a leader's own unit")] = None


class ExportQuery(CaseFilters, Period):
    """`GET /cases/export.xlsx`: the register's filters, and `from`/`to` on `discovered_at`."""


class Figures(Out):
    total: int
    met: int
    met_late: int
    overdue: int
    #: interface §20: the case was closed before the clock fell due; counted neither met nor overdue.
    waived: int
    pending: int
    on_time_rate: float | None


class Hours(Out):
    median: float | None
    p90: float | None


class SummaryOut(Out):
    """The period's figures."""

    cases: dict[str, Any]
    deadlines: dict[str, Figures]
    response_hours: dict[str, Hours]
    statements: dict[str, Any]
    freshness: dict[str, Any]
