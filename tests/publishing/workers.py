"""Real `huiying worker` processes and a scriptable local webhook, for the reliability tests.

Everything here listens on or talks to loopback only, and every wait is bounded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import redis as redis_lib
from rq import Queue, Worker

from publishing.queues import QUEUE_NAMES

HUIYING = Path(sys.executable).with_name("huiying")
#: The same Redis database the `app` fixture uses (conftest.py).
TEST_REDIS_URL = os.environ.get("HUIYING_TEST_REDIS", "redis://127.0.0.1:6379/15")
LEASE_SECONDS = 3
SWEEP_SECONDS = 2
WEBHOOK_SECRET = "webhook-test-secret"


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0, every: float = 0.1,
             fail: bool = True) -> Any:
    """Poll `check` until it returns something truthy (and return it); after `timeout` s fail the test, or
    with `fail=False` return the last value so the caller can say precisely what is missing."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            if not fail:
                return value
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


# --- the webhook ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """How the webhook answers one request: after `delay` s, `status` with `body` (as is, or JSON).

    With `drip`, the headers go out at once and the body one byte every `drip` s: a server that is slow
    but never silent for long.
    """

    status: int = 200
    body: Any = b"{}"
    delay: float = 0.0
    drip: float = 0.0

    def raw(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


@dataclass
class Hit:
    """One request the webhook received."""

    at: float  # time.time() when the request had been read
    headers: dict[str, str]
    body: bytes
    answered: bool = False  # the answer was written (False while it sleeps or when the client had gone)

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def key(self) -> str:
        return self.headers["X-Huiying-Delivery"]

    def signature_ok(self, secret: str = WEBHOOK_SECRET) -> bool:
        """interface §4: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>"> — checked independently."""
        timestamp = self.headers["X-Huiying-Timestamp"]
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers["X-Huiying-Signature"], f"sha256={expected}")


@dataclass
class Webhook:
    """A tiny threaded HTTP endpoint on 127.0.0.1 whose answers a test scripts and whose requests it reads.

    `respond(hit, index)` decides each answer; `script(...)` queues answers used in order before it.
    """

    respond: Callable[[Hit, int], Reply] = field(default=lambda hit, index: Reply())
    hits: list[Hit] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._scripted: list[Reply] = []
        self.stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hooks/huiying"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these, in order; then fall back to `respond`."""
        with self._lock:
            self._scripted.extend(replies)

    def requests(self) -> list[Hit]:
        with self._lock:
            return list(self.hits)

    def _answer(self, hit: Hit) -> Reply:
        with self._lock:
            self.hits.append(hit)
            index = len(self.hits) - 1
            if self._scripted:
                return self._scripted.pop(0)
        return self.respond(hit, index)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hit = Hit(at=time.time(), headers={k: v for k, v in self.headers.items()}, body=body)
                reply = webhook._answer(hit)
                if reply.delay and webhook.stopping.wait(reply.delay):
                    return
                raw = reply.raw()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.flush()
                    for i in range(len(raw)) if reply.drip else ():
                        if webhook.stopping.wait(reply.drip):
                            return
                        self.wfile.write(raw[i:i + 1])
                        self.wfile.flush()
                    if not reply.drip:
                        self.wfile.write(raw)
                        self.wfile.flush()
                    hit.answered = True
                except OSError:  # the client gave up (timeout) or died (kill -9) meanwhile
                    pass
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler

    def start(self) -> Webhook:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # wakes every handler still sleeping
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_webhook() -> Iterator[Webhook]:
    """Fixture body: a running webhook, stopped afterwards."""
    hook = Webhook().start()
    try:
        yield hook
    finally:
        hook.stop()


# --- worker processes -------------------------------------------------------------------------------------------


