"""Flask extensions, created unbound and initialised by `create_app`."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import redis
from flask import current_app, has_request_context, request
from flask_babel import Babel
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.model import Model as _FlaskModel
from flask_wtf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase

from app.session_cookie import PersonLoginManager


class Base(DeclarativeBase):
    """Declarative base shared by every model of every package."""


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:
    class Model(Base, _FlaskModel):
        """What `db.Model` is at run time: Base's body on Flask-SQLAlchemy's Model mixin.

        mypy cannot take a base class from an attribute of an object (python/mypy#8603), so models derive
        from this name, which is `db.Model` itself when the code runs.
        """
else:
    Model = db.Model
migrate = Migrate()
login = PersonLoginManager()
csrf = CSRFProtect()
babel = Babel()


def get_redis() -> redis.Redis:
    """The app's Redis client (one connection pool per app, shared by threads)."""
    client = current_app.extensions.get("huiying_redis")
    if client is None:
        # setdefault: threads racing at first use share one client; a replaced one would be garbage-collected
        # and close the connections another thread is reading from.
        client = current_app.extensions.setdefault("huiying_redis", redis.Redis.from_url(
            current_app.config["REDIS_URL"], socket_timeout=5, socket_connect_timeout=2
        ))
    return client


#: Execution option that makes SQLite begin the transaction with BEGIN IMMEDIATE (see `app.tx.begin_write`).
SQLITE_WRITER = "huiying_sqlite_writer"
#: How long a SQLite writer waits for the lock before the request answers 503 `busy` (retryable).
SQLITE_BUSY_MS = 15000


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    """SQLite, the embedded default: readers never block the writer (WAL), writers wait instead of failing.

    pysqlite begins transactions lazily, only before DML, so a SELECT … then UPDATE runs the SELECT
    outside any transaction and nothing it read is protected. We take over: the driver stays in
    autocommit and `_sqlite_begin` emits BEGIN ourselves (SQLAlchemy's documented pysqlite recipe).
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cursor.close()


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Connection) -> None:
    """A real transaction on SQLite: BEGIN for readers (one snapshot), BEGIN IMMEDIATE for writers.

    Writers are transactions opened by `app.tx.begin_write()` (workers, CLI, services) and every
    transaction of a request that may change something (POST, PUT, DELETE …): a transaction that read
    first and writes later cannot be upgraded safely once another writer committed in between (SQLite
    answers "database is locked" at once, without waiting), so it takes the write lock when it begins.
    """
    if conn.dialect.name != "sqlite":
        return
    writer = conn.get_execution_options().get(SQLITE_WRITER) or (
        has_request_context() and request.method not in _SAFE_METHODS
    )
    conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")
