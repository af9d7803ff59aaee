"""The one door's tables (issue 25): every declared event can happen, and every call names a declared event.

A table is checked as its module is imported; these tests check what an import cannot: that each event is
reachable from the aggregate's first state, and — reading the code base's syntax, not running it — that every
call to the door and every question put to a table names a member of that table's events, not a string.
"""

from __future__ import annotations

import ast
import enum
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.door import Transitions
from review.lifecycle import STATEMENT, StatementEvent
from review.models import Status

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "cases", "review", "publishing", "interaction", "wechat", "reports")
#: The door's functions (the table is their second argument, the event their third) and the table's
#: methods that take an event (the event is their first argument after the state, or their first).
DOOR_CALLS = {"transition": 2, "transition_where": 2}
TABLE_CALLS = {"allows": 1, "target": 1, "action": 0, "action_template": 0}


def sources() -> Iterator[tuple[Path, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def tables() -> dict[str, Transitions]:
    """Every `NAME = Transitions(…)` of the code base, by its name, imported."""
    found: dict[str, Transitions] = {}
    for path, tree in sources():
        for node in tree.body:
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                    and isinstance(node.value.func, ast.Name) and node.value.func.id == "Transitions"):
                (target,) = node.targets
                assert isinstance(target, ast.Name)
                module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                table = getattr(importlib.import_module(module), target.id)
                assert isinstance(table, Transitions) and target.id not in found
                found[target.id] = table
    return found


TABLES = tables()


def test_the_code_base_declares_a_table_per_aggregate() -> None:
    assert {t.name for t in TABLES.values()} == {"statement", "delivery", "case", "notification_send", "interaction",
                                                "wechat_mass", "wechat_mass_item"}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_event_is_reachable_from_the_first_state(name: str) -> None:
    table = TABLES[name]
    reached, frontier, taken = {str(table.initial)}, [str(table.initial)], set()
    while frontier:
        state = frontier.pop()
        for source, event, target in table.steps():
            if source == state:
                taken.add(event)
                if target not in reached:
                    reached.add(target)
                    frontier.append(target)
    assert set(table.events) - taken == set()


def test_a_table_refuses_what_is_not_one_of_its_events() -> None:
    class Step(enum.StrEnum):
        GO = "go"
        STAY = "stay"

    with pytest.raises(TypeError, match="not a Step step"):
        Transitions("t", Step, {(Status.DRAFT, "go"): Status.IN_REVIEW}, initial=Status.DRAFT)  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="events without a step"):
        Transitions("t", Step, {(Status.DRAFT, Step.GO): Status.IN_REVIEW}, initial=Status.DRAFT)
    with pytest.raises(TypeError, match="is not a StatementEvent"):
        STATEMENT.allows(Status.DRAFT, "edited")  # type: ignore[arg-type]
    assert STATEMENT.allows(Status.DRAFT, StatementEvent.EDITED)
    assert STATEMENT.action(StatementEvent.OUT_PARTLY) == "statement.channel_out"  # the trail's codes stay


def _names(node: ast.expr) -> str | None:
    """`STATEMENT` or `lifecycle.STATEMENT` → "STATEMENT"."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


class Calls(ast.NodeVisitor):
    """Each door call and table question, with the function it is in (to follow a variable to its values)."""

    def __init__(self) -> None:
        self.found: list[tuple[ast.Call, Transitions, ast.expr, ast.AST | None]] = []
        self.function: ast.AST | None = None

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:  # noqa: N802
        outer, self.function = self.function, node
        self.generic_visit(node)
        self.function = outer

    def visit_Call(self, node: ast.Call) -> None:  # noqa: N802
        name = _names(node.func)
        if name in DOOR_CALLS and len(node.args) > DOOR_CALLS[name]:
            table = TABLES.get(_names(node.args[1]) or "")
            assert table is not None, f"line {node.lineno}: {ast.unparse(node.args[1])} is not a declared table"
            self.found.append((node, table, node.args[DOOR_CALLS[name]], self.function))
        elif (isinstance(node.func, ast.Attribute) and node.func.attr in TABLE_CALLS
              and _names(node.func.value) in TABLES and len(node.args) > TABLE_CALLS[node.func.attr]):
            table = TABLES[_names(node.func.value) or ""]
            self.found.append((node, table, node.args[TABLE_CALLS[node.func.attr]], self.function))
        self.generic_visit(node)


def _is_member(node: ast.expr, events: type[enum.StrEnum], function: ast.AST | None) -> bool:
    """`Events.MEMBER`, a choice between such, or a variable of the function bound only to such."""
    if isinstance(node, ast.Attribute):
        return isinstance(node.value, ast.Name) and node.value.id == events.__name__ and node.attr in events.__members__
    if isinstance(node, ast.IfExp):
        return _is_member(node.body, events, function) and _is_member(node.orelse, events, function)
    if not isinstance(node, ast.Name) or function is None:
        return False
    bound: list[bool] = []
    assert isinstance(function, ast.FunctionDef)
    for arg in [*function.args.args, *function.args.kwonlyargs]:
        if arg.arg == node.id:  # a parameter: its annotation names the events
            bound.append(arg.annotation is not None and ast.unparse(arg.annotation) == events.__name__)
    for inner in ast.walk(function):
        if isinstance(inner, ast.Assign) and any(_names(t) == node.id for t in inner.targets):
            bound.append(_is_member(inner.value, events, function))
        elif isinstance(inner, ast.For):
            target = inner.target.elts[0] if isinstance(inner.target, ast.Tuple) else inner.target
            if _names(target) == node.id:  # `for step, … in mapping.items()`: the mapping's keys
                bound.append(_keys_are_members(inner.iter, events, function))
    return bool(bound) and all(bound)


def _keys_are_members(node: ast.expr, events: type[enum.StrEnum], function: ast.FunctionDef) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("items", "keys"):
        node = node.func.value
    for inner in ast.walk(function):
        if isinstance(inner, ast.Assign) and any(_names(t) == _names(node) for t in inner.targets):
            value = inner.value
            return isinstance(value, ast.Dict) and all(
                k is not None and _is_member(k, events, function) for k in value.keys)
    return False


def test_every_call_to_the_door_names_an_event_of_its_table() -> None:
    wrong, seen = [], 0
    for path, tree in sources():
        calls = Calls()
        calls.visit(tree)
        for call, table, event, function in calls.found:
            seen += 1
            if not _is_member(event, table.events, function):
                wrong.append(f"{path.relative_to(ROOT)}:{call.lineno}: {ast.unparse(event)} "
                             f"is not a {table.events.__name__} member")
    assert wrong == []
    assert seen >= 30  # the door's call sites were found: a test that finds none proves nothing