class WorkerProcess:
    """`huiying worker` as a child process in its own process group (the worker and its RQ scheduler)."""

    def __init__(self, database_url: str, workdir: Path, name: str, webhook: Webhook | None = None) -> None:
        self.name = name
        self.log_path = workdir / f"{name}.log"
        instance = workdir / f"{name}-instance"
        instance.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": TEST_REDIS_URL,
            "HUIYING_INSTANCE": str(instance),
            "DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS),
            "SWEEP_INTERVAL_SECONDS": str(SWEEP_SECONDS),
            "PUBLIC_BASE_URL": "http://huiying.test",
            "WECHAT_SANDBOX": "1",  # as the test app: the WeChat channel publishes to the sandbox
            "SECRET_KEY": "test",
            "PYTHONUNBUFFERED": "1",
        }
        for key in ("PORTAL_WEBHOOK_URL", "PORTAL_WEBHOOK_SECRET", "WECHAT_APP_ID"):
            self.env.pop(key, None)  # only what the test says: no webhook unless given one
        if webhook is not None:
            self.env["PORTAL_WEBHOOK_URL"] = webhook.url
            self.env["PORTAL_WEBHOOK_SECRET"] = WEBHOOK_SECRET
        self.proc: subprocess.Popen[bytes] | None = None
        self.killed = False

    def start(self) -> WorkerProcess:
        self._log = open(self.log_path, "ab")  # the child writes here; closed in stop()
        self.proc = subprocess.Popen(
            [str(HUIYING), "worker"], env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.workdir,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """kill -9 the worker and everything it started (its scheduler): a crashed host, no goodbyes."""
        self.killed = True
        self._signal_group(signal.SIGKILL)
        assert self.proc is not None
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """At teardown, once the test has its answer: SIGKILL the group (a warm shutdown costs seconds a test)."""
        if self.proc is None:
            return
        self._signal_group(signal.SIGKILL)  # the scheduler child too, which would outlive its worker
        try:
            self.proc.wait(timeout=10)
        finally:
            self._log.close()

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)  # the group we created with start_new_session; its id is our child's pid
        except ProcessLookupError:
            pass

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Workers:
    """Starts workers for one test and stops every one of them at teardown (fixture `workers`)."""

    def __init__(self, database_url: str, workdir: Path, webhook: Webhook | None) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.webhook = webhook
        self.started: list[WorkerProcess] = []
        self.redis = redis_lib.Redis.from_url(TEST_REDIS_URL)

    def start(self, *, webhook: bool = True, env: dict[str, str] | None = None) -> WorkerProcess:
        """One more `huiying worker`, pushing to the test's webhook unless `webhook=False`."""
        worker = WorkerProcess(self.database_url, self.workdir, f"worker{len(self.started) + 1}",
                               self.webhook if webhook else None)
        worker.env.update(env or {})
        self.started.append(worker)
        return worker.start()

    def wait(self, what: str, check: Callable[[], Any], **kw: Any) -> Any:
        """`wait_for`, failing at once (with its log) if a worker we did not kill has exited meanwhile."""
        def guarded() -> Any:
            for worker in self.started:
                if not worker.killed and not worker.alive():
                    raise AssertionError(f"{worker.name} exited ({worker.proc and worker.proc.returncode}) "
                                         f"while waiting for {what}:\n{worker.log()[-4000:]}")
            return check()

        return wait_for(what, guarded, **kw)

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the queues are empty and our workers idle, twice in a row (a job between pop and start
        is briefly in neither)."""
        def twice() -> bool:
            if not drained(self.redis, self):
                return False
            time.sleep(0.3)
            return drained(self.redis, self)

        self.wait("the queues to drain and the workers to go idle", twice, timeout=timeout, every=0.2)

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()
        self.redis.close()

    def logs(self) -> str:
        return "\n".join(f"--- {w.name} (pid {w.pid}) ---\n{w.log()[-6000:]}" for w in self.started)


def huiying(database_url: str, workdir: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the `huiying` command as an operator would, against the test's database."""
    instance = workdir / "cli-instance"
    instance.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": TEST_REDIS_URL, "HUIYING_INSTANCE": str(instance),
           "SECRET_KEY": "test", "PUBLIC_BASE_URL": "http://huiying.test", "PYTHONUNBUFFERED": "1"}
    return subprocess.run([str(HUIYING), *args], env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, cwd=workdir)


def idle_workers(redis: redis_lib.Redis) -> int:
    """RQ workers registered and waiting for a job."""
    return sum(1 for w in Worker.all(connection=redis) if w.get_state() == "idle")


def drained(redis: redis_lib.Redis, pool: Workers) -> bool:
    """Nothing queued or scheduled on any release queue, and none of our live workers busy with a job.

    Once this holds after the outcome a test waited for, no further send can still be on its way.
    """
    for name in QUEUE_NAMES:
        queue = Queue(name, connection=redis)
        if queue.count or queue.scheduled_job_registry.count:
            return False
    live = {w.pid for w in pool.started if w.alive()}
    return all(w.get_state() != "busy" for w in Worker.all(connection=redis) if w.pid in live)
