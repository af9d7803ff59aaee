"""Publishing: releases, the outbox, priority queues, the portal channel and the statement ledger."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register publishing's pages, API and channel hooks."""
