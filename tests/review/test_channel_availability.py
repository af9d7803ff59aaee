"""Without a WeChat account and without the sandbox the WeChat channel is unavailable (interface §13): a statement
naming it is 400 `invalid` on `channels` with a message saying why, the default is the portal alone, and the
new-statement form offers only what can be published."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from tests.app.test_admin import sign_in
from tests.factories import Office

BODY = {"title": "关于网传小麦品种问题的回应", "digest": "情况说明", "body": "经核实，网传信息不实。"}
NO_WECHAT = {"WECHAT_SANDBOX": False}


@pytest.mark.parametrize("app_config", [NO_WECHAT])
def test_naming_wechat_without_it_is_invalid_on_channels(app: Flask) -> None:
    office = Office(app, "ZBS")
    resp = office.drafter.post("/statements", {**BODY, "channels": ["portal", "wechat"]})
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["code"] == "invalid" and set(error["fields"]) == {"channels"}
    assert "微信" in error["fields"]["channels"] and "WECHAT_SANDBOX" in error["fields"]["channels"]
    assert office.drafter.post("/statements", {**BODY, "channels": ["wechat"]}).status_code == 400

    st = office.drafter.post("/statements", BODY).get_json()
    assert st["channels"] == ["portal"]
    edit = office.drafter.put(f"/statements/{st['id']}", {"channels": ["portal", "wechat"]})
    assert edit.status_code == 400 and "channels" in edit.get_json()["error"]["fields"]
    assert office.drafter.get(f"/statements/{st['id']}").get_json()["channels"] == ["portal"]


@pytest.mark.parametrize("app_config", [{}, {"WECHAT_SANDBOX": False, "WECHAT_APP_ID": "wx0123456789abcdef",
                                             "WECHAT_APP_SECRET": "s", "WECHAT_TOKEN": "t"}])
def test_with_the_sandbox_or_an_account_wechat_is_offered_and_the_default(app: Flask) -> None:
    office = Office(app, "ZBS")
    assert office.drafter.post("/statements", BODY).get_json()["channels"] == ["portal", "wechat"]
    assert office.drafter.post("/statements", {**BODY, "channels": ["wechat"]}).status_code == 201
    form = sign_in(app, office.drafter.user.username).get("/statements/new").get_data(as_text=True)
    assert _offered(form) == ["portal", "wechat"]


@pytest.mark.parametrize("app_config", [NO_WECHAT])
def test_the_new_statement_form_offers_only_the_portal(app: Flask) -> None:
    office = Office(app, "ZBS")
    web = sign_in(app, office.drafter.user.username)
    assert _offered(web.get("/statements/new").get_data(as_text=True)) == ["portal"]
    st = office.drafter.post("/statements", BODY).get_json()
    assert _offered(web.get(f"/statements/{st['id']}/edit").get_data(as_text=True)) == ["portal"]


def _offered(page: Any) -> list[str]:
    return re.findall(r'name="channels" value="([a-z]+)"', page)
