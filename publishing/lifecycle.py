"""A delivery's lifecycle: every change of `Delivery.state` is one of these events, through app/door.py."""

from __future__ import annotations

import enum

from app.door import Transitions
from publishing.models import DeliveryState


class DeliveryEvent(enum.StrEnum):
    """What can happen to one channel's delivery; each leads from a state to exactly one other."""

    CLAIMED = "claimed"  # a worker takes it (a pending one, or one whose claimant's lease ran out)
    STAGED = "staged"
    RELEASED = "released"  # given back: wait for go-live, for WeChat, or for a retry
    OUT = "out"
    FAILED = "failed"
    TAKEN_DOWN = "taken_down"
    RETRIED = "retried"
    CANCELLED = "cancelled"  # retracted before it ever left Huiying
    TAKEDOWN = "takedown"  # retracted while out there (or maybe): the channel's own take-down is queued
    READ_BACK = "read_back"  # what the channel shows was read and compared (publishing/readback.py)


D, E = DeliveryState, DeliveryEvent

DELIVERY = Transitions("delivery", DeliveryEvent, {
    (D.PENDING, E.CLAIMED): D.SENDING,
    (D.SENDING, E.CLAIMED): D.SENDING,  # taken over: the claimant's lease ran out (its worker died)
    (D.SENDING, E.STAGED): D.SENDING,
    (D.SENDING, E.RELEASED): D.PENDING,
    (D.SENDING, E.OUT): D.PUBLISHED,
    (D.SENDING, E.FAILED): D.FAILED,
    (D.PENDING, E.FAILED): D.FAILED,  # found out of attempts: its worker died on every one
    (D.SENDING, E.TAKEN_DOWN): D.RETRACTED,
    (D.FAILED, E.RETRIED): D.PENDING,
    (D.PENDING, E.CANCELLED): D.RETRACTED,
    (D.FAILED, E.CANCELLED): D.RETRACTED,
    **{(s, E.TAKEDOWN): D.PENDING for s in (D.PENDING, D.SENDING, D.PUBLISHED, D.FAILED)},
    (D.PUBLISHED, E.READ_BACK): D.PUBLISHED,
}, initial=D.PENDING, state_attr="state", actions={
    # the audit trail's codes, kept across versions (interface §11): `delivery.<channel>.<step>`
    E.RELEASED: "delivery.{obj.channel}.released",
    E.OUT: "delivery.{obj.channel}.published",
    E.FAILED: "delivery.{obj.channel}.failed",
    E.TAKEN_DOWN: "delivery.{obj.channel}.retracted",
    E.RETRIED: "delivery.{obj.channel}.retry",
    E.CANCELLED: "delivery.{obj.channel}.cancel",
    E.TAKEDOWN: "delivery.{obj.channel}.takedown",
    E.READ_BACK: "delivery.readback",
})
