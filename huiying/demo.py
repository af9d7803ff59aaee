"""The demo institution: the institute office and two institutes, their people, statements in every state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import func, select

from app import accounts, register
from app.extensions import db
from app.models import Unit, User
from app.timeutil import utcnow
from review import services
from review.models import Statement

PASSWORD = "huiying-demo"

UNITS = [
    ("OFFICE", "河南省农业科学院办公室", None, "0371-65700000"),
    ("ZBS", "植物保护研究所", "OFFICE", "0371-65711111"),
    ("NJS", "农业经济与信息研究所", "OFFICE", "0371-65722222"),
]

#: The responsibility register (interface §11): first and direct responsible persons, spokespersons.
REGISTER = {
    "OFFICE": ("office", "office", ["office"]),
    "ZBS": ("zbs_leader", "zbs_leader", ["zbs_drafter"]),
    "NJS": ("njs_leader", "njs_leader", ["njs_drafter"]),
}

PEOPLE = [
    ("office", "OFFICE", ["office"], "院办督查员"),
    ("admin", "OFFICE", ["admin"], "系统管理员"),
    ("zbs_drafter", "ZBS", ["drafter"], "植保所新闻发言人"),
    ("zbs_expert1", "ZBS", ["expert"], "植保所专家甲"),
    ("zbs_expert2", "ZBS", ["expert"], "植保所专家乙"),
    ("zbs_leader", "ZBS", ["leader"], "植保所分管领导"),
    ("njs_drafter", "NJS", ["drafter"], "农经所新闻发言人"),
    ("njs_expert1", "NJS", ["expert"], "农经所专家甲"),
    ("njs_expert2", "NJS", ["expert"], "农经所专家乙"),
    ("njs_leader", "NJS", ["leader"], "农经所分管领导"),
]

BODY = """针对近日网络流传的“某地小麦大面积感染新型病害”相关信息，我所高度重视，第一时间组织植保专家赴现场核查。

## 核查情况

经实地调查和实验室检测，相关地块小麦出现的黄化症状系**前期低温冻害**所致，并非新型病害，不具有传染性。

## 防控建议

1. 及时追施速效氮肥，促进小麦恢复生长；
2. 密切关注天气变化，做好后期病虫害监测；
3. 如有疑问，请拨打我所 24 小时咨询电话 0371-65711111。

> 请广大群众以官方发布的信息为准，不信谣、不传谣。
"""


def _actor(username: str) -> User:
    user = User.by_username(username)
    assert user is not None
    return user


def seed() -> Iterator[str]:
    """Create what is missing; say what was done. Safe to run again."""
    for code, name, parent, phone in UNITS:
        if Unit.by_code(code) is None:
            accounts.create_unit(code, name, parent, duty_phone=phone)
            yield f"unit {code} {name}"
    for username, unit, roles, display in PEOPLE:
        if User.by_username(username) is None:
            accounts.create_user(username, unit, roles, display_name=display, password=PASSWORD)
            yield f"user {username} ({', '.join(roles)}) password {PASSWORD}"
    for code, (first, direct, spokespersons) in REGISTER.items():
        unit_row = Unit.by_code(code)
        if unit_row is not None and unit_row.first_responsible_id is None:
            register.update_unit(_actor("admin"), code, {"first_responsible": first, "direct_responsible": direct,
                                                         "spokespersons": spokespersons})
            yield f"register of {code}: {first}, {direct}, {', '.join(spokespersons)}"
    from cases import demo as case_demo  # the demo seeds every package's data: cases sit below statements

    yield from case_demo.seed()
    from review import demo as review_demo  # the checks' term lists

    yield from review_demo.seed()
    if db.session.scalar(select(func.count(Statement.id))):
        return
    yield from _statements()


def _statements() -> Iterator[str]:
    zbs, e1, e2, leader = (_actor(u) for u in ("zbs_drafter", "zbs_expert1", "zbs_expert2", "zbs_leader"))
    njs = _actor("njs_drafter")

    services.create(zbs, {"title": "关于小麦条锈病防控技术的说明（草稿）", "digest": "防控技术要点",
                          "body": "正在起草……\n\n请专家补充条锈病防控要点。", "priority": "low"})

    st = services.create(zbs, {"title": "关于网传“小麦感染新型病害”的情况说明", "digest": "经核查，系低温冻害所致",
                               "body": BODY, "priority": "high"})
    services.submit(zbs, st.id)

    st = services.create(zbs, {"title": "关于农药残留检测结果的回应", "digest": "检测结果符合国家标准",
                               "body": "经第三方检测机构复检，相关样品农药残留**均符合国家标准**。",
                               "agencies": ["河南省农业农村厅"], "priority": "normal"})
    services.submit(zbs, st.id)
    services.decide(e1, st.id, {"revision_hash": st.current_revision.hash, "stage": "expert", "decision": "approve"})

    st = services.create(zbs, {"title": "关于种子质量投诉的处理情况通报", "digest": "已责成相关企业整改",
                               "body": "我所已会同有关部门对投诉进行核查，并责成相关企业限期整改。",
                               "priority": "urgent"})
    services.submit(zbs, st.id)
    services.decide(e2, st.id, {"revision_hash": st.current_revision.hash, "stage": "expert", "decision": "approve"})

    st = services.create(njs, {"title": "关于农产品价格监测数据的说明", "digest": "数据来源与口径说明",
                               "body": "近期网传的农产品价格数据并非我所发布，口径与我所监测数据不一致。"})
    services.submit(njs, st.id)
    services.decide(_actor("njs_expert1"), st.id, {
        "revision_hash": st.current_revision.hash, "stage": "expert", "decision": "request_changes",
        "comment": "请补充我所监测数据的发布渠道和时间。"})

    st = services.create(zbs, {"title": "河南省农业科学院政务舆情工作制度", "digest": "豫农科办〔2017〕15号",
                               "body": "为进一步加强政务舆情应对工作，提升政务公开水平，增强政府公信力，"
                                       "制订本制度。\n\n坚持“谁主管谁发声、谁处置谁发声”。",
                               "priority": "normal",
                               "go_live_at": (utcnow() + timedelta(minutes=2)).isoformat()})
    services.submit(zbs, st.id)
    services.decide(e1, st.id, {"revision_hash": st.current_revision.hash, "stage": "expert", "decision": "approve"})
    services.decide(leader, st.id, {"revision_hash": st.current_revision.hash, "stage": "leader",
                                    "decision": "approve"})
    yield "statements: a draft, three in review (expert, agency, leader stage), one sent back, " \
          "one approved for publication in two minutes"
