"""The one door for state changes: a transition table per aggregate and a compare-and-set on its row.

Every aggregate with a lifecycle (Statement, Delivery, Case) declares `(state, event) → state(s)` as a
`Transitions` table and changes state only through `transition()`: an `UPDATE … WHERE id=:id AND
<state>=:from AND version=:v` that either changes exactly one row or raises the contract's 409. Two
requests that read the same version cannot both win, on SQLite as on PostgreSQL; the loser learns it
from the database, not from a lock it hoped to hold. The audit event is written in the same transaction;
the calling service commits once everything that belongs to the step is in the session.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from app import audit
from app.errors import WrongState
from app.extensions import db
from app.models import User


class Conflict(WrongState):
    """Someone else changed the row since it was read (409 wrong_state): reload and try again."""


class Transitions:
    """`(state, event) → allowed next states` for one aggregate; the first listed is the default."""

    def __init__(self, name: str, table: Mapping[tuple[str, str], str | Iterable[str]]) -> None:
        self.name = name
        self._table: dict[tuple[str, str], tuple[str, ...]] = {}
        for (state, event), to in table.items():
            targets = (to,) if isinstance(to, str) else tuple(to)
            self._table[(str(state), str(event))] = tuple(str(t) for t in targets)

    def allows(self, state: str, event: str) -> bool:
        return (str(state), str(event)) in self._table

    def target(self, state: str, event: str, to: str | None = None) -> str:
        """The state `event` leads to from `state` (or `to`, if the table allows it); else 409 wrong_state."""
        targets = self._table.get((str(state), str(event)))
        if targets is None:
            raise WrongState(_("当前状态（%(s)s）不能进行此操作（%(e)s）", s=str(state), e=str(event)))
        if to is None:
            return targets[0]
        if str(to) not in targets:
            raise WrongState(_("当前状态（%(s)s）不能进行此操作（%(e)s）", s=str(state), e=str(event)))
        return str(to)

    def events(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """Every declared step, for documentation and tests."""
        return [(s, e, t) for (s, e), t in self._table.items()]


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def transition(
    obj: Any,
    table: Transitions,
    event: str,
    *,
    actor: User | None,
    action: str | None = None,
    to: str | None = None,
    values: Mapping[str, Any] | None = None,
    where: Iterable[Any] = (),
    state_attr: str = "status",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
    audit_obj: Any = None,
) -> str:
    """Apply `event` to `obj`: compare-and-set on (id, state, version), audit, and return the new state.

    `values` are written in the same UPDATE; `where` adds conditions (a claim token, say); `after` may be
    a callable, evaluated once the new state is on the object (to describe derived fields). Raises
    `Conflict` (409 wrong_state) when no row matched: another transaction changed it first. Does not
    commit: the service commits once the step's other rows (decision, release, event) are added.
    """
    model = type(obj)
    state_col = getattr(model, state_attr)
    current = getattr(obj, state_attr)
    version = obj.version
    target = table.target(current, event, to)
    changes = {state_attr: target, "version": version + 1, **{k: _plain(v) for k, v in (values or {}).items()}}
    db.session.flush()  # pending ORM changes to this row must not be written after (and over) ours
    result = db.session.execute(
        update(model)
        .where(model.id == obj.id, state_col == current, model.version == version, *where)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(_("已被他人更改，请刷新后重试"))
    for key, value in changes.items():
        set_committed_value(obj, key, value)
    audit.record(
        actor, action or f"{table.name}.{event}", audit_obj if audit_obj is not None else obj,
        before=before if before is not None else {state_attr: current},
        after=(after() if callable(after) else after) if after is not None else {state_attr: target},
    )
    return target


def transition_where(
    model: type,
    table: Transitions,
    event: str,
    ident: int,
    *,
    from_states: Iterable[str],
    where: Iterable[Any] = (),
    values: Mapping[str, Any] | None = None,
    state_attr: str = "status",
) -> bool:
    """Apply `event` to the row `ident` if it is in one of `from_states` and meets `where`, without loading it.

    For steps a machine takes many times a second (a worker claiming a delivery): the compare-and-set is
    on the state and the conditions, every from-state must lead to the same state, and the version is
    bumped so that a writer holding the row as it was before cannot win afterwards. True when it applied.
    """
    sources = [str(s) for s in from_states]
    targets = {table.target(s, event) for s in sources}
    if len(targets) != 1:
        raise ValueError(f"{table.name}.{event}: from {sources} leads to several states {sorted(targets)}")
    state_col = getattr(model, state_attr)
    result = db.session.execute(
        update(model)
        .where(model.id == ident, state_col.in_(sources), *where)
        .values(**{state_attr: targets.pop(), "version": model.version + 1,
                   **{k: _plain(v) for k, v in (values or {}).items()}})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
