"""`make run`: migrate, seed the demo, make sure Redis answers, start the web server and one worker.

Ctrl-C stops everything this started.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import redis


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _ensure_redis(url: str, instance: Path) -> subprocess.Popen[bytes] | None:
    """Use the Redis at REDIS_URL; if none answers, start a private one under instance/ (or explain)."""
    if _redis_answers(url):
        return None
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    if host not in ("127.0.0.1", "localhost", "::1") or shutil.which("redis-server") is None:
        print(f"Redis 无法连接（{url}）：请安装并启动 Redis，例如 Debian/Ubuntu: sudo apt-get install redis-server；"
              "macOS: brew install redis；或设置 REDIS_URL。")
        sys.exit(1)
    folder = instance / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder), "--save", "60 1",
         "--appendonly", "no", "--logfile", str(folder / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    for _ in range(50):
        if _redis_answers(url):
            print(f"已启动本地 Redis：127.0.0.1:{port}（数据目录 {folder}）")
            return proc
        time.sleep(0.1)
    proc.terminate()
    print("无法启动 redis-server，请查看", folder / "redis.log")
    sys.exit(1)


def main() -> None:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    origin = f"http://{host}:{port}"
    os.environ.setdefault("PUBLIC_BASE_URL", origin)
    if not os.environ.get("WECHAT_APP_ID"):
        os.environ.setdefault("WECHAT_SANDBOX", "1")  # the demo publishes to the built-in sandbox (interface §13)
        os.environ.setdefault("WECHAT_SANDBOX_BASE", f"{origin}/sandbox/wechat")
        os.environ.setdefault("WECHAT_SANDBOX_CALLBACK_URL", f"{origin}/wechat/callback")

    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.models import Unit
    from huiying import demo

    app = create_app()
    instance = Path(app.instance_path)
    children: list[subprocess.Popen[bytes]] = []
    redis_proc = _ensure_redis(app.config["REDIS_URL"], instance)
    if redis_proc:
        children.append(redis_proc)
    huiying = str(Path(sys.executable).with_name("huiying"))
    with app.app_context():
        upgrade()
        if not Path(app.config["LEDGER_SIGNING_KEY"]).exists():  # the record's checkpoint key, kept outside the DB
            subprocess.run([huiying, "ledger", "keygen"], check=False)
        if db.session.scalar(db.select(db.func.count(Unit.id))) == 0:
            for line in demo.seed():
                print("  demo:", line)
        db.engine.dispose()

    children.append(subprocess.Popen([huiying, "run", "-h", host, "-p", str(port), "--no-reload"]))
    children.append(subprocess.Popen([huiying, "worker"]))
    print(f"""
回应 Huiying 已启动：{origin}/
  登录：{origin}/login   密码均为 {demo.PASSWORD}
    植物保护研究所：zbs_drafter（起草）、zbs_expert1 / zbs_expert2（专家）、zbs_leader（领导）
    农业经济与信息研究所：njs_drafter、njs_expert1、njs_expert2、njs_leader
    院办公室：office（督查）、admin（管理）
  权威发布（门户）：{origin}/releases    发布记录：{origin}/record
  微信沙箱查看器（登录后查看）：{origin}/sandbox/wechat/
按 Ctrl-C 停止。""", flush=True)

    def stop(*_: object) -> None:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while True:
        for child in children:
            if child.poll() is not None:
                print(f"进程已退出（{child.args[0]} … 退出码 {child.returncode}），正在停止其余进程。")
                stop()
        time.sleep(1)


if __name__ == "__main__":
    main()
