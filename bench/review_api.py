"""The statements API and the "my work" page under a real server, against `/bench/hello` on the same server.

gunicorn (gthread, 2 workers × 4 threads by default) serves `bench.wsgi:app` on a loopback port; a load
process with keep-alive connections measures requests/s of

- `GET /api/v1/statements/{id}` (bearer token),
- `POST /api/v1/statements/{id}/reviews`, each a real expert approval of a fresh statement (201 expected;
  anything else is counted and printed),

each as a ratio to the hello route, with one token shared by every connection (an integration) and with one
token per connection. Then p50/p95 of `GET /` ("my work", signed in as an expert through the login form)
next to the hello route's p95. Every figure is taken at each table size of `--statements` (10,000 and
100,000 by default: the table grows between them, the same database and a fresh server), so the rows show
whether a request's cost grows with the table. Timings are printed, never asserted.

    .venv/bin/python -m bench.review_api [--seconds 5] [--backend sqlite|postgresql|both]
                                         [--statements 10000,100000]
"""

from __future__ import annotations

import argparse
import random
import re
from typing import Any

# first: points HUIYING_INSTANCE at a temporary folder (isort keeps plain imports before from-imports)
import bench.common as common
from bench.common import Load, LoadResult, Seed

UNITS = tuple(f"U{n:02d}" for n in range(1, 11))
POST_UNIT = "POST"
STATEMENTS = (10_000, 100_000)
CAST = {"drafter": 2, "expert": 2, "leader": 1}
STATUSES = (  # (status, pending stage, weight): most statements of a year are out; some wait on someone
    ("published", None, 52), ("in_review", "expert", 8), ("in_review", "agency", 2), ("in_review", "leader", 5),
    ("draft", None, 12), ("changes_requested", None, 5), ("approved", None, 2), ("rejected", None, 4),
    ("retracted", None, 2), ("partially_published", None, 1), ("failed", None, 1), ("scheduled", None, 1),
    ("publishing", None, 1), ("draft", None, 4),
)
PRIORITIES = (("urgent", 5), ("high", 15), ("normal", 60), ("low", 20))
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def pick(rng: random.Random, weighted: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    """One of `weighted`, whose last field is its weight."""
    return rng.choices(weighted, weights=[w[-1] for w in weighted])[0]


def mixed_statements(people: common.People, rng: random.Random, count: int) -> list[Seed]:
    """`count` statements over ten units, a year of them: mostly published, some waiting on each stage."""
    from app.timeutil import utcnow

    now = utcnow()
    seeds = []
    for _ in range(count):
        unit = rng.choice(UNITS)
        status, stage, _weight = pick(rng, STATUSES)
        priority = pick(rng, PRIORITIES)[0]
        expert, leader = rng.choice(people.of(unit, "expert")), people.of(unit, "leader")[0]
        approvals: list[tuple[str, int]] = []
        agencies: list[str] = []
        if stage in ("agency", "leader"):
            approvals = [("expert", people.id(expert))]
            agencies = ["河南省农业农村厅"] if stage == "agency" else []
        elif status not in ("in_review", "draft", "changes_requested", "rejected"):
            approvals = [("expert", people.id(expert)), ("leader", people.id(leader))]
        seeds.append(Seed(
            unit_id=people.units[unit], author_id=people.id(rng.choice(people.of(unit, "drafter"))),
            status=status, pending_stage=stage, priority=priority, agencies=agencies,
            review_round=0 if status == "draft" else 1, updated_at=now - common.spread(rng, 365),
            approvals=approvals,
        ))
    return seeds


def waiting_on(seeds: list[Seed], people: common.People, unit: str) -> int:
    """How many statements the page should list for an expert of `unit` (written by drafters only)."""
    uid = people.units[unit]
    return sum(1 for s in seeds if s.unit_id == uid and s.status == "in_review" and s.pending_stage == "expert")


def review_stock(app: Any, people: common.People, count: int) -> list[common.Inserted]:
    """`count` statements waiting on an expert of the POST unit, each with its own text and hash."""
    from app.timeutil import utcnow

    drafter = people.id(people.of(POST_UNIT, "drafter")[0])
    now = utcnow()
    return common.insert_statements(app, [
        Seed(unit_id=people.units[POST_UNIT], author_id=drafter, status="in_review", pending_stage="expert",
             updated_at=now) for _ in range(count)
    ])


COUNT_RE = re.compile(r'id="work-review">\s*<h2>[^<]*<span class="count">(\d+)</span>')


def sign_in(host: str, port: int, username: str) -> tuple[str, int | None]:
    """Sign in through the login form as a browser does: the session's Cookie header, and how many
    statements "my work" says wait on review."""
    import requests

    with requests.Session() as browser:
        base = f"http://{host}:{port}"
        page = browser.get(f"{base}/login", timeout=10)
        found = CSRF_RE.search(page.text)
        assert found, "the login page carries a CSRF token"
        resp = browser.post(f"{base}/login", data={"username": username, "password": common.PASSWORD,
                                                    "csrf_token": found.group(1)}, allow_redirects=False, timeout=10)
        assert resp.status_code == 302, (resp.status_code, resp.text[:500])
        home = browser.get(f"{base}/", timeout=10)
        assert home.status_code == 200, home.status_code
        shown = COUNT_RE.search(home.text)
        return "; ".join(f"{k}={v}" for k, v in browser.cookies.items()), int(shown.group(1)) if shown else None


def bearer(tokens: list[str]) -> tuple[tuple[tuple[str, str], ...], ...]:
    """Headers per connection, one token each in turn."""
    return tuple((("Authorization", f"Bearer {t}"), ("Content-Type", "application/json")) for t in tokens)


def statuses(result: LoadResult) -> str:
    """Every answer of a load run by status, e.g. `201×300 409×2`."""
    return " ".join(f"{status}×{n}" for status, n in sorted(result.statuses.items())) or "-"


def run_backend(kind: str, args: argparse.Namespace) -> list[list[str]]:
    """Every figure on one backend at each table size, as table rows."""
    rng = random.Random(20240601)
    rows: list[list[str]] = []
    common.flush_redis()
    with common.database(kind) as backend:
        app = common.make_app(backend)
        people = common.seed_people(app, (*UNITS, POST_UNIT), CAST)
        seeds: list[Seed] = []
        u01: list[int] = []
        for size in args.statements:
            more = mixed_statements(people, rng, max(0, size - len(seeds)))
            print(f"[{kind}] seeding {len(more):,} statements (to {size:,}) …", flush=True)
            inserted = common.insert_statements(app, more)
            store_findings(app, inserted, rng)
            seeds += more
            u01 += [item.statement_id for item, seed in zip(inserted, more, strict=True)
                    if seed.unit_id == people.units["U01"]]
            rows += measure(kind, f"{size // 1000}k", app, backend, people, seeds, u01, rng, args)
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()
    return rows


def store_findings(app: Any, inserted: list[common.Inserted], rng: random.Random) -> None:
    """Every revision the services save carries its check findings (review/checks.py); give the bulk-inserted
    ones theirs, or each GET would check its text again (the path of a revision saved before checks existed).
    The seeded texts differ only in a number, so a sample's findings stand for all: checked here, not assumed."""
    import json

    from sqlalchemy import select, update

    from app.extensions import db
    from review import checks
    from review.models import Revision

    with app.app_context():
        sample = rng.sample(inserted, min(20, len(inserted)))
        found = {json.dumps(checks.run(checks.Draft(r.title, r.digest, r.body, ("portal",))))
                 for r in db.session.scalars(select(Revision).where(Revision.id.in_([i.revision_id for i in sample])))}
        if found != {"[]"}:
            print(f"  the sample's findings differ ({len(found)} kinds): revisions keep no stored findings")
            return
        ids = [i.revision_id for i in inserted]
        db.session.execute(update(Revision).where(Revision.id.between(min(ids), max(ids)), Revision.checks.is_(None))
                           .values(checks=[]))
        db.session.commit()


def measure(kind: str, size: str, app: Any, backend: common.Backend, people: common.People, seeds: list[Seed],
            u01: list[int], rng: random.Random, args: argparse.Namespace) -> list[list[str]]:
    """hello, GET statement, POST review and "my work" on one fresh server at the table's current size."""
    from sqlalchemy import func, select

    from app.extensions import db
    from review.models import Decision

    rows: list[list[str]] = []
    reader = people.of("U01", "expert")[0]
    shared = [common.token(app, reader)]
    own = [common.token(app, reader) for _ in range(args.connections)]
    poster = people.of(POST_UNIT, "expert")[0]
    post_shared = [common.token(app, poster)]
    post_own = [common.token(app, poster) for _ in range(args.connections)]
    expected_work = waiting_on(seeds, people, "U01")
    poster_ids = [people.id(p) for p in people.of(POST_UNIT, "expert")]
    with app.app_context():
        accepted_before = db.session.scalar(select(func.count()).select_from(Decision).where(
            Decision.reviewer_id.in_(poster_ids))) or 0

    with common.gunicorn(backend, workers=args.workers, threads=args.threads,
                         EXPERT_APPROVALS_REQUIRED="1") as (host, port):
        def load(requests: list[tuple[str, str, bytes | None]], headers: Any = ((),), connections: int = 0,
                 once: bool = False) -> LoadResult:
            return common.run_load(Load(host, port, tuple(requests), headers, connections or args.connections,
                                        args.seconds, args.warmup, once))

        print(f"[{kind} {size}] hello …", flush=True)
        hello = load([("GET", "/bench/hello", None)])
        ids = rng.sample(u01, 200)
        print(f"[{kind} {size}] GET statement …", flush=True)
        get_shared = load([("GET", f"/api/v1/statements/{i}", None) for i in ids], bearer(shared))
        get_own = load([("GET", f"/api/v1/statements/{i}", None) for i in ids], bearer(own))

        posts: dict[str, LoadResult] = {}
        for label, tokens in (("shared", post_shared), ("own", post_own)):
            need = int(max(get_shared.rps, get_own.rps) * (args.seconds + args.warmup) * 1.2) + 200
            stock = review_stock(app, people, need)
            store_findings(app, stock, rng)
            print(f"[{kind} {size}] POST reviews ({label} token, stock {need}) …", flush=True)
            bodies = [("POST", f"/api/v1/statements/{s.statement_id}/reviews",
                       common.json_body({"revision_hash": s.hash, "stage": "expert", "decision": "approve"}))
                      for s in stock]
            posts[label] = load(bodies, bearer(tokens), once=True)

        print(f"[{kind} {size}] my work …", flush=True)
        cookie, shown = sign_in(host, port, reader)
        seq_hello = load([("GET", "/bench/hello", None)], connections=1)
        work = load([("GET", "/", None)], ((("Cookie", cookie),),), connections=1)

    with app.app_context():
        accepted = (db.session.scalar(select(func.count()).select_from(Decision).where(
            Decision.reviewer_id.in_(poster_ids))) or 0) - accepted_before

    where = f"{kind} {size}"
    ok_posts = sum(r.statuses.get(201, 0) for r in posts.values())
    hello_p95 = seq_hello.p(95)
    rows.append([where, "hello  GET /bench/hello", f"{hello.rps:,.0f} req/s", "-", "1.00", "", statuses(hello)])
    for label, result in (("GET statement, 1 shared token", get_shared), ("GET statement, token per conn", get_own)):
        rows.append([where, label, f"{result.rps:,.0f} req/s", f"{hello.rps:,.0f}",
                     f"{common.ratio(result.rps, hello.rps):.2f}", "≥ 0.5", statuses(result)])
    for label, result in posts.items():
        name = "POST review, 1 shared token" if label == "shared" else "POST review, token per conn"
        note = statuses(result) + (" (stock ran out)" if result.exhausted else "")
        if result.non_2xx or result.errors:
            note += f"  NON-2XX {result.non_2xx}, conn errors {result.errors}"
        rows.append([where, name, f"{result.rps:,.0f} req/s", f"{hello.rps:,.0f}",
                     f"{common.ratio(result.rps, hello.rps):.2f}", "≥ 0.3", note])
    rows.append([where, "hello p50/p95 (1 conn)", f"{seq_hello.p(50):.1f} / {hello_p95:.1f} ms", "-", "1.00", "",
                 f"{seq_hello.sent} requests"])
    rows.append([where, "my work GET / p50/p95 (1 conn)", f"{work.p(50):.1f} / {work.p(95):.1f} ms",
                 f"{hello_p95:.1f} ms", f"{common.ratio(work.p(95), hello_p95):.1f}×", "p95 < 50 ms",
                 f"{statuses(work)}; {work.sent} requests"])
    rows.append([where, "  (check) my work", f"shows {shown}, expected {expected_work}", "", "", "",
                 f"POST 201s {ok_posts}, decisions stored {accepted}"])
    return rows


def _sizes(text: str) -> tuple[int, ...]:
    sizes = tuple(sorted(int(part) for part in text.split(",") if part.strip()))
    if not sizes or sizes[0] < 1000:
        raise argparse.ArgumentTypeError("sizes of at least 1000, e.g. 10000,100000")
    return sizes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per figure (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds before each figure")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--statements", type=_sizes, default=STATEMENTS,
                        help="table sizes to measure at, ascending, comma-separated (default 10000,100000)")
    args = parser.parse_args(argv)
    kinds = common.BACKENDS if args.backend == "both" else (args.backend,)
    rows: list[list[str]] = []
    with common.redis_to_ourselves():
        for kind in kinds:
            rows += run_backend(kind, args)
    print()
    print(f"gunicorn gthread {args.workers}×{args.threads}, {args.connections} keep-alive connections from a "
          f"separate process, {args.seconds:g} s measured after {args.warmup:g} s warm-up; "
          f"{' then '.join(f'{n:,}' for n in args.statements)} statements in the database")
    print(common.table(["backend", "measurement", "value", "baseline", "ratio", "goal", "answers / notes"], rows))


if __name__ == "__main__":
    main()
