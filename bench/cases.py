"""The case register (舆情台账) and the case clocks' sweep, on SQLite and on PostgreSQL, with 100,000 cases.

Each backend gets a fresh database migrated with the project's own migrations (a SQLite file in a temporary
folder; a PostgreSQL database `huiying_bench_<random>`, dropped at the end — skipped with a note when the
server does not answer), and the app is configured with Redis database 12. Rows are written with Core
inserts, not through the services: 20 units with their responsibility register, 100,000 cases of which 10 %
are open (registered, assessed, assigned, handling, responded), levels, lead and assisting units, clocks from
the default deadline table (some overdue, some already met), counted responses, and the timeline events of
the open cases (closed cases' timelines are not read by anything measured here and are left out).

1. The register: p50/p95 over `--runs` runs of `cases.queries.page(user, filters, Cut())` —
   the first page for an office user (every case) and for a unit user (the cases of one unit), and with
   `overdue=true` for both — next to a primary-key fetch of one case and a `SELECT 1` in the same run,
   each run in a fresh session inside an open transaction (as in a request, after the user is loaded).
   The SQL statements one call issues are counted. Two extra rows show what the pages around it add:
   the register page's clock query (`views.list_items`) and the API's list (`whole=True` + `case_json`).
   Goal: p95 < 50 ms.
2. The sweep: with 1,000, 10,000 and 100,000 open deadlines of which 10 % have crossed their next 50 %,
   80 % or 100 % threshold since the last sweep, one `cases.clock.sweep(now)`, notifications included
   (each unit has first/direct responsible people, spokespersons and drafters; the office has two people),
   timed once, per open deadline, against the smallest size (1.00 = linear) and against an idle sweep
   (nothing due) right after. Goal: < 1 s at 10,000.

3. A calendar change (issue 29): the same open deadlines as 5 working-day clocks, then the office declares the
   next week holidays with `cases.workdays.replace_year` — every open clock counted again, the moved ones
   written with a timeline event and an audit entry per case, in one transaction — then saves the same table
   (nothing to do) and empties it (every clock moves back). Goal: < 2 s at 10,000.

Timings are printed, never asserted. `--quick` uses ten times fewer rows.

    .venv/bin/python bench/cases.py [--quick] [--backend sqlite|postgresql|both] [--runs 200] [--explain]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

if not __package__:
    # Run as `python bench/cases.py`: the script's folder comes first on sys.path and this file would
    # shadow the `cases` package; put the project root there instead (as `python -m bench.cases` does).
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

# before anything creates an app: points HUIYING_INSTANCE at a temporary folder
import bench.common as common  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/12"  # this benchmark's Redis database (the other benchmarks use 13)
UNITS = tuple(f"U{n:02d}" for n in range(1, 21))
OFFICE_UNIT = "BGS"
CASES = 100_000
OPEN_SHARE = 0.10
SWEEP_SIZES = (1_000, 10_000, 100_000)
CROSS_SHARE = 0.10  # of the open deadlines, those whose next threshold has come since the last sweep
LEVELS = ((1, 2), (2, 8), (3, 30), (4, 60))
OPEN_STATUSES = (("registered", 15), ("assessed", 15), ("assigned", 20), ("handling", 30), ("responded", 20))
CROSSINGS = ((50, 5), (80, 3), (100, 2))  # which threshold a crossing clock has reached
TOPICS = (
    "小麦新品种推广效果", "转基因玉米试验田", "农药残留检测结果", "招聘考试成绩公示", "科研经费使用情况",
    "实验基地土地流转补偿", "专家在直播中的言论", "玉米种子发芽率投诉", "花生黄曲霉毒素传言", "畜禽养殖污染",
    "食用菌菌种质量", "无人机植保作业事故", "秸秆焚烧监测", "职称评审程序", "研究生待遇", "农产品价格预测报告",
)
SOURCES = ("portal", "forum", "weibo", "wechat", "short_video", "online_petition", "hotline", "news_comment", "press",
           "superior", "other")
FORMS = ("statement", "expert_interpretation", "press_conference", "media_interview")
GOAL_PAGE_MS = 50.0
GOAL_SWEEP_S = 1.0
GOAL_CALENDAR_S = 2.0


def pick(rng: random.Random, weighted: tuple[tuple[Any, int], ...]) -> Any:
    """One value of `weighted` ((value, weight), …)."""
    return rng.choices(weighted, weights=[w for _, w in weighted])[0][0]


# --- the database ---------------------------------------------------------------------------------------------


def config(url: str, workdir: Path) -> dict[str, Any]:
    return {
        "SECRET_KEY": common.SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": url,
        "REDIS_URL": REDIS_URL,
        "MEDIA_ROOT": str(workdir / "media"),
        "PUBLIC_BASE_URL": "http://bench.invalid",
        "PASSWORD_HASH_METHOD": common.FAST_HASH,
    }


class Unreachable(Exception):
    """PostgreSQL does not answer: that half is skipped."""


@contextmanager
def database(kind: str) -> Iterator[Any]:
    """The app on a fresh database of `kind`, migrated to head as `flask db upgrade` does; removed afterwards."""
    import logging

    import psycopg
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    workdir = Path(tempfile.mkdtemp(prefix=f"huiying-bench-cases-{kind}-"))
    name = f"huiying_bench_{uuid.uuid4().hex[:10]}"
    admin = None
    app = None
    try:
        if kind == "sqlite":
            url = f"sqlite:///{workdir / 'bench.db'}"
        else:
            try:
                admin = psycopg.connect(common.PG_ADMIN, autocommit=True, connect_timeout=3)
            except psycopg.OperationalError as exc:
                raise Unreachable(str(exc).strip()) from None
            admin.execute(f'CREATE DATABASE "{name}"')
            base = common.PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            url = f"{base}/{name}"
        app = create_app(config(url, workdir))
        with app.app_context():
            upgrade()
            db.engine.dispose()
        logging.getLogger("alembic").setLevel(logging.WARNING)
        yield app
    finally:
        if app is not None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        if admin is not None:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.close()
        shutil.rmtree(workdir, ignore_errors=True)


def analyze(*names: str) -> None:
    """Bulk inserts outrun autovacuum: give PostgreSQL's planner the statistics it would have in production."""
    from sqlalchemy import text

    from app.extensions import db

    if db.engine.dialect.name == "postgresql":
        for name in names:
            db.session.execute(text(f"ANALYZE {name}"))
        db.session.commit()


