"""The one door for state changes: a transition table per aggregate and a compare-and-set on its row.

Every aggregate with a lifecycle (Statement, Delivery, Case, NotificationSend) declares its events as a
`StrEnum` and `(state, event) → state` as a `Transitions` table, and changes state only through
`transition()` (a loaded row) or `transition_where()` (a machine's step on a row it has not loaded). Each
is one `UPDATE … WHERE id=:id AND <state>=:from [AND version=:v] [AND …]` that changes exactly one row or
fails, and each adds its audit event to the same transaction; the calling service commits once everything
that belongs to the step is in the session.

The concurrency scheme is one: **row lock, then compare-and-set.** A writer that decides from a row's
state first takes the row's lock — `app.tx.begin_write()` and `SELECT … FOR UPDATE` on PostgreSQL; on
SQLite `BEGIN IMMEDIATE` already holds the database's write lock — and reads it afresh, so a second
writer waits for the first and then decides on what the first left, on both databases alike. A step that
decides nothing beyond the row's own columns (a claim, a lease's settle) is a single conditional UPDATE,
which takes the same lock and checks in one statement. The door's compare-and-set is the guarantee under
either: whoever holds a copy older than the row (read before the lock, or in another transaction) changes
nothing and gets 409 `wrong_state`, never a lost update.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar, cast

from flask_babel import gettext as _
from sqlalchemy import CursorResult, update
from sqlalchemy.orm.attributes import set_committed_value

from app import audit
from app.errors import WrongState
from app.extensions import db
from app.models import User

E = TypeVar("E", bound=enum.StrEnum)


class Conflict(WrongState):
    """Someone else changed the row since it was read (409 wrong_state): reload and try again."""


class Transitions(Generic[E]):
    """`(state, event) → next state` for one aggregate, whose events are the members of `events`.

    Each step leads to exactly one state: a caller names the event, never the outcome. The table is
    checked when its module is imported: a key that is not a member of `events` (a string, a typo) or a
    member no step uses fails there, not as a 409 at run time. `actions` name an event's audit action
    where it is not `<name>.<event>`; `{obj.…}` in one is filled from the row (`delivery.{obj.channel}.…`).
    """

    def __init__(self, name: str, events: type[E], table: Mapping[tuple[enum.StrEnum, E], enum.StrEnum], *,
                 initial: enum.StrEnum, state_attr: str = "status", version_attr: str | None = "version",
                 actions: Mapping[E, str] | None = None) -> None:
        self.name, self.events, self.initial = name, events, initial
        self.state_attr, self.version_attr = state_attr, version_attr
        self._table: dict[tuple[str, E], str] = {}
        for (state, event), to in table.items():
            if not isinstance(event, events) or not isinstance(to, type(initial)):
                raise TypeError(f"{name}: ({state!r}, {event!r}) → {to!r} is not a {events.__name__} step")
            self._table[(str(state), event)] = str(to)
        unused = set(events) - {event for _state, event in self._table}
        if unused:
            raise TypeError(f"{name}: events without a step: {sorted(unused)}")
        self._actions = {self._member(e): a for e, a in (actions or {}).items()}

    def _member(self, event: E) -> E:
        if not isinstance(event, self.events):
            raise TypeError(f"{self.name}: {event!r} is not a {self.events.__name__}")
        return event

    def allows(self, state: str, event: E) -> bool:
        return (str(state), self._member(event)) in self._table

    def target(self, state: str, event: E) -> str:
        """The state `event` leads to from `state`; else 409 wrong_state."""
        target = self._table.get((str(state), self._member(event)))
        if target is None:
            raise WrongState(_("当前状态（%(s)s）不能进行此操作（%(e)s）", s=str(state), e=str(event)))
        return target

    def action(self, event: E, obj: Any = None) -> str:
        """The audit action `event` is recorded under (for the row `obj`, when the name mentions it)."""
        template = self.action_template(event)
        return template.format(obj=obj) if "{" in template else template

    def action_template(self, event: E) -> str:
        return self._actions.get(self._member(event), f"{self.name}.{event}")

    def steps(self) -> list[tuple[str, E, str]]:
        """Every declared step `(state, event, next state)`, for documentation and tests."""
        return [(s, e, t) for (s, e), t in self._table.items()]


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def transition(
    obj: Any,
    table: Transitions[E],
    event: E,
    *,
    actor: User | None,
    action: str | None = None,
    values: Mapping[str, Any] | None = None,
    where: Iterable[Any] = (),
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
) -> str:
    """Apply `event` to `obj`: compare-and-set on (id, state, version), audit, and return the new state.

    `values` are written in the same UPDATE; `where` adds conditions (a claim token, say); `action` names a
    finer audit action than the table's (which stage decided); `after` may be a callable, evaluated once the
    new state is on the object (to describe derived fields). Raises `Conflict` (409 wrong_state) when no row
    matched: another transaction changed it first. Does not commit.
    """
    model, state_attr = type(obj), table.state_attr
    current = getattr(obj, state_attr)
    target = table.target(current, event)
    changes = {state_attr: target, **{k: _plain(v) for k, v in (values or {}).items()}}
    conditions = [model.id == obj.id, getattr(model, state_attr) == current, *where]
    if table.version_attr is not None:
        version = getattr(obj, table.version_attr)
        changes[table.version_attr] = version + 1
        conditions.append(getattr(model, table.version_attr) == version)
    db.session.flush()  # pending ORM changes to this row must not be written after (and over) ours
    # an UPDATE's result is a CursorResult, which counts rows; Session.execute is typed for any statement
    result = cast(CursorResult[Any], db.session.execute(
        update(model).where(*conditions).values(**changes).execution_options(synchronize_session=False)
    ))
    if result.rowcount != 1:
        raise Conflict(_("已被他人更改，请刷新后重试"))
    for key, value in changes.items():
        set_committed_value(obj, key, value)
    audit.record(
        actor, action or table.action(event, obj), obj,
        before=before if before is not None else {state_attr: str(current)},
        after=(after() if callable(after) else after) if after is not None else {state_attr: target},
    )
    return target


def transition_where(
    model: type[Any],  # the mapped class of a door's table: every one has an integer `id`
    table: Transitions[E],
    event: E,
    ident: int,
    *,
    from_states: Iterable[str],
    where: Iterable[Any] = (),
    values: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> bool:
    """Apply `event` to the row `ident` if it is in one of `from_states` and meets `where`, without loading it.

    For steps a machine takes many times a second (a worker claiming a delivery): the compare-and-set is
    on the state and the conditions, every from-state must lead to the same state, and the version (if the
    table keeps one) is bumped so that a writer holding the row as it was cannot win afterwards. The audit
    event joins the same transaction (an INSERT flushed with the commit, no round trip of its own). True
    when it applied.
    """
    sources = [str(s) for s in from_states]
    targets = {table.target(s, event) for s in sources}
    if len(targets) != 1:
        raise ValueError(f"{table.name}.{event}: from {sources} leads to several states {sorted(targets)}")
    target = targets.pop()
    changes: dict[str, Any] = {table.state_attr: target, **{k: _plain(v) for k, v in (values or {}).items()}}
    if table.version_attr is not None:
        changes[table.version_attr] = getattr(model, table.version_attr) + 1
    result = cast(CursorResult[Any], db.session.execute(  # (see `transition`)
        update(model)
        .where(model.id == ident, getattr(model, table.state_attr).in_(sources), *where)
        .values(**changes)
        .execution_options(synchronize_session=False)
    ))
    if result.rowcount != 1:
        return False
    audit.record_row(None, table.action(event), model.__name__.lower(), ident,
                     before={table.state_attr: sources if len(sources) > 1 else sources[0]},
                     after={table.state_attr: target, **(after or {})})
    return True
