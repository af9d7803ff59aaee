"""The drill: a case registered → a response drafted → expert → agency → leader → live on both channels.

Every human step is one API call made the moment the previous one answered, so what is left is the system's
own time on the critical path: each request's latency, then from the leader's answer until the portal and the
WeChat account both show the statement. The WeChat platform's own publishing time is the channel's, not ours:
the sandbox (served in this process on a loopback port, as the official API's stand-in) takes
`--wechat-delay` seconds to finish a publish job, and that is subtracted (and shown). Everything else runs as in
production: gunicorn (2 workers × 4 threads) for the API and the WeChat callback, two `huiying worker`
processes (one per core) for the release queues, PostgreSQL, Redis.

Goal (issue 13): system time on the critical path < 2 s on PostgreSQL; each step's share is printed.
Printed, never asserted.

    .venv/bin/python -m bench.drill [--runs 5] [--backend postgresql|sqlite] [--wechat-delay 0.5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

# first: points HUIYING_INSTANCE at a temporary folder (isort keeps plain imports before from-imports)
import bench.common as common
from tests.live import serving

UNIT = "DRL"
CAST = {"drafter": 1, "expert": 1, "leader": 1}
AGENCY = "省农业农村厅"
BODY = ("经核实，网传“某地小麦种子大面积出苗异常”一事与实际情况不符。我院植物保护研究所专家已于当日赴现场调查，"
        "出苗情况正常，个别地块出苗较慢系播种偏晚、墒情不足所致。\n\n"
        "我院将持续跟踪苗情，并通过本网站和微信公众号及时发布进展。欢迎社会各界监督。")
STEPS = ("register case", "draft response", "submit", "expert review", "agency confirmation", "leader approval")


class Api:
    """Keep-alive JSON calls to the gunicorn under test, timed."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(self, path: str, body: dict[str, Any] | None = None) -> tuple[dict[str, Any], float]:
        start = time.perf_counter()
        self.conn.request("POST", f"/api/v1{path}", body=json.dumps(body or {}, ensure_ascii=False).encode(),
                          headers=self.headers)
        resp = self.conn.getresponse()
        data = resp.read()
        elapsed = time.perf_counter() - start
        if resp.status not in (200, 201):
            raise RuntimeError(f"POST {path} → {resp.status}: {data[:300]!r}")
        return json.loads(data), elapsed


def moments(app: Any, statement_id: int) -> dict[str, datetime] | None:
    """approved_at, each channel's published_at, and WeChat's submit-accepted time, once both are live."""
    from sqlalchemy import select

    from app.extensions import db
    from publishing.models import Delivery, Release

    with app.app_context():
        rel = db.session.scalar(select(Release).where(Release.statement_id == statement_id))
        rows = db.session.scalars(select(Delivery).where(Delivery.statement_id == statement_id)).all()
        found: dict[str, Any] = {"approved": rel.approved_at if rel else None}
        for d in rows:
            if d.state == "failed":
                raise RuntimeError(f"{d.channel} delivery failed: {d.last_error}")
            found[d.channel] = d.published_at
            if d.channel == "wechat" and (d.data or {}).get("submitted_at"):
                found["wechat_submitted"] = datetime.fromisoformat(d.data["submitted_at"])
        db.session.rollback()
    return found if found.get("portal") and found.get("wechat") else None


def one_run(app: Any, host: str, port: int, tokens: dict[str, str], n: int) -> dict[str, float]:
    drafter, expert, leader = (Api(host, port, tokens[r]) for r in ("drafter", "expert", "leader"))
    took: dict[str, float] = {}
    case, took["register case"] = drafter.post("/cases", {
        "title": f"网传小麦种子出苗异常（演练 {n}）", "source": "weibo", "summary": "微博多条转发称某地小麦出苗异常",
        "units": [UNIT]})
    st, took["draft response"] = drafter.post("/statements", {
        "title": "关于网传小麦种子出苗异常的情况说明", "digest": "情况说明", "body": BODY,
        "channels": ["portal", "wechat"], "agencies": [AGENCY], "case_ids": [case["id"]], "priority": "urgent"})
    revision = st["revision"]["hash"]
    _, took["submit"] = drafter.post(f"/statements/{st['id']}/submit")
    _, took["expert review"] = expert.post(f"/statements/{st['id']}/reviews", {
        "revision_hash": revision, "stage": "expert", "decision": "approve"})
    _, took["agency confirmation"] = drafter.post(f"/statements/{st['id']}/confirmations", {
        "revision_hash": revision, "agency": AGENCY, "contact": "张科长", "method": "phone", "note": "电话确认"})
    answered, took["leader approval"] = leader.post(f"/statements/{st['id']}/reviews", {
        "revision_hash": revision, "stage": "leader", "decision": "approve"})
    answered_at = datetime.now(UTC)
    m = common.wait_until("both channels to be live", lambda: moments(app, st["id"]), timeout=60, every=0.01)
    took["approval answered → portal live"] = max(0.0, (m["portal"] - answered_at).total_seconds())
    took["approval answered → WeChat submitted"] = max(0.0, (m["wechat_submitted"] - answered_at).total_seconds())
    took["WeChat submitted → live"] = (m["wechat"] - m["wechat_submitted"]).total_seconds()
    took["both live after approval"] = max(0.0, (max(m["portal"], m["wechat"]) - answered_at).total_seconds())
    return took


