"""What the WeChat tests share: a SQLite database for the tests whose subject lives in Redis."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask_migrate import upgrade

from app import create_app
from app.config import instance_secret
from app.extensions import db
from tests.conftest import _config
from wechat.sandbox.config import SECRET_FILE


def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A new SQLite database migrated to head: for the sandbox and client tests, whose only rows are the
    admins and readers the sandbox asks for (its state is in Redis), one backend is enough."""
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
    app = create_app(_config(url, str(tmp_path_factory.mktemp("media"))))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


def sandbox_secret() -> str:
    """The sandbox account's AppSecret as the apps of this run keep it: random, in their instance folder."""
    return instance_secret(Path(os.environ["HUIYING_INSTANCE"]), SECRET_FILE)
