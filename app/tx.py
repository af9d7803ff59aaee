"""Work that must wait for the commit: enqueueing a job for a row that is not yet visible is a race."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

log = logging.getLogger(__name__)

_KEY = "huiying_after_commit"


def after_commit(session: Session | scoped_session[Any], fn: Callable[[], object]) -> None:
    """Run `fn` once the session's current transaction has committed; dropped on rollback."""
    session.info.setdefault(_KEY, []).append(fn)


@event.listens_for(Session, "after_commit")
def _run(session: Session) -> None:
    """Run what waited for the commit. The commit stands whatever happens here: a callback that fails
    (Redis away during an enqueue, say) is logged and left to the sweepers, never raised into the request
    whose work is already saved."""
    callbacks = session.info.pop(_KEY, [])
    for fn in callbacks:
        try:
            fn()
        except Exception:
            log.exception("after-commit step failed; the sweeper will pick it up")


@event.listens_for(Session, "after_soft_rollback")
def _drop(session: Session, _previous_transaction: object) -> None:
    session.info.pop(_KEY, None)


def begin_write() -> None:
    """Start the session's transaction as a writer, before the service reads what it will change.

    On SQLite a transaction that began as a reader cannot safely become a writer (another writer may
    have committed since its snapshot), so a read-only transaction left over from loading the user is
    ended and a new one begins with BEGIN IMMEDIATE: from then on this request holds the write lock and
    everything it reads is current. On PostgreSQL the compare-and-set on each row does the same work;
    here the identity map is expired so that what the service reads next is read afresh.
    """
    from app.extensions import SQLITE_WRITER, db

    session = db.session()
    if session.info.get(_WRITER):
        return
    if session.get_bind().dialect.name == "sqlite":
        if session.in_transaction():
            if session.new or session.dirty or session.deleted:
                raise RuntimeError("begin_write() must come before the first change of the transaction")
            session.rollback()
        session.connection(execution_options={SQLITE_WRITER: True})
    elif not (session.new or session.dirty or session.deleted):
        session.expire_all()  # read what this writer changes afresh, never from an earlier statement's view
    session.info[_WRITER] = True


_WRITER = "huiying_writer"


@event.listens_for(Session, "after_transaction_end")
def _forget_writer(session: Session, transaction: object) -> None:
    if getattr(transaction, "parent", None) is None:
        session.info.pop(_WRITER, None)


def in_write() -> bool:
    """True while the session's transaction was begun by `begin_write()` (what it writes commits with it)."""
    from app.extensions import db

    return bool(db.session().info.get(_WRITER))