def fix_sequences(*names: str) -> None:
    """Explicit ids leave PostgreSQL's sequences behind; move them past the rows we wrote."""
    from sqlalchemy import text

    from app.extensions import db

    if db.engine.dialect.name == "postgresql":
        for name in names:
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                    f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"))
        db.session.commit()


CASE_TABLES = ("case_statements", "case_responses", "deadlines", "case_events", "case_assisting_units", "case_units",
               "cases", "notification_sends", "notifications")


def wipe_cases() -> None:
    """Empty the case tables and the inboxes (between sweep sizes)."""
    from sqlalchemy import text

    from app.extensions import db

    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"TRUNCATE {', '.join(CASE_TABLES)} RESTART IDENTITY CASCADE"))
    else:
        for name in CASE_TABLES:
            db.session.execute(text(f"DELETE FROM {name}"))
    db.session.commit()


@contextmanager
def counting() -> Iterator[list[str]]:
    """The SQL statements the engine sends meanwhile (an executemany counts once)."""
    from sqlalchemy import event

    from app.extensions import db

    seen: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


# --- people ---------------------------------------------------------------------------------------------------


@dataclass
class People:
    units: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    #: notifications one crossing of each threshold raises for a clock of any unit (every unit alike)
    per_threshold: dict[int, int] = field(default_factory=dict)


