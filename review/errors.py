"""The workflow's own refusals (interface §3 rules 1–3)."""

from __future__ import annotations

from app.errors import Forbidden, HuiyingError


class SelfReview(Forbidden):
    """Whoever wrote any revision of a statement cannot review it."""

    code = "self_review"


class DuplicateReviewer(Forbidden):
    """One person cannot approve two stages (or twice) of the same revision."""

    code = "duplicate_reviewer"


class StaleRevision(HuiyingError):
    """The decision names a hash that is no longer the statement's text."""

    status, code = 409, "stale_revision"


class StageNotReady(HuiyingError):
    """The stage asked for is not the one the statement waits on."""

    status, code = 409, "stage_not_ready"


class ChecksFailed(HuiyingError):
    """The text has a `block` finding of the pre-publication checks (interface §10): fix it first."""

    status, code = 409, "checks_failed"

    def __init__(self, message: str, checks: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.fields = {"checks": checks}  # type: ignore[dict-item]
