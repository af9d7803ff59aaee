"""Deployment as the README documents it: a built wheel, installed (not editable), run from an unrelated folder.

The wheel is built from a copy of the source tree without its compiled `.mo` (the build must compile the
translations), installed into a fresh virtual environment whose only other packages are this environment's
(nothing is downloaded), and then, against a fresh PostgreSQL database: `huiying db upgrade`, `units create`,
`users create`, `tokens create`, gunicorn on a loopback port (`/healthz`, a sign-in, API calls with the session
and with the token, a page in Chinese and in English), and `huiying worker` coming up and going away.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import redis as redis_lib
import requests

from tests.conftest import TEST_REDIS_URL, fresh_postgres

pytestmark = pytest.mark.slow

SOURCE = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "cases", "review", "publishing", "interaction", "wechat", "reports", "huiying")
PASSWORD = "deploy-test-passphrase-7Q"
T = TypeVar("T")


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """An empty PostgreSQL database nobody has migrated, dropped afterwards."""
    with fresh_postgres("huiying_test_deploy") as url:
        yield url


def _copy_source(target: Path) -> None:
    """What a release tarball holds: the build files and the packages, without caches or compiled catalogues."""
    target.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(SOURCE / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo")
    for package in PACKAGES:
        shutil.copytree(SOURCE / package, target / package, ignore=ignore)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(args: list[str], *, env: dict[str, str], cwd: Path, stdin: str | None = None) -> str:
    done = subprocess.run(args, env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{args} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End a process this test started, and its children (gunicorn's workers), by its own group id."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _wait_for(check: Callable[[], T], what: str, timeout: float = 120.0) -> T:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except requests.RequestException as error:
            result, last = None, error
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def _english(msgid: str) -> str:
    """The English the catalogue's source gives a Chinese message id."""
    from babel.messages.pofile import read_po

    with (SOURCE / "app/translations/en/LC_MESSAGES/messages.po").open("rb") as po:
        message = read_po(po).get(msgid)
    assert message is not None and message.string, msgid
    return message.string


