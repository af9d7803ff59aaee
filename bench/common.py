"""What every benchmark shares: its own databases and Redis, seeded people, bulk data, timing helpers,
and a small wrk-like HTTP load loop.

Benchmarks never touch the demo's data: a fresh PostgreSQL database `huiying_bench_<random>` (dropped at
the end), a SQLite file in a temporary folder, Redis database 13, and a temporary instance folder, which
is set here, before anything creates an app.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

if "HUIYING_INSTANCE" not in os.environ:
    os.environ["HUIYING_INSTANCE"] = tempfile.mkdtemp(prefix="huiying-bench-instance-")
    atexit.register(shutil.rmtree, os.environ["HUIYING_INSTANCE"], ignore_errors=True)
os.environ.pop("DATABASE_URL", None)
os.environ.pop("WECHAT_APP_ID", None)

import http.client  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Iterator, Sequence  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from multiprocessing import get_context  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_ADMIN = os.environ.get("HUIYING_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
#: The benchmarks' own Redis database (the demo uses 0, tests 15); HUIYING_BENCH_REDIS points a run elsewhere.
REDIS_URL = os.environ.get("HUIYING_BENCH_REDIS", "redis://127.0.0.1:6379/13")
SECRET_KEY = "bench-secret"
PASSWORD = "bench password 42"
#: Production hashes with scrypt; seeding hundreds of people need not pay for it.
FAST_HASH = "pbkdf2:sha256:1000"
BACKENDS = ("sqlite", "postgresql")


# --- databases ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    """One database of one benchmark run, and the scratch folder that goes with it."""

    name: str
    url: str
    workdir: Path

    def config(self, **extra: Any) -> dict[str, Any]:
        """`create_app` overrides for an app in this process."""
        return {
            "SECRET_KEY": SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": self.url,
            "REDIS_URL": REDIS_URL,
            "MEDIA_ROOT": str(self.workdir / "media"),
            "PUBLIC_BASE_URL": "http://bench.invalid",
            "PASSWORD_HASH_METHOD": FAST_HASH,
            "WECHAT_SANDBOX": True,
            **extra,
        }

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a server or worker process started on this database (interface §2 names)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "PORTAL_WEBHOOK"))}
        env.update({
            "HUIYING_INSTANCE": str(self.workdir / "instance"),
            "DATABASE_URL": self.url,
            "REDIS_URL": REDIS_URL,
            "SECRET_KEY": SECRET_KEY,
            "MEDIA_ROOT": str(self.workdir / "media"),
            "PUBLIC_BASE_URL": "http://bench.invalid",
            "PASSWORD_HASH_METHOD": FAST_HASH,
            "PYTHONPATH": str(ROOT),
            "WECHAT_SANDBOX": "1",
            **extra,
        })
        return env


@contextmanager
def database(kind: str) -> Iterator[Backend]:
    """A fresh, migrated database of `kind` ("sqlite" or "postgresql"), removed afterwards."""
    import psycopg

    workdir = Path(tempfile.mkdtemp(prefix=f"huiying-bench-{kind}-"))
    name = f"huiying_bench_{uuid.uuid4().hex[:10]}"
    admin = None
    try:
        if kind == "sqlite":
            backend = Backend(kind, f"sqlite:///{workdir / 'bench.db'}", workdir)
        else:
            admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
            admin.execute(f'CREATE DATABASE "{name}"')
            base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            backend = Backend(kind, f"{base}/{name}", workdir)
        migrate(backend)
        yield backend
    finally:
        if admin is not None:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.close()
        shutil.rmtree(workdir, ignore_errors=True)


def make_app(backend: Backend, **extra: Any) -> Any:
    """The app on the bench database (this process)."""
    from app import create_app

    return create_app(backend.config(**extra))


def migrate(backend: Backend) -> None:
    """Upgrade to head with the project's own migrations (as `flask db upgrade` does)."""
    import logging

    from flask_migrate import upgrade

    from app.extensions import db

    app = make_app(backend)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    logging.getLogger("alembic").setLevel(logging.WARNING)


LOCK_KEY = "huiying-bench:running"


