"""Term lists the checks read: sensitive terms, their allowed exceptions, the leaders' names and titles.

One row per list; `version` moves on every change so a compiled matcher (review/checks.py) is rebuilt
only when its list changed. Editing a list re-checks every open draft, so what a signer sees is current.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from app import audit
from app.api import require_mapping
from app.errors import Invalid
from app.extensions import db
from app.models import Role, User
from app.timeutil import UTCDateTime, utcnow
from app.tx import begin_write
from review import rules

TERM_MAX, TERMS_MAX = 64, 50_000


class Kind(enum.StrEnum):
    SENSITIVE = "sensitive"
    ALLOWED = "allowed"
    LEADERS = "leaders"


class Terms(db.Model):
    """One admin-maintained list; `items` are strings, or `{name, title}` for leaders."""

    __tablename__ = "term_lists"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


def current() -> dict[str, Any]:
    """The lists as CONTRACT §10 shows them, with each list's version."""
    rows = {row.kind: row for row in db.session.scalars(select(Terms))}
    out: dict[str, Any] = {kind.value: list(rows[kind].items) if kind in rows else [] for kind in Kind}
    out["versions"] = {kind.value: rows[kind].version if kind in rows else 0 for kind in Kind}
    return out


def _words(value: Any, name: str, fields: dict[str, str]) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fields[name] = _("应为字符串列表")
        return None
    words = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    if any(len(w) > TERM_MAX for w in words):
        fields[name] = _("每项不能超过 %(n)d 个字符", n=TERM_MAX)
        return None
    return words


def _leaders(value: Any, fields: dict[str, str]) -> list[dict[str, str]] | None:
    ok = isinstance(value, list) and all(
        isinstance(v, Mapping) and isinstance(v.get("name"), str) and v["name"].strip()
        and isinstance(v.get("title", ""), str) and len(v["name"]) <= TERM_MAX and len(v.get("title", "")) <= TERM_MAX
        for v in value
    )
    if not ok:
        fields["leaders"] = _("应为 {\"name\": 姓名, \"title\": 职务} 对象的列表")
        return None
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for v in value:
        item = {"name": v["name"].strip(), "title": v.get("title", "").strip()}
        seen.setdefault((item["name"], item["title"]), item)
    return list(seen.values())


def parse(data: Any) -> dict[Kind, list[Any]]:
    """Validate a `PUT /terms` body: any of the three lists; the ones given replace the stored ones."""
    data = require_mapping(data)
    fields: dict[str, str] = {}
    out: dict[Kind, list[Any]] = {}
    for name in data:
        if name not in {k.value for k in Kind}:
            fields[name] = _("未知的列表（应为 sensitive、allowed 或 leaders）")
    for kind in (Kind.SENSITIVE, Kind.ALLOWED):
        if kind.value in data:
            words = _words(data[kind.value], kind.value, fields)
            if words is not None:
                out[kind] = words
    if Kind.LEADERS.value in data:
        leaders = _leaders(data[Kind.LEADERS.value], fields)
        if leaders is not None:
            out[Kind.LEADERS] = leaders
    if sum(len(v) for v in out.values()) > TERMS_MAX:
        fields["_"] = _("词条总数不能超过 %(n)d", n=TERMS_MAX)
    if fields:
        raise Invalid(_("词表有误"), fields=fields)
    return out


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
        before = {"count": len(row.items), "version": row.version}
        if row.items == items:
            continue
        row.items, row.version = list(items), row.version + 1
        row.updated_at, row.updated_by_id = utcnow(), actor.id if actor else None
        audit.record(actor, f"terms.{kind.value}.replace", row, before=before,
                     after={"count": len(items), "version": row.version})
    db.session.flush()
    rechecked = checks.recheck_open()
    db.session.commit()
    return rechecked


def read_file(lines: Iterable[str]) -> dict[Kind, list[Any]]:
    """A term file: one term a line, `#` comments, `[sensitive]`/`[allowed]`/`[leaders]` sections
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
