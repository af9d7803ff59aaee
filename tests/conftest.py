"""Fixtures: the app on SQLite and on PostgreSQL, a clean database and Redis per test."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
import redis as redis_lib
from flask import Flask
from sqlalchemy import text

# Tests never touch the demo's instance folder or database.
os.environ["HUIYING_INSTANCE"] = tempfile.mkdtemp(prefix="huiying-test-instance-")
os.environ.pop("WECHAT_APP_ID", None)
os.environ.pop("DATABASE_URL", None)

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from tests.live import serving  # noqa: E402

PG_ADMIN = os.environ.get("HUIYING_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
#: pytest-xdist runs N processes (gw0, gw1, …): each takes its own pair of Redis databases, 15/14 for the first,
#: 13/12 for the second and so on, since two runs on one database consume each other's jobs. The pair is put
#: in the environment so that helper modules and the processes tests start (workers, the CLI) read the same.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
if "HUIYING_TEST_REDIS" not in os.environ or "PYTEST_XDIST_WORKER" in os.environ:
    os.environ["HUIYING_TEST_REDIS"] = f"redis://127.0.0.1:6379/{15 - 2 * _WORKER}"
    os.environ["HUIYING_TEST_SANDBOX_REDIS"] = f"redis://127.0.0.1:6379/{14 - 2 * _WORKER}"
TEST_REDIS_URL = os.environ["HUIYING_TEST_REDIS"]
#: The WeChat sandbox tests' own database (the sandbox keeps its state in Redis, apart from the app's).
SANDBOX_REDIS_URL = os.environ.get("HUIYING_TEST_SANDBOX_REDIS", "redis://127.0.0.1:6379/14")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@contextmanager
def fresh_postgres(prefix: str) -> Iterator[str]:
    """An empty PostgreSQL database named `prefix_<random>`, dropped when the block ends (its sessions ended
    first); skipped outside CI when the server does not answer."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if IN_CI:
            raise
        pytest.skip(f"PostgreSQL unreachable outside CI: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped at the end."""
    with fresh_postgres("huiying_test") as url:
        yield url


def _config(database_url: str, media: str, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "MEDIA_ROOT": media,
        "PUBLIC_BASE_URL": "http://huiying.test",
        "WTF_CSRF_ENABLED": True,
        # Production hashes with scrypt; tests create many users and need not pay for it.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # The WeChat channel publishes to the built-in sandbox (interface §13: served only when asked for).
        "WECHAT_SANDBOX": True,
        "WECHAT_SANDBOX_PUBLISH_DELAY": 0.2,
        **extra,
    }


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Each backend once per run, migrated to head with the project's own migrations."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    app = create_app(_config(url, str(tmp_path_factory.mktemp("media"))))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return url


def _wipe() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    from publishing.models import LedgerHead

    db.session.add(LedgerHead(id=1, seq=0, hash="0" * 64))
    db.session.commit()


@pytest.fixture
def redis_client() -> Iterator[redis_lib.Redis]:
    client = redis_lib.Redis.from_url(TEST_REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Per-test overrides; a test module may redefine this fixture."""
    return {}


@pytest.fixture
def app(database_url: str, tmp_path: Any, redis_client: redis_lib.Redis, app_config: dict[str, Any]) -> Iterator[Flask]:
    """The app, no context pushed: each request (and each factory call) gets its own, as in production."""
    app = create_app(_config(database_url, str(tmp_path / "media"), **app_config))
    with app.app_context():
        _wipe()
    yield app
    with app.app_context():
        _wipe()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


# --- the browser tests' chromium and live server (tests/*/test_browser*.py) ---------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The app on a free local port, in a thread, for the browser to reach."""
    with serving(app) as url:
        yield url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that drives chromium is a `browser` test, marked or not (`make test-fast` leaves them out)."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