@contextmanager
def redis_to_ourselves() -> Iterator[None]:
    """Redis database 13 belongs to one benchmark run at a time: two runs would empty each other's queues.

    A run killed without cleaning up leaves the key behind; a later run takes it over once that process is gone.
    """
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    me = str(os.getpid())
    if not client.set(LOCK_KEY, me, nx=True, ex=6 * 3600):
        holder = (client.get(LOCK_KEY) or b"0").decode()
        if holder.isdigit() and _alive(int(holder)):
            client.close()
            raise SystemExit(f"another benchmark run (pid {holder}) is using Redis database 13; run again later")
        client.set(LOCK_KEY, me, ex=6 * 3600)
    try:
        yield
    finally:
        if client.get(LOCK_KEY) == me.encode():
            client.delete(LOCK_KEY)
        client.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def flush_redis() -> None:
    """Empty the benchmarks' own Redis database (13), never another, keeping only the run's lock."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    assert client.connection_pool.connection_kwargs.get("db") not in (None, 0)  # never the demo's database
    keys = [k for k in client.scan_iter(count=1000) if k != LOCK_KEY.encode()]
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start:start + 1000])
    client.close()


# --- people ---------------------------------------------------------------------------------------------------


@dataclass
class People:
    """Seeded units and users: ids and usernames by role and unit, and API tokens made on demand."""

    units: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    by_role: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def of(self, unit: str, role: str) -> list[str]:
        return self.by_role[(unit, role)]

    def id(self, username: str) -> int:
        return self.users[username]


def seed_people(app: Any, units: Sequence[str], cast: dict[str, int]) -> People:
    """Create `units` and, in each, `cast[role]` people of that role (e.g. {"drafter": 2, "expert": 2})."""
    from app import accounts

    people = People()
    with app.app_context():
        for code in units:
            people.units[code] = accounts.create_unit(code, f"单位{code}").id
            for role, count in cast.items():
                for n in range(1, count + 1):
                    name = f"{code.lower()}-{role}{n}"
                    user, _ = accounts.create_user(name, code, [role], display_name=name, password=PASSWORD)
                    people.users[name] = user.id
                    people.by_role.setdefault((code, role), []).append(name)
    return people


def token(app: Any, username: str) -> str:
    """A new API token of `username`."""
    from app import accounts

    with app.app_context():
        return accounts.create_token(username)


# --- bulk statements ------------------------------------------------------------------------------------------


@dataclass
class Seed:
    """One statement to insert in bulk, with its single revision and the decisions it already carries."""

    unit_id: int
    author_id: int
    status: str
    pending_stage: str | None = None
    priority: str = "normal"
    review_round: int = 1
    channels: list[str] = field(default_factory=lambda: ["portal"])
    agencies: list[str] = field(default_factory=list)
    updated_at: datetime | None = None
    #: (stage, reviewer id) approvals of the current revision in the current round
    approvals: list[tuple[str, int]] = field(default_factory=list)
    title: str = ""
    body: str = ""


@dataclass(frozen=True)
class Inserted:
    statement_id: int
    revision_id: int
    hash: str


APPROVED_LIKE = ("approved", "scheduled", "publishing", "published", "partially_published", "failed", "retracted")
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


def _next_id(table: Any) -> int:
    from sqlalchemy import func, select

    from app.extensions import db

    return (db.session.scalar(select(func.max(table.c.id))) or 0) + 1


def _analyze(*tables: Any) -> None:
    """Bulk inserts outrun autovacuum: give PostgreSQL's planner the statistics it would have in production."""
    from sqlalchemy import text

    from app.extensions import db

    if db.engine.dialect.name == "postgresql":
        for table in tables:
            db.session.execute(text(f"ANALYZE {table.name}"))
        db.session.commit()


def _fix_sequences(*tables: Any) -> None:
    """Explicit ids leave PostgreSQL's sequences behind; move them past the rows we wrote."""
    from sqlalchemy import text

    from app.extensions import db

    if db.engine.dialect.name != "postgresql":
        return
    for table in tables:
        db.session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))"
        ))


