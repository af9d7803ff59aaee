"""Who may do what to an interaction, and which step may follow which (interface §15), as plain functions."""

from __future__ import annotations

import enum

from flask_babel import gettext as _

from app.door import Transitions
from app.errors import WrongRole, WrongUnit
from app.models import Role, User
from interaction.models import Interaction, InteractionStatus


class InteractionStep(enum.StrEnum):
    """What can happen to an interaction; each leads to exactly one state."""

    ASSIGN = "assign"
    LINK_CASE = "link_case"


S, E = InteractionStatus, InteractionStep

#: The one table of an interaction's lifecycle; app.door.transition applies it as a compare-and-set.
INTERACTION_FLOW = Transitions("interaction", InteractionStep, {
    (S.NEW, E.ASSIGN): S.ASSIGNED,
    # the office may hand it to another unit until a reply is drafted
    (S.ASSIGNED, E.ASSIGN): S.ASSIGNED,
    # escalating to a case changes where it stands in no way: the case runs beside it
    **{(s, E.LINK_CASE): s for s in (S.NEW, S.ASSIGNED, S.REPLY_PENDING, S.REPLIED)},
}, initial=S.NEW)


def can_see(user: User, item: Interaction) -> bool:
    """As cases: office and admin see every interaction; everyone else those of their own unit."""
    return user.sees_all_units or (item.unit_id is not None and user.unit_id == item.unit_id)


def _role(user: User, *roles: Role) -> None:
    if not user.has_role(*roles):
        from cases.labels import ROLE

        raise WrongRole(_("需要以下角色之一：%(roles)s", roles="、".join(str(ROLE[r]) for r in roles)))


def may_post(user: User) -> None:
    """`POST /interactions`: another system's `integration` token, or the office."""
    _role(user, Role.INTEGRATION, Role.OFFICE)


def may_assign(user: User) -> None:
    """分派: the office only."""
    _role(user, Role.OFFICE)


def may_escalate(user: User, item: Interaction) -> None:
    """转为舆情: the office, or a drafter or leader of the interaction's unit."""
    _role(user, Role.OFFICE, Role.DRAFTER, Role.LEADER)
    if not user.has_role(Role.OFFICE) and user.unit_id != item.unit_id:
        raise WrongUnit(_("只能处理本单位的互动"))
