"""The public portal names the institution, finds releases by words and by unit, and offers 订阅."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.factories import Office
from tests.publishing.helpers import drain


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"INSTITUTION_NAME": "某某省农业科学院"}


@pytest.fixture
def published(app: Flask) -> dict[str, Any]:
    zbs, njs = Office(app, "ZBS"), Office(app, "NJS")
    found = {
        "wheat": zbs.approved(channels=["portal"], title="关于小麦条锈病防控的说明", body="今年小麦条锈病发生较轻。"),
        "corn": zbs.approved(channels=["portal"], title="关于玉米种子的说明",
                             body="玉米种子经检验合格，与赤霉病无关。"),
        "price": njs.approved(channels=["portal"], title="关于粮价监测数据的说明", body="监测数据来自小麦主产区。"),
        "gone": njs.approved(channels=["portal"], title="关于旧数据的说明", body="其中提到秘密词甲乙丙。"),
    }
    drain(app)
    resp = njs.leader.post(f"/statements/{found['gone']['id']}/retract", {"reason": "数据有误"})
    assert resp.status_code == 200, resp.get_json()
    drain(app)
    return found


def titles(resp: Any) -> list[str]:
    page = resp.get_data(as_text=True)
    return [t for t in ("小麦条锈病", "玉米种子", "粮价监测", "旧数据") if t in page]


def test_search_by_title_or_text_and_by_unit(app: Flask, published: dict[str, Any]) -> None:
    web = app.test_client()
    assert titles(web.get("/releases")) == ["小麦条锈病", "玉米种子", "粮价监测", "旧数据"]
    assert titles(web.get("/releases?q=小麦")) == ["小麦条锈病", "粮价监测"], "title or body"
    assert titles(web.get("/releases?q=赤霉病")) == ["玉米种子"], "words of the body"
    assert titles(web.get("/releases?unit=NJS")) == ["粮价监测", "旧数据"]
    assert titles(web.get("/releases?q=小麦&unit=ZBS")) == ["小麦条锈病"]
    assert titles(web.get("/releases?q=秘密词")) == [], "a retracted text's words no longer find it"
    assert titles(web.get("/releases?q=旧数据")) == ["旧数据"], "its title (with the notice) still does"
    empty = web.get("/releases?q=不存在的词").get_data(as_text=True)
    assert "没有找到相关信息" in empty and "找到 0 条" in empty
    assert web.get("/releases?q=%25_%25").status_code == 200
    assert web.get("/releases?unit=NOPE&q=" + "长" * 500).status_code == 200
    page = web.get("/releases").get_data(as_text=True)
    assert '<option value="ZBS"' in page and '<option value="NJS"' in page


def test_the_portal_names_the_institution_and_says_subscribe(app: Flask, published: dict[str, Any]) -> None:
    web = app.test_client()
    for path in ("/releases", f"/releases/{published['wheat']['id']}", "/record"):
        page = web.get(path).get_data(as_text=True)
        assert "某某省农业科学院" in page, path
        assert ">订阅<" in page and ">Atom<" not in page, path
    feed = web.get("/releases/feed.xml").get_data(as_text=True)
    assert "<title>某某省农业科学院 · 权威发布</title>" in feed


def test_institution_name_has_a_default(app: Flask) -> None:
    from app import config

    assert config.from_environment(app.instance_path)["INSTITUTION_NAME"]
