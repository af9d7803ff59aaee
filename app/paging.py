"""Cutting a list into pages: the one place that turns `page`/`per_page` into LIMIT/OFFSET and counts.

Every list of the API and of the pages comes through here, so the bounds (interface §3: `page` from 1,
`per_page` 1–100) and "a page beyond the end is empty, not an error, and costs no query" hold everywhere.
Lists that grow without end (the public record) page by key instead (publishing/views.py `record`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, func, select

from app.extensions import db
from app.params import MAX_PAGE

#: What a page shows unless asked otherwise, and the most the API gives at once.
PER_PAGE = 20
MAX_PER_PAGE = 100

S = TypeVar("S", bound=Select[Any])


@dataclass(frozen=True)
class Cut:
    """Which page of a list: `page` from 1, `per_page` rows each. People's input is checked before (the
    `Paging` model, `params.page_number`); out of bounds here is a programming error."""

    page: int = 1
    per_page: int = PER_PAGE

    def __post_init__(self) -> None:
        if not 1 <= self.page <= MAX_PAGE or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise ValueError(f"page {self.page} of {self.per_page} is outside 1…{MAX_PAGE} of 1…{MAX_PER_PAGE}")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def pages(self, total: int) -> int:
        """How many pages `total` rows make (at least one, the empty list's)."""
        return max(1, -(-total // self.per_page))


def count(query: Select[Any]) -> int:
    """How many rows `query` selects (its order dropped: counting needs none)."""
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def window(query: S, at: Cut) -> S:
    """`query` (ordered) cut to the page."""
    return query.limit(at.per_page).offset(at.offset)


def page_of(query: Select[Any], at: Cut, *, total: int | None = None) -> tuple[list[Any], int]:
    """The objects of `query` (ordered) on the page, and how many there are in all (counted unless given)."""
    total = count(query) if total is None else total
    return (list(db.session.scalars(window(query, at))) if at.offset < total else []), total


def rows_of(query: Select[Any], at: Cut, *, total: int | None = None) -> tuple[list[Any], int]:
    """`page_of` for a query of several columns: its rows as tuples."""
    total = count(query) if total is None else total
    return (list(db.session.execute(window(query, at)).all()) if at.offset < total else []), total