def seed_people(app: Any) -> People:
    """20 units, each with two leaders (first and direct responsible), two drafters and a spokesperson;
    the office unit with two office people."""
    from sqlalchemy import insert, update

    from app import accounts
    from app.extensions import db
    from app.models import Unit, unit_spokespersons

    people = People()
    with app.app_context():
        people.units[OFFICE_UNIT] = accounts.create_unit(OFFICE_UNIT, "院办公室").id
        for n in (1, 2):
            user, _ = accounts.create_user(f"office{n}", OFFICE_UNIT, ["office"], password=common.PASSWORD)
            people.users[f"office{n}"] = user.id
        for i, code in enumerate(UNITS, start=1):
            people.units[code] = accounts.create_unit(code, f"研究所{i:02d}", duty_phone=f"0371-6571{i:04d}").id
            for name, role in (("leader1", "leader"), ("leader2", "leader"), ("drafter1", "drafter"),
                               ("drafter2", "drafter"), ("spokes", "expert")):
                username = f"{code.lower()}-{name}"
                user, _ = accounts.create_user(username, code, [role], password=common.PASSWORD,
                                               display_name=f"{code}{name}", phone="13800138000")
                people.users[username] = user.id
            db.session.execute(update(Unit.__table__).where(Unit.__table__.c.id == people.units[code]).values(
                first_responsible_id=people.users[f"{code.lower()}-leader1"],
                direct_responsible_id=people.users[f"{code.lower()}-leader2"]))
            db.session.execute(insert(unit_spokespersons), [
                {"unit_id": people.units[code], "user_id": people.users[f"{code.lower()}-spokes"], "position": 0},
                {"unit_id": people.units[code], "user_id": people.users[f"{code.lower()}-drafter1"], "position": 1},
            ])
        db.session.commit()
    # 50 %: spokespersons and drafters (spokes, drafter1, drafter2); 80 %: direct; 100 %: first, direct, office ×2
    people.per_threshold = {50: 3, 80: 1, 100: 4}
    return people


# --- bulk cases -----------------------------------------------------------------------------------------------


@dataclass
class Rows:
    cases: list[dict[str, Any]] = field(default_factory=list)
    units: list[dict[str, Any]] = field(default_factory=list)
    assisting: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    deadlines: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(len(v) for v in (self.cases, self.units, self.assisting, self.events, self.deadlines,
                                    self.responses))


def write(rows: Rows, batch: int = 10_000) -> None:
    """Core executemany inserts, parents first, in one transaction."""
    from sqlalchemy import insert

    from app.extensions import db
    from cases.models import Case, CaseEvent, CaseResponse, Deadline, case_assisting_units, case_units

    for tbl, data in ((Case.__table__, rows.cases), (case_units, rows.units), (case_assisting_units, rows.assisting),
                      (CaseEvent.__table__, rows.events), (Deadline.__table__, rows.deadlines),
                      (CaseResponse.__table__, rows.responses)):
        for start in range(0, len(data), batch):
            db.session.execute(insert(tbl), data[start:start + batch])
    db.session.commit()
    fix_sequences("cases", "case_events", "deadlines", "case_responses")
    analyze("cases", "case_units", "case_assisting_units", "case_events", "deadlines", "case_responses")


def alert_moment(started: datetime, due: datetime, threshold: int) -> datetime:
    return started + (due - started) * threshold / 100


def swept_state(started: datetime, due: datetime, now: datetime, behind: bool = False) -> tuple[int, datetime | None]:
    """(alerted, next_alert_at) of a running clock as a sweep at `now` leaves it; `behind`: one threshold
    not yet announced (the next sweep crosses it)."""
    reached = [t for t in (50, 80, 100) if alert_moment(started, due, t) <= now]
    if behind and reached:
        reached.pop()
    alerted = reached[-1] if reached else 0
    upcoming = [t for t in (50, 80, 100) if t > alerted]
    return alerted, alert_moment(started, due, upcoming[0]) if upcoming else None


