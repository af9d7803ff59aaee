"""An outgoing copy's lifecycle: every change of `NotificationSend.state` is one of these events, through
app/door.py, audited like every other transition.

The row keeps no version: its claim generation is `attempts` (each claim adds one, and an attempt's outcome
is written only where `attempts` is still that claim's), given to the door as a condition.
"""

from __future__ import annotations

import enum

from app.door import Transitions
from app.notifications.models import SendState


class SendEvent(enum.StrEnum):
    """What can happen to an outgoing copy; each leads from a state to exactly one other."""

    CLAIMED = "claimed"  # a sender takes it for one attempt: `next_attempt_at` moves on by the lease
    SENT = "sent"
    FAILED = "failed"  # refused for good, or out of attempts
    DEFERRED = "deferred"  # this attempt failed for now: the next is due after a backoff


P = SendState.PENDING

SEND = Transitions("notification_send", SendEvent, {
    (P, SendEvent.CLAIMED): P,
    (P, SendEvent.SENT): SendState.SENT,
    (P, SendEvent.FAILED): SendState.FAILED,
    (P, SendEvent.DEFERRED): P,
}, initial=P, state_attr="state", version_attr=None)
