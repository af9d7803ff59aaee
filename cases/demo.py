"""Demo cases: one in every state, one overdue and one about to cross 80 %, so the clocks show at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import User
from app.timeutil import utcnow
from cases import clock, services
from cases.models import Case


def _who(username: str) -> User:
    user = User.by_username(username)
    assert user is not None, username
    return user


def _case(title: str, summary: str, source: str, hours_ago: float, units: list[str], **more: Any) -> Case:
    return services.create(_who("office"), {
        "title": title, "summary": summary, "source": source, "units": units,
        "discovered_at": (utcnow() - timedelta(hours=hours_ago)).isoformat(), **more,
    })


def seed() -> Iterator[str]:
    """Create the demo cases when there are none (needs the demo units ZBS, NJS and their people)."""
    if db.session.scalar(select(func.count(Case.id))):
        return
    office, leader, drafter = _who("office"), _who("zbs_leader"), _who("zbs_drafter")
    held = (utcnow() - timedelta(hours=1)).isoformat()

    _case("网传某地小麦大面积感染新型病害", "微博多名用户转发称某地小麦出现大面积黄化，疑似新型病害。", "weibo", 0.5,
          ["ZBS"], source_url="https://weibo.com/demo/1")

    c = _case("论坛反映试验基地秸秆焚烧", "本地论坛有网民发帖反映试验基地周边有焚烧秸秆现象。", "forum", 3, ["ZBS"])
    services.assess(office, c.id, {"level": 4, "rationale": "影响范围小，关注度低", "must_respond": False})

    c = _case("农产品价格监测数据被误读", "有自媒体引用我院数据称蔬菜价格将大涨。", "short_video", 2, ["NJS", "ZBS"])
    services.assess(office, c.id, {"level": 3, "rationale": "涉及民生，传播较快", "must_respond": True})
    services.assign(office, c.id, {"lead_unit": "NJS", "assisting_units": ["ZBS"], "note": "请农经所牵头核实口径"})

    c = _case("种子质量投诉持续发酵", "热线多次接到农户投诉某品种种子发芽率低，已有媒体跟进。", "hotline", 38, ["ZBS"])
    services.assess(leader, c.id, {"level": 3, "rationale": "涉及农民切身利益，媒体已介入", "must_respond": True})
    services.assign(office, c.id, {"lead_unit": "ZBS", "assisting_units": [], "note": "请植保所牵头处置"})
    services.accept(drafter, c.id, {"note": "已受理，正在组织专家核查"})

    c = _case("网传我院转基因试验田发生泄漏", "多个平台出现相关视频，引发大量关注。", "short_video", 26, ["ZBS"])
    services.assess(office, c.id, {"level": 2, "rationale": "重大敏感舆情，须第一时间发布权威信息",
                                   "must_respond": True})
    services.assign(office, c.id, {"lead_unit": "ZBS", "assisting_units": ["NJS"], "note": "立即核实并发布权威信息"})
    services.accept(drafter, c.id, {"note": "已受理"})
    services.feedback(drafter, c.id, {"note": "专家已赴现场，初步判断为谣言"})

    c = _case("新闻跟帖质疑小麦新品种推广效果", "新闻网站跟帖质疑新品种产量数据。", "news_comment", 20, ["ZBS"])
    services.assess(office, c.id, {"level": 3, "rationale": "质疑科研数据，需专家回应", "must_respond": True})
    services.assign(office, c.id, {"lead_unit": "ZBS", "assisting_units": [], "note": ""})
    services.accept(drafter, c.id, {"note": ""})
    services.respond(drafter, c.id, {"form": "expert_interpretation", "held_at": held,
                                     "note": "育种专家接受采访，解读试验数据", "evidence_url": "https://example.cn/news/1"})

    c = _case("热线咨询农药使用安全", "群众来电咨询春季农药使用安全问题。", "hotline", 60, ["ZBS"])
    services.assess(office, c.id, {"level": 4, "rationale": "一般咨询", "must_respond": False})
    services.assign(office, c.id, {"lead_unit": "ZBS", "assisting_units": [], "note": ""})
    services.accept(drafter, c.id, {"note": ""})
    services.respond(drafter, c.id, {"form": "other", "held_at": (utcnow() - timedelta(hours=50)).isoformat(),
                                     "note": "电话答复并在门户网站发布用药提示"})
    services.close(office, c.id, {"outcome": "已答复，群众满意"})
    sent = clock.sweep()
    yield f"cases: one in every state, one overdue, one about to cross 80 % ({sent} deadline notifications)"