class Builder:
    """Realistic case rows with explicit ids, for Core inserts."""

    def __init__(self, people: People, rng: random.Random, now: datetime) -> None:
        from cases.clock import DEFAULT_DEADLINES

        self.people, self.rng, self.now = people, rng, now
        self.table = {level: [(str(k), int(spec[:-1])) for k, spec in kinds.items()]
                      for level, kinds in DEFAULT_DEADLINES.items()}
        # a few large institutes, many small ones
        self.unit_weights = [1 / (n ** 0.8) for n in range(1, len(UNITS) + 1)]
        self.rows = Rows()
        self.case_id = self.event_id = self.deadline_id = self.response_id = 0
        self.office = [people.users["office1"], people.users["office2"]]

    def _units(self) -> tuple[str, list[str]]:
        lead = self.rng.choices(UNITS, weights=self.unit_weights)[0]
        n_assist = self.rng.choices((0, 1, 2), weights=(60, 30, 10))[0]
        assisting = self.rng.sample([u for u in UNITS if u != lead], n_assist)
        return lead, assisting

    def _event(self, case_id: int, kind: str, actor: int, at: datetime, data: dict[str, Any]) -> None:
        if self.rows.cases[-1]["status"] == "closed":
            return  # closed cases' timelines are never read here; leaving them out saves most of the seeding time
        self.event_id += 1
        self.rows.events.append({"id": self.event_id, "case_id": case_id, "kind": kind, "actor_id": actor, "at": at,
                                 "data": data})

    def case(self, status: str, *, level: int | None = None, age: timedelta | None = None,
             crossing: int | None = None, lead: str | None = None) -> list[dict[str, Any]]:
        """One case of `status`; its clocks are returned. `crossing`: its first clock has just reached that
        threshold, not yet announced."""
        rng, now, people = self.rng, self.now, self.people
        self.case_id += 1
        cid = self.case_id
        lead_code, assisting = self._units()
        lead_code = lead or lead_code
        if status in ("registered", "assessed"):
            assisting = []  # assisting units are named at assignment
        if status != "registered" and level is None:
            level = pick(rng, LEVELS)
        clocks = self.table[level] if level else []
        longest = max((h for _, h in clocks), default=48)
        if age is None:
            if status == "closed":
                age = timedelta(days=rng.uniform(11, 730))
            elif rng.random() < 0.8:  # most open cases are within their time; some lag behind
                age = timedelta(hours=rng.uniform(0.05, 0.95) * longest)
            else:
                age = timedelta(hours=rng.uniform(1.0, 4.0) * longest)
        discovered = now - age
        if crossing is not None and clocks:
            first_hours = clocks[0][1]
            discovered = now - timedelta(hours=first_hours * crossing / 100) - timedelta(seconds=rng.uniform(1, 600))
        created = min(discovered + timedelta(minutes=rng.uniform(5, 90)), now)
        creator = rng.choice(self.office + [people.users[f"{lead_code.lower()}-drafter1"]])
        topic = rng.choice(TOPICS)
        closed_at = discovered + timedelta(days=rng.uniform(1, 10)) if status == "closed" else None
        responded = status == "responded" or (status == "closed" and rng.random() < 0.95)
        form = rng.choice(FORMS) if responded else None
        held = None
        if responded:
            held = min(discovered + timedelta(hours=rng.uniform(0.2, 1.3) * min(h for _, h in clocks)), now)
        deadlines: list[dict[str, Any]] = []
        for n, (kind, hours) in enumerate(clocks):
            self.deadline_id += 1
            due = discovered + timedelta(hours=hours)
            met = held if responded and (kind != "press_conference" or form == "press_conference") else None
            if met is not None or status == "closed":
                alerted = max([t for t in (50, 80, 100) if alert_moment(discovered, due, t) <= (met or closed_at)]
                              or [0])
                next_alert = None
            else:
                alerted, next_alert = swept_state(discovered, due, now, behind=crossing is not None and n == 0)
            deadlines.append({"id": self.deadline_id, "case_id": cid, "kind": kind, "spec": f"{hours}h",
                              "started_at": discovered, "due_at": due, "met_at": met, "alerted": alerted,
                              "next_alert_at": next_alert, "superseded_at": None})
        self.rows.deadlines.extend(deadlines)
        open_dues = [d["due_at"] for d in deadlines if d["met_at"] is None]
        is_open = status != "closed"
        self.rows.cases.append({
            "id": cid, "title": f"关于{topic}的网络舆情（第{cid}号）",
            "summary": f"网民在{rng.choice(('微博', '论坛', '短视频平台', '新闻评论区'))}集中讨论{topic}，"
                       f"部分说法与事实不符，转发量较大，需核实并视情回应。",
            "source": rng.choice(SOURCES), "source_url": f"https://example.invalid/post/{cid}",
            "discovered_at": discovered, "status": status,
            "version": {"registered": 0, "assessed": 1, "assigned": 2, "handling": 3, "responded": 4}.get(status, 5),
            "level": level, "must_respond": bool(level and level <= 2) or rng.random() < 0.5,
            "lead_unit_id": people.units[lead_code], "created_by": creator, "created_at": created,
            "closed_at": closed_at, "outcome": "已核实并回应，舆情平息。" if status == "closed" else None,
            "urgency_rank": 9 if not is_open else (level or 0),
            "next_due_at": min(open_dues) if open_dues and is_open else None,
            "first_response_at": held,
        })
        for code in dict.fromkeys([lead_code, *assisting]):
            self.rows.units.append({"case_id": cid, "unit_id": people.units[code]})
        for code in assisting:
            self.rows.assisting.append({"case_id": cid, "unit_id": people.units[code]})
        self._event(cid, "registered", creator, created, {"title": f"第{cid}号", "source": "weibo",
                                                           "units": [lead_code]})
        step = created
        if level:
            step = min(step + timedelta(minutes=rng.uniform(10, 60)), now)
            self._event(cid, "assessed", self.office[0], step, {"level": level, "previous_level": None,
                                                                  "rationale": "转发量较大", "must_respond": True})
        if status in ("assigned", "handling", "responded", "closed"):
            step = min(step + timedelta(minutes=rng.uniform(5, 30)), now)
            self._event(cid, "assigned", self.office[0], step, {"lead_unit": lead_code, "assisting_units": assisting,
                                                                  "note": ""})
        if status in ("handling", "responded", "closed"):
            step = min(step + timedelta(minutes=rng.uniform(5, 30)), now)
            self._event(cid, "accepted", people.users[f"{lead_code.lower()}-drafter1"], step, {"note": ""})
        if responded:
            self.response_id += 1
            actor = people.users[f"{lead_code.lower()}-drafter2"]
            self.rows.responses.append({
                "id": self.response_id, "case_id": cid, "form": form, "statement_id": None, "held_at": held,
                "note": "已发布情况说明", "evidence_url": f"https://example.invalid/news/{cid}", "counted": True,
                "recorded_by": actor, "created_at": held,
            })
            self._event(cid, "responded", actor, held, {"form": form, "statement_id": None, "counted": True,
                                                        "deadlines_met": [d["kind"] for d in deadlines
                                                                          if d["met_at"] is not None]})
        if closed_at is not None:
            reason = "" if responded else "信息不实，已自行平息"
            self._event(cid, "closed", people.users[f"{lead_code.lower()}-leader1"], closed_at,
                        {"outcome": "已核实并回应，舆情平息。", "no_response_reason": reason})
        return deadlines


