"""Render once: a revision's text never changes, so neither does any channel's HTML of it.

Each renderer registers here with a version (the portal's below; the WeChat package registers its own at app
start, so review never imports it). A rendering is stored in `renderings` under (sha256 of the body, renderer,
version) when a revision is saved — in the saving transaction — or, for a revision saved before this table
existed, the first time it is shown; pages, previews, the API, dispatch and read-back all read it from there
(and from a small in-process cache in front). It is keyed by the body's hash rather than the revision hash
because the HTML depends on the body alone: a revision that only changed its title reuses it, and callers that
hold only the text (an outbox job, a read-back) find it without another query. A renderer whose output changes
bumps its version; a body already stored keeps the rendering it has (what was reviewed, approved and published:
the leader's approval names it, `rendering_key`), and only bodies never stored are rendered by the new version.

**Time budget.** Rendering runs in a helper process (`review.render_worker`, one per server process, started on
first use) and the caller waits at most `RENDER_BUDGET_SECONDS` (config, default 5) for the answer; after that
the helper is killed and the text refused with a message a person can act on. A process, because nothing else
bounds the cost: a thread that overruns cannot be stopped and keeps the CPU (and the GIL), and a work counter
inside a parser cannot interrupt one long regular-expression match. The renderers themselves are linear
(markdown-it-py, nh3), so the budget is a safety net for the unforeseen, not the defence.
"""

from __future__ import annotations

import atexit
import contextvars
import hashlib
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import JSON, String, Text
from sqlalchemy import select as sql_select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from app.errors import Invalid
from app.extensions import SQLITE_BUSY_MS, SQLITE_WRITER, Model, db
from app.timeutil import UTCDateTime, utcnow
from app.tx import in_write
from review import render

log = logging.getLogger(__name__)

DEFAULT_BUDGET_SECONDS = 5.0
#: Renderings kept in each process's memory (most recently used).
MEMORY_ENTRIES = 512


class Rendering(Model):
    """One channel's HTML of one body, by one version of its renderer. Rows are never changed."""

    __tablename__ = "renderings"

    body_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    renderer: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[str] = mapped_column(String(16), primary_key=True)
    html: Mapped[str] = mapped_column(Text)
    #: What the renderer found besides the HTML (WeChat: cited links and images), or None.
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


@dataclass(frozen=True)
class Renderer:
    name: str
    version: str
    #: "module:function", called in the helper process: body → html, or (html, data)
    function: str


@dataclass(frozen=True)
class Rendered:
    html: str
    data: dict[str, Any] = field(default_factory=dict)
    #: The renderer's version that made it.
    version: str = ""


class RenderRefused(Invalid):
    """The text could not be rendered within the budget (or at all): 400 `invalid` on `body`."""

    def __init__(self, reason: str) -> None:
        super().__init__(_("正文无法排版"), fields={"body": reason})
        self.reason = reason


_RENDERERS: dict[str, Renderer] = {}


def register(name: str, version: str, function: str) -> None:
    """Called at app start by each channel: `function` ("module:function") renders a body in the helper."""
    _RENDERERS[name] = Renderer(name, version, function)


register("portal", render.RENDERER_VERSION, "review.render:to_safe_html")


def renderers() -> list[str]:
    return list(_RENDERERS)


def body_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


# --- the in-process cache -----------------------------------------------------------------------------------

#: key → (rendering, the database it is known to be stored in, or None)
_memory: OrderedDict[tuple[str, str], tuple[Rendered, str | None]] = OrderedDict()
_memory_lock = threading.Lock()


def _remembered(key: tuple[str, str]) -> tuple[Rendered, str | None] | None:
    with _memory_lock:
        hit = _memory.get(key)
        if hit is not None:
            _memory.move_to_end(key)
        return hit


def _remember(key: tuple[str, str], rendered: Rendered, stored_in: str | None) -> None:
    with _memory_lock:
        _memory[key] = (rendered, stored_in)
        while len(_memory) > MEMORY_ENTRIES:
            _memory.popitem(last=False)


def forget_memory() -> None:
    """Empty this process's cache (tests: a fresh process would read the table)."""
    with _memory_lock:
        _memory.clear()


# --- the lookup -------------------------------------------------------------------------------------------------


def get(name: str, body: str, *, store: bool = True, _saving: bool = False) -> Rendered:
    """`body` as renderer `name` renders it: from memory, from the table, or rendered now within the budget.

    A body already stored keeps the rendering it was stored with, whatever the renderer's version is now: that
    is what its reviewers saw and its leader approved, and what the public was shown. Only a body never stored
    is rendered by the current version.
    `store` is for texts that are (or are being) saved as a revision; unsaved text (the editor's live preview, the
    live checks) is rendered and kept in memory only, so typing never fills the table.
    Raises `RenderRefused` when the text cannot be rendered in time.
    """
    renderer = _RENDERERS[name]
    key = (body_hash(body), renderer.name)
    database = str(db.engine.url)
    hit = _remembered(key)
    if hit is not None and (not store or (hit[1] == database and not _saving)):
        return hit[0]
    rows = db.session.execute(
        sql_select(Rendering.html, Rendering.data, Rendering.version)
        .where(Rendering.body_hash == key[0], Rendering.renderer == key[1])
        .order_by(Rendering.created_at)
    ).all()
    stored_in = None
    row = next((r for r in rows if r.version == renderer.version), rows[0] if rows else None)
    if row is not None:
        rendered, stored_in = Rendered(row.html, row.data or {}, row.version), database
    else:
        rendered = hit[0] if hit is not None and hit[0].version == renderer.version else _render(renderer, body)
        if store and _store((*key, renderer.version), rendered):
            stored_in = database
    _remember(key, rendered, stored_in)
    return rendered


