"""A delivery's lifecycle: every change of `Delivery.state` is one of these events, through app/door.py."""

from __future__ import annotations

from app.door import Transitions
from publishing.models import DeliveryState

D = DeliveryState

DELIVERY = Transitions("delivery", {
    (D.PENDING, "claimed"): D.SENDING,
    (D.SENDING, "claimed"): D.SENDING,  # taken over: the claimant's lease ran out (its worker died)
    (D.SENDING, "staged"): D.SENDING,
    (D.SENDING, "released"): D.PENDING,  # given back: wait for go-live, for WeChat, or for a retry
    (D.SENDING, "out"): D.PUBLISHED,
    (D.SENDING, "failed"): D.FAILED,
    (D.PENDING, "failed"): D.FAILED,  # found out of attempts: its worker died on every one
    (D.SENDING, "taken_down"): D.RETRACTED,
    (D.FAILED, "retried"): D.PENDING,
    # a retraction cancels what never went out and sends the channel's own take-down for the rest
    **{(s, "retracted"): (D.RETRACTED, D.PENDING) for s in (D.PENDING, D.SENDING, D.PUBLISHED, D.FAILED)},
})
