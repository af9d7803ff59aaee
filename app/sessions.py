"""Each browser's sign-in as a row, so a person sees where they are signed in and can end one (interface §11).

The session id Flask-Login keeps (in the session cookie and the remember-me cookie) is
`user:epoch:nonce`. The epoch ends every session at once (sign-out, password change, deactivation);
the nonce names one `UserSession`, which `end` or `end_others` close alone. Only the nonce's sha256 is
stored. `last_seen_at` moves at most once a minute, in its own short write.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from app import audit
from app.errors import NotFound
from app.extensions import Model, db
from app.models import User
from app.timeutil import UTCDateTime, utcnow
from app.tx import begin_write

SEEN_RESOLUTION = timedelta(minutes=1)


class UserSession(Model):
    """One browser signed in as one person, from `created_at` until `ended_at` or the next epoch."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The person's `session_epoch` when it began (or was carried over to): another epoch means it is over.
    epoch: Mapped[int] = mapped_column()
    user_agent: Mapped[str] = mapped_column(String(512), default="", server_default="")
    address: Mapped[str] = mapped_column(String(64), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def device(self) -> str:
        """"Chrome · Android" for the browser's User-Agent."""
        return describe_agent(self.user_agent)


def _hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def start(user: User) -> str:
    """A new session of `user` for the browser making this request; returns its nonce (for the cookie).

    Joins the caller's transaction (sign-in commits it with its audit event).
    """
    nonce = secrets.token_urlsafe(24)
    db.session.add(UserSession(user_id=user.id, nonce_hash=_hash(nonce), epoch=user.session_epoch,
                               user_agent=request.headers.get("User-Agent", "")[:512],
                               address=(request.remote_addr or "")[:64]))
    user.session_nonce = nonce
    return nonce


def load(user_id: int, epoch: int, nonce: str) -> User | None:
    """The person of a session id, while the person is active, the epoch current and this session open: one
    query for both rows (every page asks), and `last_seen_at` moved on at most once a minute."""
    found = db.session.execute(
        select(User, UserSession).join(UserSession, UserSession.user_id == User.id)
        .where(User.id == user_id, UserSession.nonce_hash == _hash(nonce))
    ).first()
    if found is None:
        return None
    user: User | None
    user, row = found
    if not user.active or user.session_epoch != epoch or row.ended_at is not None or row.epoch != epoch:
        return None
    if utcnow() - row.last_seen_at >= SEEN_RESOLUTION:
        seen(row)
        user = db.session.get(User, user_id)  # read afresh after that short write
        if user is None:
            return None
    user.session_nonce = nonce
    return user


def find(user: User, nonce: str) -> UserSession | None:
    """The open session of `user` this nonce names, in the person's current epoch, or None."""
    row = db.session.scalar(select(UserSession).where(UserSession.nonce_hash == _hash(nonce)))
    if row is None or row.user_id != user.id or row.ended_at is not None or row.epoch != user.session_epoch:
        return None
    return row


def seen(row: UserSession) -> None:
    """Note that the session is in use now, at most once a minute (its own short transaction)."""
    now = utcnow()
    if now - row.last_seen_at < SEEN_RESOLUTION:
        return
    session_id = row.id
    begin_write()
    db.session.execute(update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now))
    db.session.commit()


def carry_over(user_id: int, nonce: str, old_epoch: int) -> User:
    """After a password change moved the epoch on, this browser's session continues under the new one (the
    others stay over); returns the person, ready for `login_user`."""
    begin_write()
    user = db.session.get(User, user_id)
    assert user is not None
    db.session.execute(update(UserSession).where(UserSession.nonce_hash == _hash(nonce),
                                                 UserSession.user_id == user.id, UserSession.epoch == old_epoch,
                                                 UserSession.ended_at.is_(None))
                       .values(epoch=user.session_epoch))
    db.session.commit()
    user.session_nonce = nonce
    return user


def open_sessions(user: User) -> list[UserSession]:
    """The person's sessions still open, most recently used first."""
    return list(db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None),
                                  UserSession.epoch == user.session_epoch)
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())))


def end(user_id: int, session_id: int) -> UserSession:
    """End one of the person's own sessions (that browser must sign in again); 404 for anyone else's."""
    begin_write()
    user = db.session.get(User, user_id)
    row = db.session.get(UserSession, session_id)
    if user is None or row is None or row.user_id != user.id or row.ended_at is not None \
            or row.epoch != user.session_epoch:
        raise NotFound(_("该登录不存在或已结束"))
    row.ended_at = utcnow()
    audit.record(user, "user.session_end", user, before={"session": row.id, "device": row.device},
                 after={"session": row.id, "ended": True})
    db.session.commit()
    return row


def end_others(user_id: int, keep_nonce: str | None) -> int:
    """End every open session of the person but this browser's; returns how many ended."""
    begin_write()
    user = db.session.get(User, user_id)
    assert user is not None
    others = [row for row in open_sessions(user) if keep_nonce is None or row.nonce_hash != _hash(keep_nonce)]
    now = utcnow()
    for row in others:
        row.ended_at = now
    if others:
        audit.record(user, "user.sessions_end_others", user, before={"sessions": [r.id for r in others]},
                     after={"ended": len(others)})
    db.session.commit()
    return len(others)


# What a User-Agent says, in two words -------------------------------------------------------------------

#: Browsers, most specific first: Edge and WeChat say "Chrome" and "Safari" too.
_BROWSERS = (("MicroMessenger", _l("微信")), ("EdgA?/", "Edge"), ("OPR/|Opera", "Opera"), ("Firefox/|FxiOS", "Firefox"),
             ("CriOS|Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl"), ("python-requests", "Python"))
_SYSTEMS = (("HarmonyOS", "HarmonyOS"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"),
            ("Windows", "Windows"), ("Mac OS X|Macintosh", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def describe_agent(agent: str) -> str:
    """"Chrome · Android", "微信 · iPhone", or "未知设备" when the User-Agent says nothing we know."""
    browser = next((name for pattern, name in _BROWSERS if re.search(pattern, agent)), None)
    system = next((name for pattern, name in _SYSTEMS if re.search(pattern, agent)), None)
    found = [str(part) for part in (browser, system) if part]
    return " · ".join(found) if found else _("未知设备")