def register_rows(people: People, total: int, rng: random.Random, now: datetime) -> Rows:
    """`total` cases, `OPEN_SHARE` of them open, older ones closed."""
    builder = Builder(people, rng, now)
    open_ids = set(rng.sample(range(total), int(total * OPEN_SHARE)))
    for n in range(total):
        builder.case(pick(rng, OPEN_STATUSES) if n in open_ids else "closed")
    return builder.rows


def sweep_rows(people: People, deadlines: int, rng: random.Random, now: datetime) -> tuple[Rows, dict[int, int]]:
    """Open cases holding `deadlines` running clocks, `CROSS_SHARE` of which have a threshold to announce.

    Returns the rows and how many clocks cross each threshold.
    """
    builder = Builder(people, rng, now)
    made = 0
    crossing: dict[int, int] = {50: 0, 80: 0, 100: 0}
    while made < deadlines:
        level = pick(rng, LEVELS)
        if level <= 2 and deadlines - made < 2:
            level = 4
        cross = None
        if sum(crossing.values()) < CROSS_SHARE * (made + 1):
            cross = pick(rng, CROSSINGS)
        made += len(builder.case(pick(rng, (("assessed", 20), ("assigned", 30), ("handling", 50))), level=level,
                                 crossing=cross))
        if cross is not None:
            crossing[cross] += 1
    return builder.rows, crossing


# --- timing ---------------------------------------------------------------------------------------------------


@dataclass
class Series:
    label: str
    call: Callable[[Any], Any]
    user_id: int
    runs: int
    times: list[float] = field(default_factory=list)
    statements: int = 0
    shown: str = ""

    def p(self, q: float) -> float:
        return common.percentile(self.times, q)


def measure(app: Any, series: list[Series]) -> None:
    """Interleave the series run by run (drift hits them alike); each run: a fresh session, the user loaded,
    then the timed call inside that transaction, then a rollback."""
    from app.extensions import db
    from app.models import User

    with app.app_context():
        for s in series:  # warm-up, and the statement count of one call
            for _ in range(3):
                user = db.session.get(User, s.user_id)
                assert user is not None and user.roles is not None
                with counting() as seen:
                    result = s.call(user)
                s.statements = len(seen)
                db.session.rollback()
                db.session.remove()
            s.shown = describe(result)
        for n in range(max(s.runs for s in series)):
            for s in series:
                if n >= s.runs:
                    continue
                user = db.session.get(User, s.user_id)
                assert user is not None and user.roles is not None
                t0 = time.perf_counter()
                s.call(user)
                s.times.append((time.perf_counter() - t0) * 1000)
                db.session.rollback()
                db.session.remove()