def rendering_key(name: str, body: str) -> str:
    """The stored rendering `get` serves for `body`, named: `body hash/renderer/version` (what an approval saw)."""
    return f"{body_hash(body)}/{name}/{get(name, body).version}"


def html(name: str, body: str, *, store: bool = True) -> str:
    return get(name, body, store=store).html


def html_or_notice(name: str, body: str, *, store: bool = True) -> str:
    """For a page: the rendering, or a notice saying why there is none (the page still shows).

    Unsaved text (`store=False`) must first pass the structure bounds that saving applies."""
    problem = None if store else render.structure_problem(body)
    if problem is None:
        try:
            return html(name, body, store=store)
        except RenderRefused as refused:
            problem = refused.reason
    return f'<p role="alert"><strong>{escape(problem)}</strong></p>'


def prepare(body: str) -> None:
    """Render and store `body` for every registered channel, in the caller's (saving) transaction."""
    for name in _RENDERERS:
        get(name, body, _saving=True)  # the table itself is asked: memory may remember a row since deleted


def _insert(values: dict[str, Any], dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(Rendering.__table__).values(**values).on_conflict_do_nothing()


def _store(key: tuple[str, str, str], rendered: Rendered) -> bool:
    """Keep a rendering: with the caller's write transaction if there is one, else in a short one of its own.

    A reader (a page view) does not wait for SQLite's write lock: if another writer holds it, the rendering
    is simply not stored this time — it is a cache of a pure function, and the next view stores it.
    """
    values = {"body_hash": key[0], "renderer": key[1], "version": key[2], "html": rendered.html,
              "data": rendered.data or None, "created_at": utcnow()}
    dialect = db.engine.dialect.name
    if in_write():
        db.session.execute(_insert(values, dialect))
        return False  # stored only if that transaction commits: look again next time
    try:
        with db.engine.connect() as conn:
            raw = conn.connection.driver_connection if dialect == "sqlite" else None
            if raw is not None:
                raw.execute("PRAGMA busy_timeout=200")
            try:
                conn.execution_options(**{SQLITE_WRITER: True}).execute(_insert(values, dialect))
                conn.commit()
            finally:
                if raw is not None:
                    raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    except SQLAlchemyError as error:
        log.info("rendering not stored this time: %s", error)
        return False
    return True


# --- the helper process and its budget ----------------------------------------------------------------------------

#: Incremented on every render in the helper: tests count it to prove a view rendered nothing.
calls = 0


#: Set by a caller that shares one budget among several steps (review.checks): renderings end by then.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("render_deadline", default=None)
#: However late, a rendering is given this long (a lock wait and a pipe read need a positive timeout).
MIN_SECONDS = 0.01


def budget_seconds() -> float:
    """`RENDER_BUDGET_SECONDS`, or what is left of an enclosing `deadline`."""
    budget = DEFAULT_BUDGET_SECONDS
    if has_app_context():
        budget = float(current_app.config.get("RENDER_BUDGET_SECONDS") or DEFAULT_BUDGET_SECONDS)
    until = _deadline.get()
    if until is not None:
        budget = max(MIN_SECONDS, min(budget, until - time.monotonic()))
    return budget


@contextmanager
def deadline(until: float) -> Iterator[None]:
    """Renderings inside the block stop at `until` (`time.monotonic()`), however much budget they have."""
    token = _deadline.set(until)
    try:
        yield
    finally:
        _deadline.reset(token)


class _Helper:
    """One `review.render_worker` process; its owner talks to it one request at a time."""

    def __init__(self) -> None:
        paths = [p or os.getcwd() for p in sys.path]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "review.render_worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=env, bufsize=0, close_fds=True,
        )
        self.pid = os.getpid()

    def ask(self, function: str, body: str, budget: float) -> dict[str, Any]:
        deadline = time.monotonic() + budget
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"fn": function, "body": body}, ensure_ascii=True).encode() + b"\n")
        fd = self.proc.stdout.fileno()
        answer = bytearray()
        while not answer.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise BrokenPipeError("the render helper exited")
            answer += chunk
        return json.loads(answer)  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


_helper: _Helper | None = None
_helper_lock = threading.Lock()


def _render(renderer: Renderer, body: str) -> Rendered:
    """Render in the helper within the budget; kill the helper when it overruns."""
    global _helper, calls
    budget = budget_seconds()
    if not _helper_lock.acquire(timeout=budget):
        raise RenderRefused(_("排版服务繁忙，请稍后再试"))
    try:
        calls += 1
        if _helper is None or _helper.pid != os.getpid():  # a forked child never shares its parent's helper
            _helper = _Helper()
        try:
            answer = _helper.ask(renderer.function, body, budget)
        except (TimeoutError, OSError, ValueError) as error:
            _helper.stop()
            _helper = None
            if isinstance(error, TimeoutError):
                log.warning("rendering (%s) of a %d-character text stopped after %.1f s", renderer.name, len(body),
                            budget)
                raise RenderRefused(_("正文排版超过 %(n)s 秒仍未完成，已中止：请减少链接、嵌套和表格等格式后再试",
                                      n=f"{budget:g}")) from None
            raise RenderRefused(_("排版失败，请稍后再试")) from error
    finally:
        _helper_lock.release()
    if "error" in answer:
        if answer["error"] == "recursion":
            raise RenderRefused(_("正文嵌套过深，无法排版"))
        log.error("renderer %s failed: %s", renderer.name, answer["error"])
        raise RenderRefused(_("正文无法排版：%(reason)s", reason=answer["error"]))
    return Rendered(answer["html"], answer.get("data") or {}, renderer.version)


@atexit.register
def _stop_helper() -> None:
    if _helper is not None and _helper.pid == os.getpid():
        _helper.stop()