def test_wheel_installs_migrates_serves_and_works(tmp_path: Path, fresh_database: str,
                                                  redis_client: redis_lib.Redis) -> None:
    # 1. Build the wheel (no network: this environment's setuptools and Babel) -----------------------------
    src = tmp_path / "src"
    _copy_source(src)
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--quiet", "-w", str(dist), str(src)], check=True, timeout=180, capture_output=True)
    (wheel,) = dist.glob("huiying-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    shipped = {n.rsplit("/", 1)[1] for n in names if n.startswith("app/migrations/versions/") and n.endswith(".py")}
    assert shipped == {p.name for p in (SOURCE / "app/migrations/versions").glob("*.py")}
    assert {"app/migrations/env.py", "app/migrations/alembic.ini", "app/migrations/script.py.mako"} <= names
    assert "app/translations/en/LC_MESSAGES/messages.mo" in names  # compiled by the build: the copy had none

    # 2. Install it, not editable, into a fresh venv that borrows this one's dependencies -----------------------
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python, bindir = venv / "bin" / "python", venv / "bin"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # appended after the venv's own site-packages: the wheel's `app` wins; this env's .pth files are not read
    Path(site, "huiying-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "--quiet", str(wheel)], check=True, timeout=180, capture_output=True)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HUIYING_", "FLASK_", "WECHAT_", "PYTHON", "VIRTUAL_ENV"))
           and k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PUBLIC_BASE_URL")}
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    env.update({
        "PATH": f"{bindir}{os.pathsep}{env.get('PATH', '')}",
        "DATABASE_URL": fresh_database,
        "REDIS_URL": TEST_REDIS_URL,
        "SECRET_KEY": "deployment-test-secret",
        "PUBLIC_BASE_URL": origin,
        "HUIYING_INSTANCE": str(tmp_path / "instance"),
        "SWEEP_INTERVAL_SECONDS": "5",
    })
    where = _run([str(python), "-c", "import app; print(app.__file__)"], env=env, cwd=elsewhere).strip()
    assert Path(where).is_relative_to(venv), where  # the installed package, not the source tree
    huiying = str(bindir / "huiying")

    # 3. The README's commands, from an unrelated folder ---------------------------------------------------------
    _run([huiying, "db", "upgrade"], env=env, cwd=elsewhere)
    assert "(head)" in _run([huiying, "db", "current"], env=env, cwd=elsewhere)
    assert "unit OFFICE created" in _run([huiying, "units", "create", "OFFICE", "院办公室"], env=env, cwd=elsewhere)
    _run([huiying, "users", "create", "admin", "--unit", "OFFICE", "--role", "admin", "--password-stdin"],
         env=env, cwd=elsewhere, stdin=PASSWORD + "\n")
    token = _run([huiying, "tokens", "create", "admin", "--label", "deployment test"], env=env,
                 cwd=elsewhere).strip()
    assert re.fullmatch(r"\S{20,}", token), token
    assert _run([huiying, "ledger", "verify"], env=env, cwd=elsewhere).startswith("OK 0 ")

    processes: list[subprocess.Popen[bytes]] = []
    logs = tmp_path / "logs"
    logs.mkdir()

    def start(name: str, args: list[str]) -> subprocess.Popen[bytes]:
        with (logs / f"{name}.log").open("wb") as out:
            proc = subprocess.Popen(args, env=env, cwd=elsewhere, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        processes.append(proc)
        return proc

    try:
        # 4. gunicorn as documented -------------------------------------------------------------------------------
        server = start("gunicorn", [str(python), "-m", "gunicorn", "-w", "2", "--threads", "2", "-b",
                                    f"127.0.0.1:{port}", "app:create_app()"])

        def healthy() -> dict | None:
            assert server.poll() is None, (logs / "gunicorn.log").read_text()
            resp = requests.get(f"{origin}/healthz", timeout=5)
            return resp.json() if resp.status_code == 200 else None

        health = _wait_for(healthy, "/healthz")
        assert health["db"] == "ok" and health["redis"] == "ok"

        # the token's API call
        resp = requests.get(f"{origin}/api/v1/users", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert resp.status_code == 200, resp.text
        assert "admin" in resp.text
        assert requests.get(f"{origin}/api/v1/users", timeout=10).status_code == 401

        # the API's own reference, and every file its page loads, came with the package
        spec = requests.get(f"{origin}/api/v1/openapi.json", timeout=10)
        assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.1"), spec.text[:200]
        docs = requests.get(f"{origin}/api/docs", timeout=10)
        assert docs.status_code == 200, docs.text[:200]
        assets = re.findall(r'(?:src|href)="(/[^"]+)"', docs.text)
        assert assets
        for asset in assets:
            assert requests.get(origin + asset, timeout=10).status_code == 200, asset

        # a person signs in through the form; the session's API call
        browser = requests.Session()
        page = browser.get(f"{origin}/login", timeout=10)
        assert page.status_code == 200 and "登录" in page.text
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        assert csrf, page.text
        resp = browser.post(f"{origin}/login", data={"csrf_token": csrf.group(1), "username": "admin",
                                                     "password": PASSWORD}, allow_redirects=False, timeout=10)
        assert resp.status_code == 302, resp.text
        resp = browser.get(f"{origin}/api/v1/units", timeout=10)
        assert resp.status_code == 200 and "院办公室" in resp.text, resp.text

        # Chinese first, English when chosen: the compiled catalogue reached the installation
        chinese = browser.get(f"{origin}/", timeout=10)
        assert chinese.status_code == 200 and 'lang="zh-Hans"' in chinese.text
        assert "我的工作" in chinese.text and "舆情台账" in chinese.text
        english = browser.get(f"{origin}/?lang=en", timeout=10)
        assert english.status_code == 200 and 'lang="en"' in english.text
        for msgid in ("我的工作", "舆情台账", "退出"):
            assert _english(msgid) in english.text, msgid
            assert f">{msgid}<" not in english.text, msgid

        # 5. huiying worker comes up (it registers with RQ, /healthz counts it) and goes away cleanly ------------
        worker = start("worker", [huiying, "worker"])

        def worker_counted() -> bool:
            assert worker.poll() is None, (logs / "worker.log").read_text()
            return requests.get(f"{origin}/healthz", timeout=5).json()["workers"] >= 1

        _wait_for(worker_counted, "the worker to register")
        os.killpg(worker.pid, signal.SIGTERM)  # warm shutdown, as systemd stops it
        assert worker.wait(timeout=30) == 0, (logs / "worker.log").read_text()
        assert requests.get(f"{origin}/healthz", timeout=5).json()["workers"] == 0
    finally:
        for proc in reversed(processes):
            _stop(proc)
