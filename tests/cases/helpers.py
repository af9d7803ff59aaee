"""The cast of the case tests: a lead unit, another unit and the office, every role, a filled-in register."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from tests.factories import Api, unit, user

ROLES = ("drafter", "expert", "leader")


class Cast:
    """Unit A (lead), unit B (another unit), the office and an admin, each role once per unit."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.a = unit(app, "A", "植物保护研究所")
        self.b = unit(app, "B", "农业经济与信息研究所")
        self.office_unit = unit(app, "OFFICE", "院办公室")
        self.people: dict[tuple[str, str], Api] = {}
        for code in (self.a, self.b):
            for role in ROLES:
                self.people[role, code] = Api(app, user(app, code, role, username=f"{role}_{code.lower()}"))
        self.people["leader2", self.a] = Api(app, user(app, self.a, "leader", username="leader2_a"))
        self.office = Api(app, user(app, self.office_unit, "office", username="office"))
        self.admin = Api(app, user(app, self.office_unit, "admin", username="admin"))
        resp = self.admin.put(f"/units/{self.a}", {
            "first_responsible": "leader_a", "direct_responsible": "leader2_a", "spokespersons": ["drafter_a"],
            "duty_phone": "0371-65711111",
        })
        assert resp.status_code == 200, resp.get_json()

    def __getitem__(self, key: tuple[str, str]) -> Api:
        return self.people[key]

    @property
    def drafter(self) -> Api:
        return self.people["drafter", self.a]

    @property
    def leader(self) -> Api:
        return self.people["leader", self.a]

    def case(self, **fields: Any) -> dict[str, Any]:
        body = {"title": "网传某品种小麦种子质量问题", "summary": "微博用户称购买的种子发芽率低。", "source": "weibo",
                "source_url": "https://weibo.com/1234/abcd", "units": [self.a], **fields}
        resp = self.office.post("/cases", body)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    def at(self, status: str, **fields: Any) -> dict[str, Any]:
        """A case brought to `status` by the proper steps."""
        case = self.case(**fields)
        steps = ["assessed", "assigned", "handling", "responded", "closed"]
        target = steps.index(status) + 1 if status in steps else 0
        calls = [
            (self.office, "assessment", {"level": 3, "rationale": "涉及农民切身利益", "must_respond": True}),
            (self.office, "assignment", {"lead_unit": self.a, "assisting_units": [self.b], "note": "请牵头核实"}),
            (self.drafter, "acceptance", {"note": "已受理"}),
            (self.drafter, "responses", {"form": "expert_interpretation", "held_at": ago(minutes=5),
                                         "note": "专家接受采访解读", "evidence_url": "https://example.cn/a"}),
            (self.office, "close", {"outcome": "已澄清"}),
        ]
        for who, path, body in calls[:target]:
            resp = who.post(f"/cases/{case['id']}/{path}", body)
            assert resp.status_code == 201, (path, resp.get_json())
            case = resp.get_json()
        assert case["status"] == (status if target else "registered")
        return case


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()