def insert_statements(app: Any, seeds: Sequence[Seed], batch: int = 5000) -> list[Inserted]:
    """Insert statements, their revision and decisions with a few executemany calls, not one service call each.

    Each statement gets revision 1 (with its real hash) as current revision, and as approved revision once
    its status says it was approved.
    """
    from sqlalchemy import insert, update

    from app.extensions import db
    from app.timeutil import utcnow
    from review.models import Decision, Revision, Statement, revision_hash

    statements, revisions, decisions = Statement.__table__, Revision.__table__, Decision.__table__
    out: list[Inserted] = []
    with app.app_context():
        first_st, first_rev = _next_id(statements), _next_id(revisions)
        now = utcnow()
        for start in range(0, len(seeds), batch):
            chunk = seeds[start:start + batch]
            st_rows, rev_rows, dec_rows = [], [], []
            for i, seed in enumerate(chunk, start=start):
                sid, rid = first_st + i, first_rev + i
                title = seed.title or f"关于网传第{sid}号情况的回应"
                body = seed.body or f"经核实，网传第 {sid} 号信息不实。我单位将依法依规处理，并及时公布进展。"
                digest = "情况说明"
                at = seed.updated_at or now
                st_rows.append({
                    "id": sid, "unit_id": seed.unit_id, "author_id": seed.author_id, "priority": seed.priority,
                    "priority_rank": PRIORITY_RANK[seed.priority], "channels": seed.channels,
                    "go_live_at": None, "agencies": seed.agencies, "case_ids": [], "corrects_id": None,
                    "status": seed.status, "pending_stage": seed.pending_stage, "review_round": seed.review_round,
                    "current_revision_id": None, "approved_revision_id": None,
                    "submitted_at": at if seed.status != "draft" else None, "created_at": at, "updated_at": at,
                })
                hash_ = revision_hash(title, digest, body)
                rev_rows.append({
                    "id": rid, "statement_id": sid, "number": 1, "title": title, "digest": digest, "body": body,
                    "hash": hash_, "author_id": seed.author_id, "created_at": at,
                })
                for stage, reviewer in seed.approvals:
                    dec_rows.append({
                        "statement_id": sid, "revision_id": rid, "revision_hash": hash_, "round": seed.review_round,
                        "stage": stage, "decision": "approve", "reviewer_id": reviewer, "comment": "", "at": at,
                    })
                out.append(Inserted(sid, rid, hash_))
            db.session.execute(insert(statements), st_rows)
            db.session.execute(insert(revisions), rev_rows)
            if dec_rows:
                db.session.execute(insert(decisions), dec_rows)
        last = first_st + len(seeds) - 1
        # one revision per statement, numbered in step: the statement's revision id is a fixed offset away
        offset = first_rev - first_st
        in_range = statements.c.id.between(first_st, last)
        db.session.execute(update(statements).where(in_range).values(current_revision_id=statements.c.id + offset))
        db.session.execute(update(statements).where(in_range, statements.c.status.in_(APPROVED_LIKE))
                           .values(approved_revision_id=statements.c.id + offset))
        _fix_sequences(statements, revisions)
        db.session.commit()
        _analyze(statements, revisions, decisions)
    return out


def release_all(app: Any, inserted: Sequence[Inserted], priorities: Sequence[str], approver_id: int,
                batch: int = 5000) -> list[tuple[int, str, str]]:
    """Releases and pending portal deliveries for approved statements, as `stage_release` leaves them.

    Returns (delivery id, priority, delivery key); the caller enqueues them after this commit, as the app does.
    """
    from sqlalchemy import insert

    from app.extensions import db
    from app.timeutil import utcnow
    from publishing.models import Delivery, Release

    releases, deliveries = Release.__table__, Delivery.__table__
    plan: list[tuple[int, str, str]] = []
    with app.app_context():
        first_rel, first_del = _next_id(releases), _next_id(deliveries)
        now = utcnow()
        for start in range(0, len(inserted), batch):
            rel_rows, del_rows = [], []
            for i in range(start, min(start + batch, len(inserted))):
                item, priority = inserted[i], priorities[i]
                rel_rows.append({
                    "id": first_rel + i, "statement_id": item.statement_id, "revision_id": item.revision_id,
                    "revision_hash": item.hash, "approved_by_id": approver_id, "approved_at": now, "go_live_at": now,
                    "published_at": None, "retracted_at": None, "retraction_reason": None, "ledger_seq": None,
                })
                key = str(uuid.uuid4())
                del_rows.append({
                    "id": first_del + i, "release_id": first_rel + i, "statement_id": item.statement_id,
                    "channel": "portal", "action": "publish", "state": "pending", "priority": priority,
                    "due_at": now, "next_attempt_at": None, "attempts": 0, "lease_until": None, "claim_token": None,
                    "delivery_key": key, "staged_at": None, "external_id": None,
                    "url": None, "last_error": None, "published_at": None, "data": {}, "updated_at": now,
                })
                plan.append((first_del + i, priority, key))
            db.session.execute(insert(releases), rel_rows)
            db.session.execute(insert(deliveries), del_rows)
        _fix_sequences(releases, deliveries)
        db.session.commit()
        _analyze(releases, deliveries)
    return plan


# --- processes ------------------------------------------------------------------------------------------------


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    return sock


@contextmanager
def gunicorn(backend: Backend, *, workers: int = 2, threads: int = 4, **env: str) -> Iterator[tuple[str, int]]:
    """`bench.wsgi:app` under gunicorn (gthread) on a loopback port chosen by the kernel; stopped afterwards."""
    sock = _listening_socket()
    host, port = sock.getsockname()
    log = open(backend.workdir / "gunicorn.log", "ab")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "--bind", f"fd://{sock.fileno()}", "--workers", str(workers),
         "--threads", str(threads), "--worker-class", "gthread", "--keep-alive", "30", "--timeout", "60",
         "--graceful-timeout", "10", "--chdir", str(ROOT), "bench.wsgi:app"],
        env=backend.env(**env), pass_fds=(sock.fileno(),), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    sock.close()
    try:
        wait_until("gunicorn answers", lambda: _answers(host, port) or proc.poll() is not None, timeout=60)
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {backend.workdir / 'gunicorn.log'}")
        yield host, port
    finally:
        stop_group(proc, signal.SIGTERM, timeout=20)
        log.close()


