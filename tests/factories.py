"""Test data: units, people with roles, API callers, statements at any stage."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from flask import Flask

from app import accounts
from app.models import Unit

_seq = itertools.count(1)
PASSWORD = "correct horse 42"


def unit(app: Flask, code: str | None = None, name: str | None = None) -> str:
    code = code or f"U{next(_seq)}"
    with app.app_context():
        if Unit.by_code(code) is None:
            accounts.create_unit(code, name or f"单位{code}")
    return code


@dataclass(frozen=True)
class Person:
    id: int
    username: str


def user(app: Flask, unit_code: str, *roles: str, username: str | None = None) -> Person:
    name = username or f"{roles[0]}{next(_seq)}"
    with app.app_context():
        created, _ = accounts.create_user(name, unit_code, roles, display_name=name, password=PASSWORD)
        return Person(created.id, created.username)


class Api:
    """Calls the JSON API as one user, with a bearer token."""

    def __init__(self, app: Flask, who: Person) -> None:
        self.client = app.test_client()
        self.user = who
        with app.app_context():
            token = accounts.create_token(who.username)
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(f"/api/v1{path}", json=json, headers=self.headers, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.put(f"/api/v1{path}", json=json, headers=self.headers, **kw)


class Office:
    """One unit with a drafter, two experts and a leader, plus an office user: the usual cast."""

    def __init__(self, app: Flask, code: str | None = None) -> None:
        self.app = app
        self.unit = unit(app, code)
        self.office_unit = unit(app, "OFFICE", "院办公室")
        self.drafter = Api(app, user(app, self.unit, "drafter"))
        self.expert = Api(app, user(app, self.unit, "expert"))
        self.expert2 = Api(app, user(app, self.unit, "expert"))
        self.leader = Api(app, user(app, self.unit, "leader"))
        self.office = Api(app, user(app, self.office_unit, "office"))

    def draft(self, **fields: Any) -> dict[str, Any]:
        body = {"title": "关于网传小麦品种问题的回应", "digest": "情况说明", "body": "经核实，网传信息不实。", **fields}
        resp = self.drafter.post("/statements", body)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    def submitted(self, **fields: Any) -> dict[str, Any]:
        st = self.draft(**fields)
        resp = self.drafter.post(f"/statements/{st['id']}/submit")
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    def review(self, who: Api, st: dict[str, Any], stage: str, decision: str = "approve",
               comment: str = "", revision_hash: str | None = None) -> Any:
        return who.post(f"/statements/{st['id']}/reviews", {
            "revision_hash": revision_hash or st["revision"]["hash"], "stage": stage,
            "decision": decision, "comment": comment,
        })

    def approved(self, **fields: Any) -> dict[str, Any]:
        st = self.submitted(**fields)
        assert self.review(self.expert, st, "expert").status_code == 201
        for agency in st["agencies"]:
            resp = self.drafter.post(f"/statements/{st['id']}/confirmations", {
                "revision_hash": st["revision"]["hash"], "agency": agency, "contact": "张科长",
                "method": "phone", "note": "电话确认",
            })
            assert resp.status_code == 201, resp.get_json()
        resp = self.review(self.leader, st, "leader")
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()
