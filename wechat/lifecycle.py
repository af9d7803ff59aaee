"""Mass sends and their articles change state only through these tables (app/door.py)."""

from __future__ import annotations

import enum

from app.door import Transitions
from wechat.models import ItemState, MassState


class MassEvent(enum.StrEnum):
    REGROUPED = "regrouped"  # a member withdrawn before the submit: the others keep their order
    SUBMITTING = "submitting"
    ACCEPTED = "accepted"  # sendall answered msg_id (or 45065 with the msg_id of the earlier submit)
    FINISHED = "finished"  # SEND_SUCCESS
    RECORDED = "recorded"  # counts and article URLs arrived (MASSSENDJOBFINISH) or an article was deleted
    FAILED = "failed"
    NO_QUOTA = "no_quota"
    CANCELLED = "cancelled"


M, ME = MassState, MassEvent

MASS_SEND = Transitions("wechat_mass", MassEvent, {
    (M.RESERVED, ME.REGROUPED): M.RESERVED,
    (M.RESERVED, ME.SUBMITTING): M.SUBMITTING,
    (M.SUBMITTING, ME.ACCEPTED): M.SENDING,
    (M.SENDING, ME.FINISHED): M.SENT,
    (M.SENDING, ME.RECORDED): M.SENDING,
    (M.SENT, ME.RECORDED): M.SENT,
    **{(s, ME.FAILED): M.FAILED for s in (M.RESERVED, M.SUBMITTING, M.SENDING)},
    (M.SUBMITTING, ME.NO_QUOTA): M.NO_QUOTA,
    (M.RESERVED, ME.CANCELLED): M.CANCELLED,
}, initial=M.RESERVED, state_attr="state")


class ItemEvent(enum.StrEnum):
    BUNDLED = "bundled"
    REQUEUED = "requeued"  # its mass send found no quota (45028): waits again
    SWITCHED = "switched"
    WITHDRAWN = "withdrawn"


S, IE = ItemState, ItemEvent

MASS_ITEM = Transitions("wechat_mass_item", ItemEvent, {
    (S.WAITING, IE.BUNDLED): S.BUNDLED,
    (S.BUNDLED, IE.REQUEUED): S.WAITING,
    (S.WAITING, IE.SWITCHED): S.SWITCHED,
    (S.WAITING, IE.WITHDRAWN): S.WITHDRAWN,
    (S.BUNDLED, IE.WITHDRAWN): S.WITHDRAWN,
}, initial=S.WAITING, state_attr="state")
