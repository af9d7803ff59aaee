"""What each channel will show: the live preview endpoint and the side-by-side preview on the pages."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask

from review.render import MAX_BRACKETS
from tests.factories import Office
from tests.review.test_web import Browser, text

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Element(HTMLParser):
    """The outer HTML of the element with one id, nesting counted (a regex stops at the first close tag)."""

    def __init__(self, ident: str) -> None:
        super().__init__(convert_charrefs=False)
        self.ident, self.depth, self.start, self.end = ident, 0, -1, -1
        self.lines: list[int] = []

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.lines[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        if self.start < 0 and dict(attrs).get("id") == self.ident:
            self.start, self.depth = self._offset(), 1
        elif self.start >= 0 and self.end < 0:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or self.start < 0 or self.end >= 0:
            return
        self.depth -= 1
        if self.depth == 0:
            self.end = self._offset() + len(tag) + 3


def element(resp: Any, ident: str) -> str:
    """The element with id `ident` in a page, unescaped ("" when the page has none)."""
    page = resp.get_data(as_text=True)
    parser = _Element(ident)
    parser.lines = [0]
    for line in page.splitlines(keepends=True):
        parser.lines.append(parser.lines[-1] + len(line))
    parser.feed(page)
    return html.unescape(page[parser.start:parser.end]) if parser.start >= 0 else ""


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


def test_preview_renders_unsaved_text_with_the_publishing_renderers(app: Flask, office: Office) -> None:
    body = "## 情况说明\n\n经核实<script>alert(1)</script>，**不实**。\n\n- 一\n- 二\n\n[来源](https://example.org/a)"
    resp = office.drafter.post("/preview", {"body": body})
    assert resp.status_code == 200, resp.get_json()
    channels = resp.get_json()["channels"]
    assert set(channels) == {"portal", "wechat"}
    with app.app_context():
        from review.render import to_safe_html
        from wechat.render import render_article

        assert channels["portal"] == to_safe_html(body)
        assert channels["wechat"] == render_article(body).html
    assert "<script" not in channels["portal"] and "<script" not in channels["wechat"]
    assert "<strong>不实</strong>" in channels["portal"]
    # WeChat: inline styles, explicit list markers, the external link as a numbered reference
    assert 'style="' in channels["wechat"] and "class=" not in channels["wechat"]
    assert "https://example.org/a" in channels["wechat"]
    # nothing was saved
    assert office.drafter.get("/statements").get_json()["total"] == 0


def test_preview_refuses_what_saving_refuses(office: Office) -> None:
    resp = office.drafter.post("/preview", {"body": "[" * (MAX_BRACKETS + 1)})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "invalid" and "方括号" in resp.get_json()["error"]["fields"]["body"]
    resp = office.drafter.post("/preview", {"body": 12})
    assert resp.status_code == 400 and "body" in resp.get_json()["error"]["fields"]
    resp = office.drafter.post("/preview", {"body": "字" * 50_001})
    assert resp.status_code == 400 and "50000" in resp.get_json()["error"]["fields"]["body"]


def test_preview_needs_a_signed_in_caller(app: Flask) -> None:
    resp = app.test_client().post("/api/v1/preview", json={"body": "x"})
    assert resp.status_code == 401


def test_editor_shows_both_channels_with_counters_and_toolbar(app: Flask, office: Office) -> None:
    web = Browser(app, office.drafter.user.username)
    page = web.get("/statements/new")
    assert page.status_code == 200
    preview = element(page, "channel-preview")
    assert 'id="cp-portal"' in preview and 'id="cp-wechat"' in preview
    assert 'data-url="/api/v1/preview"' in preview
    assert app.config["INSTITUTION_NAME"] in preview
    body = text(page)
    for label in ("标题", "加粗", "列表", "链接", "插入图片"):
        assert f">{label}<" in body or f"<strong>{label}</strong>" in body
    assert 'data-count-for="title" data-max="64"' in body and 'data-wechat-max="32"' in body
    assert 'data-count-for="digest" data-max="120"' in body

    st = office.draft(body="第一段\n\n**要点**")
    page = web.get(f"/statements/{st['id']}/edit")
    preview = element(page, "channel-preview")
    assert "<strong>要点</strong>" in preview
    assert re.search(r'data-cp-html="wechat">\s*<section style=', preview)


def test_every_review_form_shows_what_each_channel_receives(app: Flask, office: Office) -> None:
    st = office.submitted(body="经核实，**网传信息不实**。", agencies=["省农业农村厅"])
    expert = Browser(app, office.expert.user.username)
    page = expert.get(f"/statements/{st['id']}")
    preview = element(page, "channel-preview")
    assert preview, "the expert's review form shows the channel preview"
    assert "data-url" not in preview.split(">", 1)[0], "a review form previews the saved text, not typing"
    assert "<strong>网传信息不实</strong>" in preview and "关于网传小麦品种问题的回应" in preview
    assert "情况说明" in preview  # the digest, on the portal page and the share card

    assert office.review(office.expert, st, "expert").status_code == 201
    drafter = Browser(app, office.drafter.user.username)
    assert element(drafter.get(f"/statements/{st['id']}"), "channel-preview"), "the confirmation form too"
    office.drafter.post(f"/statements/{st['id']}/confirmations", {
        "revision_hash": st["revision"]["hash"], "agency": "省农业农村厅", "contact": "张科长", "method": "phone"})
    leader = Browser(app, office.leader.user.username)
    assert element(leader.get(f"/statements/{st['id']}"), "channel-preview"), "and the leader's"
    # someone with no form to fill sees no preview block
    assert not element(Browser(app, office.expert2.user.username).get(f"/statements/{st['id']}"), "channel-preview")
