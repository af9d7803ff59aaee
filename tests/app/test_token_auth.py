"""API tokens in one query per request (issue 13): the token row joined to the person and their roles, so a
revocation, an expiry or a deactivation counts at the very next request — and Redis plays no part in it."""

from __future__ import annotations

from typing import Any

import pytest
import redis as redis_lib
from flask import Flask
from sqlalchemy import event, select

from app import accounts
from app.extensions import db
from app.models import ApiToken, hash_token
from tests.factories import Api, Office, unit, user


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "TOK")


def token_id(app: Flask, api: Api) -> int:
    with app.app_context():
        found = db.session.scalar(select(ApiToken.id).where(
            ApiToken.token_hash == hash_token(api.headers["Authorization"][7:])))
        assert found is not None
        return found


def statements_run(app: Flask, call: Any) -> list[str]:
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return seen


class DeadRedis:
    """Points the app's Redis client at a port nobody listens on, as if Redis were down."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.live = app.extensions.get("huiying_redis")

    def __enter__(self) -> None:
        self.app.extensions["huiying_redis"] = redis_lib.Redis(port=1, socket_connect_timeout=0.2)

    def __exit__(self, *exc: object) -> None:
        self.app.extensions["huiying_redis"] = self.live


def test_a_bearer_request_reads_token_person_and_roles_in_one_query(app: Flask, office: Office) -> None:
    api = office.expert
    st = office.draft()
    assert api.get(f"/statements/{st['id']}").status_code == 200  # first use: last_used_at written once
    seen = statements_run(app, lambda: api.get(f"/statements/{st['id']}"))
    auth = [s for s in seen if "api_tokens" in s or "user_roles" in s or "FROM users" in s]
    assert len(auth) == 1 and "api_tokens" in auth[0] and "user_roles" in auth[0], auth
    assert len(seen) <= 4, seen  # and the statement itself: the token, two in review, one in publishing


def test_a_revoked_token_is_refused_at_the_very_next_request(app: Flask, office: Office) -> None:
    api = office.expert
    assert api.get("/statements").status_code == 200
    with app.app_context():
        accounts.revoke_token(None, token_id(app, api))
    resp = api.get("/statements")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthenticated"


def test_without_redis_tokens_still_work_and_a_revoked_one_stays_out(app: Flask, office: Office) -> None:
    api, other = office.expert, office.drafter
    with DeadRedis(app):
        assert api.get("/statements").status_code == 200
        with app.app_context():
            accounts.revoke_token(None, token_id(app, api))
        assert api.get("/statements").status_code == 401
        assert other.get("/statements").status_code == 200
    assert api.get("/statements").status_code == 401 and other.get("/statements").status_code == 200


def test_deactivation_counts_at_the_next_request(app: Flask, office: Office) -> None:
    admin = Api(app, user(app, unit(app, "ADM"), "admin"))
    api = office.leader
    assert api.get("/statements").status_code == 200
    assert admin.put(f"/users/{office.leader.user.username}", {"active": False}).status_code == 200
    assert api.get("/statements").status_code == 401
    assert admin.put(f"/users/{office.leader.user.username}", {"active": True}).status_code == 200
    assert api.get("/statements").status_code == 401  # deactivation revoked the token for good
