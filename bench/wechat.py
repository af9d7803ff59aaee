"""WeChat channel benchmarks (issue: render throughput, approval → submit accepted, dual-channel skew).

    python -m bench.wechat [--backend sqlite|postgresql|both] [--quick]

1. Render + sanitize throughput of a ~3,000-character statement against plain `markdown.markdown` on the
   same text (goal ≥ 0.3×).
2. Approval → WeChat `freepublish/submit` accepted, on the built-in sandbox served by gunicorn, with one
   real `huiying worker`: p50/p95, against the raw latency of the sandbox's own `token` call (a ratio).
3. Portal-vs-WeChat go-live skew for scheduled statements: |portal published_at − WeChat submit accepted|
   (goal ≤ 1 s), since the draft is staged at approval and only the submit is left for go-live.
Prints its figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import http.client
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench import common

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_3997cc794e70df89.simplified.txt"


def statement_text(chars: int = 3000) -> str:
    """A realistic official statement of about `chars` characters: headings, lists, a quote, a link, a table."""
    if SEED.exists():
        lines = [line for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        from huiying.demo import BODY

        lines = BODY.splitlines()
    parts = ["# 关于网传信息的情况说明", "> 请以官方发布为准，不信谣、不传谣。"]
    n = 0
    while sum(len(p) for p in parts) < chars:
        line = lines[n % len(lines)]
        parts.append(f"## {line[:20]}" if n % 7 == 0 else line)
        if n % 9 == 4:
            parts.append("1. 核实情况；\n2. 公开回应；\n3. 持续跟踪。")
        if n % 11 == 5:
            parts.append("详见[政府信息公开](https://www.gov.cn/zhengce/)与[公告](https://mp.weixin.qq.com/s/abc)。")
        if n % 13 == 6:
            parts.append("| 项目 | 结果 |\n|:--|--:|\n| 样品 | 合格 |")
        n += 1
    return "\n\n".join(parts)


def bench_render(seconds: float) -> list[list[str]]:
    import markdown

    from wechat.render import render_article

    text = statement_text()

    def rate(fn: Any) -> float:
        fn()  # warm-up
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            fn()
            count += 1
        return count / (time.perf_counter() - start)

    base = rate(lambda: markdown.markdown(text))
    ours = rate(lambda: render_article(text))
    return [["render + sanitize (WeChat HTML)", f"{len(text)} chars", f"{ours:.0f}/s",
             f"markdown.markdown {base:.0f}/s", f"{common.ratio(ours, base):.2f}×", "≥ 0.3×"]]


def _token_latency(host: str, port: int, count: int, secret: str) -> list[float]:
    """The baseline: one round trip to the sandbox (stable_token), same server, same network path."""
    out = []
    conn = http.client.HTTPConnection(host, port, timeout=10)
    body = common.json_body({"grant_type": "client_credential", "appid": "wxsandbox000000001",
                             "secret": secret, "force_refresh": False})
    for _ in range(count):
        start = time.perf_counter()
        conn.request("POST", "/sandbox/wechat/cgi-bin/stable_token", body=body,
                     headers={"Content-Type": "application/json"})
        conn.getresponse().read()
        out.append(time.perf_counter() - start)
    conn.close()
    return out


def _approve(app: Any, people: common.People, *, channels: list[str], go_live: datetime | None) -> int:
    from app.extensions import db
    from app.models import User
    from review import services

    with app.app_context():
        drafter, expert, leader = (db.session.get(User, people.id(people.of("ZBS", r)[0]))
                                   for r in ("drafter", "expert", "leader"))
        data: dict[str, Any] = {"title": "关于网传信息的情况说明", "digest": "情况说明",
                                "body": statement_text(1500), "channels": channels}
        if go_live is not None:
            data["go_live_at"] = go_live.isoformat()
        st = services.create(drafter, data)
        services.submit(drafter, st.id)
        rev_hash = st.current_revision.hash
        services.decide(expert, st.id, {"revision_hash": rev_hash, "stage": "expert", "decision": "approve"})
        statement_id = st.id
        services.decide(leader, statement_id, {"revision_hash": rev_hash, "stage": "leader", "decision": "approve"})
        db.session.remove()
        return statement_id


def _moments(app: Any, statement_id: int) -> dict[str, Any] | None:
    """approved_at, the portal's published_at and WeChat's submit-accepted time, once all are known."""
    from app.extensions import db
    from publishing.models import Release

    with app.app_context():
        rel = db.session.scalar(db.select(Release).where(Release.statement_id == statement_id))
        found: dict[str, Any] = {"approved": rel.approved_at, "go_live": rel.go_live_at}
        for d in rel.deliveries:
            if d.channel == "portal":
                found["portal"] = d.published_at
            elif (d.data or {}).get("submitted_at"):
                found["wechat"] = datetime.fromisoformat(d.data["submitted_at"])
        db.session.remove()
    return found if found.get("wechat") else None


def bench_flow(kind: str, approvals: int, scheduled: int) -> list[list[str]]:
    rows: list[list[str]] = []
    with common.database(kind) as backend:
        common.flush_redis()
        with common.gunicorn(backend, workers=2, threads=4) as (host, port):
            origin = f"http://{host}:{port}"
            extra = {"WECHAT_SANDBOX_BASE": f"{origin}/sandbox/wechat",
                     "WECHAT_SANDBOX_CALLBACK_URL": f"{origin}/wechat/callback", "PUBLIC_BASE_URL": origin}
            app = common.make_app(backend, **extra)
            people = common.seed_people(app, ["ZBS"], {"drafter": 1, "expert": 1, "leader": 1})
            log = open(backend.workdir / "worker.log", "ab")  # noqa: SIM115 (closed below)
            worker = subprocess.Popen([str(common.BIN / "huiying"), "worker"], env=backend.env(**extra),
                                      stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                time.sleep(3)  # the worker loads the app and registers
                from app.config import instance_secret
                from wechat.sandbox.config import SECRET_FILE

                # the sandbox's secret is the servers' own, kept in their instance folder (whoever comes first makes it)
                secret = instance_secret(backend.workdir / "instance", SECRET_FILE)
                baseline = _token_latency(host, port, 50, secret)
                latencies = []
                for _ in range(approvals):
                    sid = _approve(app, people, channels=["wechat"], go_live=None)
                    m = common.wait_until("the WeChat submit", lambda sid=sid: _moments(app, sid), timeout=60)
                    latencies.append((m["wechat"] - m["approved"]).total_seconds())
                p50, p95 = common.percentile(latencies, 50), common.percentile(latencies, 95)
                b50 = common.percentile(baseline, 50)
                rows.append([kind, "approval → WeChat submit accepted", f"p50 {p50 * 1000:.0f} ms",
                             f"p95 {p95 * 1000:.0f} ms", f"sandbox round trip p50 {b50 * 1000:.1f} ms",
                             f"{common.ratio(p50, b50):.0f}×"])

                skews = []
                start = datetime.now().astimezone() + timedelta(seconds=8)
                ids = [_approve(app, people, channels=["portal", "wechat"], go_live=start + timedelta(seconds=3 * i))
                       for i in range(scheduled)]
                for sid in ids:
                    m = common.wait_until("both channels", lambda sid=sid: (lambda x: x if x and x.get("portal")
                                                                            else None)(_moments(app, sid)),
                                          timeout=60 + 3 * scheduled)
                    skews.append(abs((m["wechat"] - m["portal"]).total_seconds()))
                rows.append([kind, f"go-live skew, {scheduled} scheduled statements",
                             f"p50 {common.percentile(skews, 50) * 1000:.0f} ms",
                             f"max {max(skews) * 1000:.0f} ms", "portal flip vs WeChat submit", "goal ≤ 1 s"])
            finally:
                common.stop_group(worker, 15, timeout=30)
                log.close()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(common.table(["measure", "input", "ours", "baseline", "ratio", "goal"],
                       bench_render(1.0 if args.quick else 3.0)))
    print()
    rows: list[list[str]] = []
    for kind in common.BACKENDS if args.backend == "both" else (args.backend,):
        rows += bench_flow(kind, 5 if args.quick else 20, 3 if args.quick else 6)
    print(common.table(["backend", "measure", "", "", "baseline", "ratio"], rows))


if __name__ == "__main__":
    main()
