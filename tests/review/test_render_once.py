"""Render once (issue 13; issue 9 finding 4): a revision's portal and WeChat HTML is rendered when it is saved,
stored by the body's hash and the renderer's version, and every page, preview, API answer and dispatch reuses
it; rendering runs in a helper process with a time budget, so no text can hold a server for minutes."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, update

from app.extensions import db
from app.models import AuditEvent
from review import renderings
from review.models import Revision
from review.render import to_safe_html
from tests.factories import Office
from tests.publishing.helpers import drain
from tests.publishing.test_pages import login
from wechat.render import render_article

BODY = "经核实，**网传信息不实**。\n\n1. 第一\n2. 第二\n\n详见[说明](https://example.com/a)。\n\n> 引用一段"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"RENDER_BUDGET_SECONDS": 3}


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "RND")


@pytest.fixture(autouse=True)
def fresh_memory() -> None:
    """Each test starts as a fresh server process: what an earlier test rendered is not remembered."""
    renderings.forget_memory()


def stored(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        return sorted((r, v) for r, v in db.session.execute(
            select(renderings.Rendering.renderer, renderings.Rendering.version)))


def test_saving_renders_each_channel_once_and_views_never_render_again(app: Flask, office: Office) -> None:
    before = renderings.calls
    st = office.draft(body=BODY, channels=["portal", "wechat"])
    assert renderings.calls - before == 2  # portal and WeChat, at save, nothing more
    assert stored(app) == [("portal", "2"), ("wechat", "2")]
    with app.app_context():
        html = {r.renderer: r.html for r in db.session.scalars(select(renderings.Rendering))}
    assert html["portal"] == to_safe_html(BODY) and html["wechat"] == render_article(BODY).html

    renderings.forget_memory()  # as a fresh server process: only the table knows
    after_save = renderings.calls
    page = login(app, office.drafter.user.username)
    for _ in range(3):
        resp = page.get(f"/statements/{st['id']}")
        assert resp.status_code == 200 and "<strong>网传信息不实</strong>" in resp.get_data(as_text=True)
    for channel in ("portal", "wechat"):
        preview = office.drafter.get(f"/statements/{st['id']}/preview?channel={channel}")
        assert preview.status_code == 200 and preview.get_data(as_text=True) == html[channel]
    assert renderings.calls == after_save


def test_a_published_statement_goes_out_and_shows_without_rendering(app: Flask, office: Office) -> None:
    st = office.approved(body=BODY, channels=["portal"])
    renderings.forget_memory()
    before = renderings.calls
    drain(app)  # the worker publishes and reads back the portal page
    public = app.test_client()
    assert "<strong>网传信息不实</strong>" in public.get(f"/releases/{st['id']}").get_data(as_text=True)
    assert "网传信息不实" in public.get("/releases/feed.xml").get_data(as_text=True)
    assert renderings.calls == before


def test_a_revision_saved_before_the_table_is_rendered_on_first_view_then_stored(app: Flask, office: Office) -> None:
    st = office.draft(body=BODY, channels=["portal"])
    with app.app_context():
        db.session.execute(delete(renderings.Rendering))
        db.session.commit()
    renderings.forget_memory()
    page = login(app, office.drafter.user.username)
    before = renderings.calls
    assert page.get(f"/statements/{st['id']}").status_code == 200
    first = renderings.calls - before
    assert first >= 1 and ("portal", "2") in stored(app)
    renderings.forget_memory()
    assert page.get(f"/statements/{st['id']}").status_code == 200
    assert renderings.calls - before == first  # the second view read the table


def test_a_new_renderer_version_renders_new_bodies_and_keeps_stored_ones(app: Flask, office: Office,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    st = office.draft(body=BODY, channels=["portal"])
    renderings.forget_memory()
    monkeypatch.setitem(renderings._RENDERERS, "portal",
                        renderings.Renderer("portal", "3", "tests.review.slow_render:other"))
    before = renderings.calls
    old = office.drafter.get(f"/statements/{st['id']}/preview?channel=portal")
    assert old.status_code == 200 and old.get_data(as_text=True) == to_safe_html(BODY)  # what was reviewed
    assert renderings.calls == before
    other = office.draft(body=BODY + "\n\n新的一段", channels=["portal"])
    assert renderings.calls - before == 2 and ("portal", "3") in stored(app)  # portal (version 3) and WeChat
    assert office.drafter.get(f"/statements/{other['id']}/preview?channel=portal").status_code == 200


def _slow_portal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The portal renderer stuck on every text (a new version, so nothing stored is reused)."""
    monkeypatch.setitem(renderings._RENDERERS, "portal",
                        renderings.Renderer("portal", "slow", "tests.review.slow_render:render"))


def test_a_text_the_renderer_is_stuck_on_is_cut_off_by_the_budget_with_a_clear_message(
        app: Flask, office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    # Saved before the renderer got stuck on it: the budget, not the renderer, ends the wait.
    st = office.draft(body="正常的文本", channels=["portal"])
    with app.app_context():
        db.session.execute(update(Revision).where(Revision.statement_id == st["id"])
                           .values(body="从未排版过的文本"))
        db.session.commit()
    _slow_portal(monkeypatch)
    page = login(app, office.drafter.user.username)
    started = time.monotonic()
    resp = page.get(f"/statements/{st['id']}")
    took = time.monotonic() - started
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "正文排版超过 3 秒仍未完成，已中止" in text
    assert took < 3 * 3 + 5  # portal, and the WeChat preview at most: a few budgets, not minutes
    api = office.drafter.get(f"/statements/{st['id']}/preview?channel=portal")
    assert api.status_code == 400 and "已中止" in api.get_json()["error"]["fields"]["body"]
    assert office.drafter.get("/statements").status_code == 200  # the helper was replaced; the server answers


def test_saving_a_text_the_budget_cannot_render_is_refused_beside_the_body(app: Flask, office: Office,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    app.config["RENDER_BUDGET_SECONDS"] = 0.5
    _slow_portal(monkeypatch)
    resp = office.drafter.post("/statements", {"title": "标题", "digest": "", "body": BODY + " 预算",
                                               "channels": ["portal"]})
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["code"] == "invalid" and "已中止" in error["fields"]["body"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Revision)) == 0  # nothing saved
    monkeypatch.undo()
    assert office.drafter.post("/statements", {"title": "标题", "digest": "", "body": BODY + " 预算",
                                               "channels": ["portal"]}).status_code == 201


def test_the_approval_names_the_rendering_the_leader_saw_and_it_is_what_goes_out(
        app: Flask, office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    st = office.approved(body=BODY, channels=["portal"])
    with app.app_context():
        approval = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "review.leader.approve",
                                                              AuditEvent.object_id == st["id"]))
        assert approval is not None
        assert approval.after["renderings"] == {"portal": f"{renderings.body_hash(BODY)}/portal/2"}
    # a newer renderer arrives between the approval and go-live (a deploy): the approved rendering still goes out
    monkeypatch.setitem(renderings._RENDERERS, "portal",
                        renderings.Renderer("portal", "3", "tests.review.slow_render:other"))
    renderings.forget_memory()
    drain(app)
    page = app.test_client().get(f"/releases/{st['id']}").get_data(as_text=True)
    assert "<strong>网传信息不实</strong>" in page and "新版排版" not in page
    with app.app_context():
        assert renderings.rendering_key("portal", BODY) == approval.after["renderings"]["portal"]