def describe(result: Any) -> str:
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], int):
        return f"{len(result[0])} rows of {result[1]:,}"
    if isinstance(result, list):
        return f"{len(result)} items"
    return ""


def explain(app: Any, label: str, call: Callable[[Any], Any], user_id: int) -> None:
    """The plan of every statement one call issues (PostgreSQL: EXPLAIN ANALYZE; SQLite: EXPLAIN QUERY PLAN)."""
    from sqlalchemy import event

    from app.extensions import db
    from app.models import User

    captured: list[tuple[str, Any]] = []

    def listener(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        captured.append((statement, parameters))

    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None and user.roles is not None
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            call(user)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        conn = db.session.connection()
        pg = db.engine.dialect.name == "postgresql"
        print(f"\n--- plan: {label} ({len(captured)} statements)")
        for statement, parameters in captured:
            print(" ".join(statement.split()))
            prefix = "EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF) " if pg else "EXPLAIN QUERY PLAN "
            for row in conn.exec_driver_sql(prefix + statement, parameters).all():
                print("    " + (row[0] if pg else str(row[-1])))
        db.session.rollback()
        db.session.remove()


def busiest_unit(rows: Rows, people: People) -> tuple[str, int]:
    """The unit whose register is the median size among the units, and that size."""
    sizes: dict[int, int] = {}
    for r in rows.units:
        sizes[r["unit_id"]] = sizes.get(r["unit_id"], 0) + 1
    ranked = sorted(sizes.items(), key=lambda kv: kv[1])
    unit_id, size = ranked[len(ranked) // 2]
    code = next(c for c, i in people.units.items() if i == unit_id)
    return code, size


# --- the two parts --------------------------------------------------------------------------------------------


def bench_register(app: Any, people: People, args: argparse.Namespace, kind: str) -> list[list[str]]:
    from sqlalchemy import select, text

    from app.extensions import db
    from app.paging import Cut
    from cases import queries, views
    from cases.models import Case
    from cases.serialize import case_json

    total = CASES // (10 if args.quick else 1)
    rng = random.Random(20240917)
    from app.timeutil import utcnow

    now = utcnow()
    t0 = time.perf_counter()
    rows = register_rows(people, total, rng, now)
    with app.app_context():
        write(rows)
    seeded = time.perf_counter() - t0
    unit_code, unit_size = busiest_unit(rows, people)
    open_count = sum(1 for c in rows.cases if c["status"] != "closed")
    overdue_all = sum(1 for c in rows.cases if c["next_due_at"] is not None and c["next_due_at"] <= now)
    print(f"[{kind}] seeded {total:,} cases ({open_count:,} open, {overdue_all:,} overdue; {len(rows):,} rows) "
          f"in {seeded:.1f} s; unit user of {unit_code} ({unit_size:,} cases)", flush=True)

    office = people.users["office1"]
    drafter = people.users[f"{unit_code.lower()}-drafter1"]
    ids = [c["id"] for c in rows.cases]

    def first_page(filters: dict[str, str], whole: bool = False) -> Callable[[Any], Any]:
        return lambda user: queries.page(user, queries.parse_filters(filters), Cut(), whole=whole)

    def with_clocks(user: Any) -> Any:
        found, count = queries.page(user, queries.parse_filters({}), Cut())
        return views.list_items(found), count

    def api_list(user: Any) -> Any:
        found, count = queries.page(user, queries.parse_filters({}), Cut(), whole=True)
        return [case_json(c) for c in found], count

    runs, extra = args.runs, max(20, args.runs // 4)
    select_one = Series("baseline: SELECT 1", lambda user: db.session.execute(text("SELECT 1")).scalar(), office, runs)
    by_pk = Series("baseline: one case by primary key",
                   lambda user: db.session.scalars(select(Case).where(Case.id == rng.choice(ids))).one(), office, runs)
    main = [
        Series("first page, office (all cases)", first_page({}), office, runs),
        Series(f"first page, unit user ({unit_code})", first_page({}), drafter, runs),
        Series("overdue=true, office", first_page({"overdue": "true"}), office, runs),
        Series(f"overdue=true, unit user ({unit_code})", first_page({"overdue": "true"}), drafter, runs),
    ]
    extras = [
        Series("  + clocks (register page: page + list_items)", with_clocks, office, extra),
        Series("  + API list (page whole=True + case_json)", api_list, office, extra),
    ]
    print(f"[{kind}] register: {runs} runs each …", flush=True)
    measure(app, [select_one, by_pk, *main, *extras])
    if args.explain:
        for s in main:
            explain(app, f"[{kind}] {s.label}", s.call, s.user_id)

    base = by_pk.p(95)
    out = [
        [kind, select_one.label, f"{select_one.p(50):.2f} / {select_one.p(95):.2f} ms", "", "", "",
         f"{select_one.statements} stmt"],
        [kind, by_pk.label, f"{by_pk.p(50):.2f} / {by_pk.p(95):.2f} ms", "", "1.0×", "",
         f"{by_pk.statements} stmt"],
    ]
    for s in [*main, *extras]:
        goal = f"p95 < {GOAL_PAGE_MS:.0f} ms" if s in main else ""
        mark = ("met" if s.p(95) < GOAL_PAGE_MS else "MISSED") if s in main else ""
        out.append([kind, s.label, f"{s.p(50):.2f} / {s.p(95):.2f} ms", f"{base:.2f} ms",
                    f"{common.ratio(s.p(95), base):.1f}×", f"{goal} {mark}".strip(),
                    f"{s.statements} stmt, {s.shown}, {len(s.times)} runs"])
    return out


def bench_sweep(app: Any, people: People, args: argparse.Namespace, kind: str) -> list[list[str]]:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.notifications.models import Notification
    from app.timeutil import utcnow
    from cases import clock
    from cases.models import Deadline

    sizes = [n // (10 if args.quick else 1) for n in SWEEP_SIZES]
    results: list[tuple[int, int, int, int, float, float, int]] = []
    for n, size in enumerate([100, *sizes]):  # the first, small one only warms up (imports, catalogs, plans)
        with app.app_context():
            db.session.remove()
            wipe_cases()
            now = utcnow()
            rows, crossing = sweep_rows(people, size, random.Random(size), now)
            t0 = time.perf_counter()
            write(rows)
            seeded = time.perf_counter() - t0
            expected = sum(people.per_threshold[t] * c for t, c in crossing.items())
            due = db.session.scalar(select(func.count()).select_from(Deadline).where(Deadline.next_alert_at <= now))
            db.session.remove()
            with counting() as seen:
                t0 = time.perf_counter()
                created = clock.sweep(now)
                took = time.perf_counter() - t0
            statements = len(seen)
            db.session.remove()
            t0 = time.perf_counter()
            again = clock.sweep(now)
            idle = time.perf_counter() - t0
            stored = db.session.scalar(select(func.count()).select_from(Notification))
            left = db.session.scalar(select(func.count()).select_from(Deadline).where(Deadline.next_alert_at <= now))
            db.session.remove()
        if n == 0:
            continue
        print(f"[{kind}] sweep over {size:,} open deadlines ({due:,} due; seeded {len(rows):,} rows in "
              f"{seeded:.1f} s): {took:.3f} s", flush=True)
        problems = []
        if created != expected or stored != expected:
            problems.append(f"EXPECTED {expected} notifications, sweep said {created}, stored {stored}")
        if again or left:
            problems.append(f"second sweep created {again}, {left} clocks still due")
        results.append((size, due, created, statements, took, idle, len(problems)))
        if problems:
            print(f"[{kind}]   " + "; ".join(problems), flush=True)

    out: list[list[str]] = []
    first_per = results[0][4] / results[0][0] if results else float("nan")
    for size, due, created, statements, took, idle, problems in results:
        per = took / size
        goal = ""
        if size == 10_000:
            goal = f"< {GOAL_SWEEP_S:.0f} s at {size:,} " + ("met" if took < GOAL_SWEEP_S else "MISSED")
        out.append([kind, f"sweep, {size:,} open deadlines ({due:,} due)", f"{took * 1000:,.0f} ms",
                    f"idle {idle * 1000:.1f} ms", f"{common.ratio(per, first_per):.2f}× per deadline", goal,
                    f"{per * 1e6:.1f} µs/open deadline, {took / max(due, 1) * 1e6:.0f} µs/due, {created:,} "
                    f"notifications, {statements:,} stmt" + (", CHECK FAILED" if problems else "")])
    return out


def bench_calendar(app: Any, people: People, args: argparse.Namespace, kind: str) -> list[list[str]]:
    from sqlalchemy import select, update

    from app.extensions import db
    from app.models import User
    from app.timeutil import SHANGHAI, utcnow
    from cases import clock, workdays
    from cases.models import Deadline

    size = SWEEP_SIZES[1] // (10 if args.quick else 1)
    with app.app_context():
        db.session.remove()
        wipe_cases()
        now = utcnow()
        rows, _ = sweep_rows(people, size, random.Random(size), now)
        write(rows)
        # every open clock a 5 wd clock, due as the library counts it
        started = db.session.execute(select(Deadline.id, Deadline.started_at)).all()
        db.session.execute(update(Deadline), [{"id": i, "spec": "5wd", "due_at": clock.due_at(at, "5wd")}
                                              for i, at in started])
        db.session.commit()
        db.session.remove()
        today = now.astimezone(SHANGHAI).date()
        first = today + timedelta(days=1)
        last = min(first + timedelta(days=6), first.replace(month=12, day=31))
        year = first.year
        week = f"{first} 至 {last} 闭馆" if last > first else f"{first} 闭馆"
        out: list[list[str]] = []
        for label, text in (("holidays next week", week), ("the same table again", week), ("emptied", "")):
            office = db.session.get(User, people.users["office1"])
            assert office is not None
            with counting() as seen:
                t0 = time.perf_counter()
                change = workdays.replace_year(office, year, text)
                took = time.perf_counter() - t0
            moved = sum(len(m.deadlines) for m in change.moved)
            db.session.remove()
            goal = ""
            if change.changed:
                goal = f"< {GOAL_CALENDAR_S:.0f} s " + ("met" if took < GOAL_CALENDAR_S else "MISSED")
            print(f"[{kind}] calendar {label}: {took:.3f} s, {moved:,} clocks of {len(change.moved):,} cases moved",
                  flush=True)
            out.append([kind, f"calendar change over {size:,} open wd clocks: {label}", f"{took * 1000:,.0f} ms", "",
                        f"{took / size * 1e6:.1f} µs/clock", goal,
                        f"{moved:,} clocks of {len(change.moved):,} cases moved, {change.notified:,} notifications, "
                        f"{len(seen):,} stmt"])
    return out


def run_backend(kind: str, args: argparse.Namespace) -> list[list[str]]:
    try:
        with database(kind) as app:
            people = seed_people(app)
            rows = bench_register(app, people, args, kind)
            rows += bench_sweep(app, people, args, kind)
            rows += bench_calendar(app, people, args, kind)
            return rows
    except Unreachable as exc:
        print(f"[{kind}] skipped: PostgreSQL unreachable at {common.PG_ADMIN} ({exc})", flush=True)
        return [[kind, "skipped: server unreachable", "", "", "", "", ""]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="ten times fewer rows")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, default=200, help="runs per register figure (default 200)")
    parser.add_argument("--explain", action="store_true", help="print the plans of the register's queries")
    args = parser.parse_args(argv)
    kinds = common.BACKENDS if args.backend == "both" else (args.backend,)
    began = time.perf_counter()
    rows: list[list[str]] = []
    for kind in kinds:
        rows += run_backend(kind, args)
    total = CASES // (10 if args.quick else 1)
    print()
    print(f"{total:,} cases ({OPEN_SHARE:.0%} open), {len(UNITS)} units; register figures are p50 / p95 of "
          f"queries.page(Cut()) over {args.runs} runs in this process, ratio = p95 / the primary-key fetch's p95; "
          f"sweeps: one clock.sweep(now) each, {CROSS_SHARE:.0%} of the open deadlines due, ratio = time per open "
          f"deadline / the smallest size's")
    print(common.table(["backend", "measurement", "value", "baseline", "ratio", "goal", "notes"], rows))
    print(f"\ntotal run time {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