def run(kind: str, runs: int, delay: float) -> None:
    common.flush_redis()
    with common.database(kind) as backend:
        env = {"WECHAT_SANDBOX": "1", "EXPERT_APPROVALS_REQUIRED": "1"}
        with common.gunicorn(backend, workers=2, threads=4, **env) as (host, port):
            origin = f"http://{host}:{port}"
            app = common.make_app(backend, WECHAT_SANDBOX=True, WECHAT_SANDBOX_PUBLISH_DELAY=delay,
                                  WECHAT_SANDBOX_CALLBACK_URL=f"{origin}/wechat/callback")
            people = common.seed_people(app, [UNIT], CAST)
            tokens = {role: common.token(app, people.of(UNIT, role)[0]) for role in CAST}
            with serving(app) as sandbox:
                worker_env = backend.env(**env, WECHAT_SANDBOX_BASE=f"{sandbox}/sandbox/wechat")
                log = open(backend.workdir / "workers.log", "ab")  # noqa: SIM115 (closed below)
                workers = [subprocess.Popen([str(common.BIN / "huiying"), "worker"], env=worker_env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True) for _ in range(2)]
                try:
                    from rq import Worker as RQWorker

                    redis = _redis()
                    common.wait_until("two workers", lambda: len(RQWorker.all(connection=redis)) >= 2, timeout=60)
                    one_run(app, host, port, tokens, 0)  # warm-up: first requests, connections, imports
                    results = [one_run(app, host, port, tokens, n) for n in range(1, runs + 1)]
                finally:
                    for w in workers:
                        common.stop_group(w, 15, timeout=30)
                    log.close()
    report(kind, runs, delay, results)


def _redis() -> Any:
    import redis

    return redis.Redis.from_url(common.REDIS_URL)


def report(kind: str, runs: int, delay: float, results: list[dict[str, float]]) -> None:
    def med(key: str) -> float:
        return common.percentile([r[key] for r in results], 50)

    # the critical path after the approval is the slower channel; WeChat's own publishing time is the channel's
    after = [max(r["approval answered → portal live"],
                 r["approval answered → WeChat submitted"] + max(0.0, r["WeChat submitted → live"] - delay))
             for r in results]
    totals = [sum(r[s] for s in STEPS) + a for r, a in zip(results, after, strict=True)]
    total = common.percentile(totals, 50)
    rows = [[kind, step, f"{med(step) * 1000:.0f} ms", f"{med(step) / total:.0%}"] for step in STEPS]
    wechat_ours = common.percentile([r["approval answered → WeChat submitted"]
                                     + max(0.0, r["WeChat submitted → live"] - delay) for r in results], 50)
    rows += [
        [kind, "after approval: portal live", f"{med('approval answered → portal live') * 1000:.0f} ms",
         f"{med('approval answered → portal live') / total:.0%} (parallel)"],
        [kind, "after approval: WeChat staged + submitted",
         f"{med('approval answered → WeChat submitted') * 1000:.0f} ms", ""],
        [kind, "WeChat publishing (platform, excluded)", f"{delay * 1000:.0f} ms", "—"],
        [kind, "WeChat done → live here (callback, poll, settle)",
         f"{max(0.0, med('WeChat submitted → live') - delay) * 1000:.0f} ms", ""],
        [kind, "after approval, critical path (slower channel, ours)", f"{common.percentile(after, 50) * 1000:.0f} ms",
         f"{common.percentile(after, 50) / total:.0%}"],
        [kind, "system time on the critical path", f"{total * 1000:.0f} ms", "100%"],
    ]
    print()
    print(f"drill, median of {runs} runs (after one warm-up); WeChat via the sandbox with a {delay:.1f} s publish "
          f"job; goal: system time < 2 s")
    print(common.table(["backend", "step", "time", "share"], rows))
    print(f"system time per run: {', '.join(f'{t * 1000:.0f} ms' for t in totals)}; WeChat part of ours "
          f"{wechat_ours * 1000:.0f} ms; both channels live after approval (wall, incl. the platform): "
          f"{med('both live after approval') * 1000:.0f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--wechat-delay", type=float, default=0.5, help="the sandbox's publish job, seconds")
    args = parser.parse_args(argv)
    with common.redis_to_ourselves():
        run(args.backend, args.runs, args.wechat_delay)


if __name__ == "__main__":
    main()
