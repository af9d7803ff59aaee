"""The main navigation, contributed by the packages: each registers its entries when it is set up, and the base
template shows the ones the signed-in person may use. The kernel names no endpoint of a package above it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_login import current_user


@dataclass(frozen=True)
class Entry:
    """One link of the main navigation."""

    endpoint: str
    label: str  # a lazy string: translated when the page is drawn
    order: int  # left to right
    roles: tuple[str, ...] = ()  # shown to people with any of these roles; empty: to every signed-in person
    unless: tuple[str, ...] = ()  # ...but not to people with any of these (another entry already leads there)
    #: Endpoints that mark the entry as the current page; one ending in "*" is a prefix ("cases.*": a blueprint).
    current: tuple[str, ...] = ()

    def is_current(self, endpoint: str | None) -> bool:
        if not endpoint:
            return False
        return any(endpoint == c or (c.endswith("*") and endpoint.startswith(c[:-1]))
                   for c in self.current or (self.endpoint,))


_KEY = "huiying_nav"


def add(app: Flask, *entries: Entry) -> None:
    """Register entries of the main navigation (a package's `init_app` calls this)."""
    app.extensions.setdefault(_KEY, []).extend(entries)
    app.extensions[_KEY].sort(key=lambda e: e.order)


def entries() -> list[Entry]:
    """The entries the signed-in person may use, in order."""
    if not current_user.is_authenticated:
        return []
    return [e for e in current_app.extensions.get(_KEY, [])
            if (not e.roles or current_user.has_role(*e.roles)) and not (e.unless and current_user.has_role(*e.unless))]


def current(entry: Entry) -> bool:
    """Whether the page being drawn is this entry's."""
    return entry.is_current(request.endpoint)


def init_app(app: Flask) -> None:
    app.add_template_global(entries, "nav_entries")
    app.add_template_global(current, "nav_current")
