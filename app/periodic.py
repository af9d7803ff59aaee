"""The worker's periodic steps, declared by each package at start-up (`register`), run by the worker.

Lets a package higher up (reports) add a sweep without anything below it importing it: the imports
stay one-way, and the worker only knows this list.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

_KEY = "huiying_periodic"


def register(app: Flask, name: str, step: Callable[[], int | None]) -> None:
    """Run `step` (in an app context) on every sweep of every worker; its failures are logged, not raised."""
    steps: list[tuple[str, Callable[[], int | None]]] = app.extensions.setdefault(_KEY, [])
    if all(existing != name for existing, _ in steps):
        steps.append((name, step))


def steps(app: Flask) -> list[tuple[str, Callable[[], int | None]]]:
    """The declared steps, in the order the packages registered them."""
    return list(app.extensions.get(_KEY, []))
