"""An accessibility pass over the main pages: axe-core (npm, tests/axe/) run in Debian's chromium.

No page may have a serious or critical violation, on a phone (390 px) or a desktop. axe.min.js comes from
`npm ci` in tests/axe (the Makefile's test target runs it when node_modules is missing); it is injected with
Playwright's add_script_tag into a context that bypasses the CSP only for that injection.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.cases.helpers import Cast
from tests.factories import PASSWORD
from tests.publishing.helpers import drain

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[1] / "axe" / "node_modules" / "axe-core" / "axe.min.js"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BLOCKING = ("serious", "critical")
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


@pytest.fixture
def axe_path() -> Path:
    if not AXE.exists():
        if IN_CI:
            pytest.fail(f"{AXE} is missing: run `npm ci` in tests/axe (make test does)")
        pytest.skip("axe-core is not installed (cd tests/axe && npm ci)")
    return AXE


@pytest.fixture(params=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORTS[request.param], locale="zh-CN", bypass_csp=True)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def violations(page: Any, axe: Path) -> list[str]:
    """axe's serious and critical findings on the page as it stands, one line each."""
    page.add_script_tag(path=str(axe))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in result["violations"] if v["impact"] in BLOCKING
    ]


def sign_in(page: Any, server: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{server}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.locator("form").get_by_role("button", name="登录").click()
    page.wait_for_url(f"{server}/")


def test_main_pages_have_no_serious_violations(app: Flask, server: str, page: Any, axe_path: Path) -> None:
    cast = Cast(app)
    case = cast.at("handling")
    published = cast.drafter.post("/statements", {"title": "关于网传小麦种子质量问题的说明", "digest": "情况说明",
                                                  "body": "## 情况说明\n\n经核实，**网传信息不实**。\n\n- 一\n- 二",
                                                  "channels": ["portal"], "case_ids": [case["id"]]}).get_json()
    expert = cast["expert", cast.a]
    cast.drafter.post(f"/statements/{published['id']}/submit")
    assert expert.post(f"/statements/{published['id']}/reviews", {
        "revision_hash": published["revision"]["hash"], "stage": "expert", "decision": "approve"}).status_code == 201
    assert cast.leader.post(f"/statements/{published['id']}/reviews", {
        "revision_hash": published["revision"]["hash"], "stage": "leader", "decision": "approve"}).status_code == 201
    drain(app)
    waiting = cast.drafter.post("/statements", {"title": "关于玉米品种的说明", "body": "经核实，不实。",
                                                "agencies": ["河南省农业农村厅"]}).get_json()
    cast.drafter.post(f"/statements/{waiting['id']}/submit")
    # a mass send (群发) at the leader's stage: the mode and the quota in the release plan, the phone preview
    pushed = cast.drafter.post("/statements", {"title": "关于小麦赤霉病的说明", "body": "经核实，不实。",
                                               "channels": ["portal", "wechat"], "wechat_mode": "mass_send"}).get_json()
    cast.drafter.post(f"/statements/{pushed['id']}/submit")
    assert expert.post(f"/statements/{pushed['id']}/reviews", {
        "revision_hash": pushed["revision"]["hash"], "stage": "expert", "decision": "approve"}).status_code == 201

    pages = {
        None: ["/login", "/releases", f"/releases/{published['id']}"],
        "drafter_a": ["/", "/statements/new", f"/statements/{waiting['id']}", f"/statements/{published['id']}",
                      "/account", f"/statements/{pushed['id']}/edit"],
        "expert_a": [f"/statements/{waiting['id']}", "/delegations"],
        "leader_a": [f"/statements/{pushed['id']}"],
        "office": ["/cases", f"/cases/{case['id']}", "/desk", "/reports"],
    }
    found: list[str] = []
    for who, paths in pages.items():
        if who is None:
            page.context.clear_cookies()
        else:
            sign_in(page, server, who)
        for path in paths:
            page.goto(f"{server}{path}")
            found += [f"{path} as {who or 'the public'}: {line}" for line in violations(page, axe_path)]
    assert not found, "\n".join(found)