def _answers(host: str, port: int) -> bool:
    try:
        conn = http.client.HTTPConnection(host, port, timeout=2)
        conn.request("GET", "/bench/hello")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def stop_group(proc: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    """Ask a process we started (in its own session) to stop; kill its group if it does not in time."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # leftovers of that group only (a scheduler child, a worker)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def wait_until(what: str, check: Any, timeout: float, every: float = 0.05) -> Any:
    """Poll `check` until truthy (and return it); raise after `timeout` s. Every wait in a bench is bounded."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def noop() -> None:
    """The baseline job: RQ's own cost, with nothing to do."""


# --- numbers --------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0–100) with linear interpolation; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(value: float, baseline: float) -> float:
    """value / baseline, nan when there is no baseline."""
    return value / baseline if baseline else float("nan")


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table, columns as wide as their widest cell."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def spread(rng: random.Random, days: int) -> timedelta:
    """A random age up to `days` days, so that work lists have old and new items."""
    return timedelta(seconds=rng.uniform(0, days * 86400))


# --- the HTTP load loop ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """What a load run sends: `requests` (method, path, body) in turn over `connections` keep-alive connections.

    With `once`, each request is sent at most once (a stock of POSTs); otherwise they cycle. Requests that
    start during `warmup` are not measured; the run stops `warmup + seconds` after it began, or when the
    stock is used up.
    """

    host: str
    port: int
    requests: tuple[tuple[str, str, bytes | None], ...]
    #: headers of each connection, in turn (one set for all, or e.g. one bearer token per connection)
    headers: tuple[tuple[tuple[str, str], ...], ...] = ((),)
    connections: int = 8
    seconds: float = 5.0
    warmup: float = 1.0
    once: bool = False


@dataclass
class LoadResult:
    sent: int  # measured requests (started after the warm-up, finished in the window)
    window: float  # seconds the measured window lasted
    statuses: Counter[int]  # every answer, warm-up included
    latencies_ms: list[float]
    errors: int  # connection errors (reconnected)
    exhausted: bool  # a `once` stock ran out before the window ended

    @property
    def rps(self) -> float:
        return self.sent / self.window if self.window > 0 else float("nan")

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)


def run_load(load: Load) -> LoadResult:
    """Run `load` in a separate process, so the load generator's GIL is not the server's."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_load_process, load).result(timeout=load.warmup + load.seconds + 120)


def _load_process(load: Load) -> LoadResult:
    lock = threading.Lock()
    next_index = [0]
    began = time.perf_counter()
    start = began + load.warmup
    end = start + load.seconds
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    errors = [0]
    exhausted_at: list[float] = []

    def take() -> tuple[str, str, bytes | None] | None:
        with lock:
            i = next_index[0]
            if load.once and i >= len(load.requests):
                if not exhausted_at:
                    exhausted_at.append(time.perf_counter())
                return None
            next_index[0] = i + 1
        return load.requests[i % len(load.requests)]

    def client(n: int) -> None:
        headers = dict(load.headers[n % len(load.headers)])
        conn = http.client.HTTPConnection(load.host, load.port, timeout=30)
        local_status: Counter[int] = Counter()
        local_lat: list[float] = []
        while time.perf_counter() < end:
            item = take()
            if item is None:
                break
            method, path, body = item
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
            except (OSError, http.client.HTTPException):
                with lock:
                    errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection(load.host, load.port, timeout=30)
                continue
            t1 = time.perf_counter()
            local_status[resp.status] += 1
            if t0 >= start and t1 <= end:
                local_lat.append((t1 - t0) * 1000)
        conn.close()
        with lock:
            statuses.update(local_status)
            latencies.extend(local_lat)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(load.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=load.warmup + load.seconds + 60)
    stop = min(end, exhausted_at[0]) if exhausted_at else end
    return LoadResult(
        sent=len(latencies), window=max(0.0, stop - start), statuses=statuses, latencies_ms=latencies,
        errors=errors[0], exhausted=bool(exhausted_at) and exhausted_at[0] < end,
    )


def json_body(value: Any) -> bytes:
    """A request body as the API reads it (UTF-8 JSON)."""
    return json.dumps(value, ensure_ascii=False).encode()
