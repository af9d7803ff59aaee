"""Term lists the checks read: sensitive terms, their allowed exceptions, the leaders' names and titles;
and the other bodies (agencies) whose confirmation statements most often need, which the editor offers.

One row per list; `version` moves on every change so a compiled matcher (review/checks.py) is rebuilt
only when its list changed. Editing a list re-checks every open draft, so what a signer sees is current.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from app import audit
from app.errors import Invalid
from app.extensions import Model, db
from app.models import Role, User
from app.timeutil import UTCDateTime, utcnow
from app.tx import begin_write
from review import rules

TERM_MAX, TERMS_MAX = 64, 50_000


class Kind(enum.StrEnum):
    SENSITIVE = "sensitive"
    ALLOWED = "allowed"
    LEADERS = "leaders"
    #: Other bodies the editor offers for confirmation (free text stays possible); the checks do not read it.
    AGENCIES = "agencies"


class Terms(Model):
    """One admin-maintained list; `items` are strings, or `{name, title}` for leaders."""

    __tablename__ = "term_lists"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


def current() -> dict[str, Any]:
    """The lists as interface §10 shows them, with each list's version."""
    rows = {row.kind: row for row in db.session.scalars(select(Terms))}
    out: dict[str, Any] = {kind.value: list(rows[kind].items) if kind in rows else [] for kind in Kind}
    out["versions"] = {kind.value: rows[kind].version if kind in rows else 0 for kind in Kind}
    return out


def parse(data: Any) -> dict[Kind, list[Any]]:
    """Validate a `PUT /terms` body (`review.schemas.TermsIn`): any of the three lists; the ones given
    replace the stored ones (blank entries dropped, repeats kept once)."""
    from app.validation import parse as parse_model
    from review.schemas import TermsIn

    values = parse_model(TermsIn, data, _("词表有误"))
    out: dict[Kind, list[Any]] = {}
    for kind in (Kind.SENSITIVE, Kind.ALLOWED, Kind.AGENCIES):
        if kind.value in values.model_fields_set:
            out[kind] = list(dict.fromkeys(v.strip() for v in getattr(values, kind.value) if v.strip()))
    if Kind.LEADERS.value in values.model_fields_set:
        seen: dict[tuple[str, str], dict[str, str]] = {}
        for leader in values.leaders:
            item = {"name": leader.name, "title": leader.title.strip()}
            seen.setdefault((item["name"], item["title"]), item)
        out[Kind.LEADERS] = list(seen.values())
    if sum(len(v) for v in out.values()) > TERMS_MAX:
        raise Invalid(_("词表有误"), fields={"_": _("词条总数不能超过 %(n)d", n=TERMS_MAX)})
    return out


def _missing(items: list[Any], others: list[Any]) -> list[Any]:
    """The entries of `items` that `others` lacks (leaders are compared as whole `{name, title}` objects)."""
    have = {json.dumps(item, ensure_ascii=False, sort_keys=True) for item in others}
    return [item for item in items if json.dumps(item, ensure_ascii=False, sort_keys=True) not in have]


def replace(actor: User | None, lists: Mapping[Kind, list[Any]]) -> int:
    """Store the given lists, audit the change, re-check open drafts; returns how many were re-checked.

    `actor` must be an admin; None is the operator at the command line (`huiying terms import`).
    """
    from review import checks

    if actor is not None:
        rules.require_role(actor, Role.ADMIN)
    begin_write()
    for kind, items in lists.items():
        row = db.session.get(Terms, kind.value)
        if row is None:
            row = Terms(kind=kind.value, items=[], version=0)
            db.session.add(row)
        if row.items == items:
            continue
        # what went and what came, so the trail shows the change itself and not only its size
        before = {"count": len(row.items), "version": row.version, "removed": _missing(row.items, items)}
        after = {"count": len(items), "version": row.version + 1, "added": _missing(items, row.items)}
        row.items, row.version = list(items), row.version + 1
        row.updated_at, row.updated_by_id = utcnow(), actor.id if actor else None
        audit.record(actor, f"terms.{kind.value}.replace", row, before=before, after=after)
    db.session.flush()
    rechecked = checks.recheck_open() if set(lists) - {Kind.AGENCIES} else 0
    db.session.commit()
    return rechecked


def agencies() -> list[str]:
    """The maintained list of other bodies, in the order the admin gave."""
    row = db.session.get(Terms, Kind.AGENCIES.value)
    return list(row.items) if row is not None else []


def read_file(lines: Iterable[str]) -> dict[Kind, list[Any]]:
    """A term file: one term a line, `#` comments, `[sensitive]`/`[allowed]`/`[leaders]`/`[agencies]` sections
    (default sensitive); a leader line is `姓名 职务`."""
    out: dict[Kind, list[Any]] = {}
    kind = Kind.SENSITIVE
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            try:
                kind = Kind(line[1:-1].strip())
            except ValueError:
                raise Invalid(_("未知的分节：%(s)s", s=line[:32]), fields={"file": line[:32]}) from None
            continue
        if kind == Kind.LEADERS:
            name, _sep, title = line.replace("\t", " ").partition(" ")
            out.setdefault(kind, []).append({"name": name.strip(), "title": title.strip()})
        else:
            out.setdefault(kind, []).append(line)
    return out


def merge(lists: Mapping[Kind, list[Any]]) -> dict[str, Any]:
    """The stored lists with these added (a file import adds; it never drops what an admin entered)."""
    stored = current()
    return {kind.value: stored[kind.value] + list(lists.get(kind, [])) for kind in Kind}
