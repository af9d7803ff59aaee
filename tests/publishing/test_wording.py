"""What a new user read wrongly on the publishing pages (issue 27, items 12, 13, 17).

A cancelled statement said 已撤回 / 已从该渠道撤下 and 发布进行中 though nothing went out; /record numbered a
correction's original by its statement id beside entries numbered by seq; the desk listed a retracted
statement as a plain recent publication; and 撤回 went out on one tap.
"""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from sqlalchemy import select, update

from app.extensions import db
from app.timeutil import utcnow
from publishing.models import Delivery, LedgerEntry
from tests.factories import Office
from tests.publishing.helpers import deliveries, drain
from tests.publishing.test_corrections import corrected
from tests.publishing.test_pages import csrf, login

LATER = "2099-01-01T09:00:00+08:00"


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


def plain(page: str) -> str:
    """The words of a page as a reader sees them (no markup, styles or scripts)."""
    page = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_a_cancelled_statement_reads_as_cancelled_everywhere(app: Flask, office: Office) -> None:
    st = office.approved(channels=["portal", "wechat"], go_live_at=LATER)
    with app.app_context():  # WeChat's draft was made ahead of go-live: its cancellation deletes it
        db.session.execute(update(Delivery).where(Delivery.statement_id == st["id"], Delivery.channel == "wechat")
                           .values(staged_at=utcnow()))
        db.session.commit()
    assert office.leader.post(f"/statements/{st['id']}/cancel", {"reason": "口径待统一"}).status_code == 200
    assert deliveries(app, st["id"])["wechat"]["action"] == "retract"  # the draft's deletion is under way

    leader = login(app, office.leader.user.username)
    page = plain(leader.get(f"/statements/{st['id']}").get_data(as_text=True))
    assert "已取消（未发出）" in page
    for wrong in ("已撤回", "已从该渠道撤下", "发布进行中", "等待撤下"):
        assert wrong not in page, wrong
    live = leader.get(f"/statements/{st['id']}/live").get_json()
    assert live["status_label"] == "已取消（未发出）"
    assert "发布进行中" not in live["html"] and "撤下" not in plain(live["html"])
    listed = leader.get("/statements").get_data(as_text=True)
    rows = plain(listed[listed.index('<ul class="items">'):])
    assert "已取消（未发出）" in rows and "已撤回" not in rows

    # a statement that did go out and was retracted still says so
    out = office.approved(channels=["portal"])
    drain(app)
    assert office.leader.post(f"/statements/{out['id']}/retract", {"reason": "数据有误"}).status_code == 200
    page = plain(leader.get(f"/statements/{out['id']}").get_data(as_text=True))
    assert "已撤回" in page and "已取消（未发出）" not in page


def test_record_numbers_entries_by_seq_and_statements_as_hui_ying(app: Flask, office: Office) -> None:
    for _ in range(3):  # statement ids run ahead of ledger seqs, so the two cannot be mistaken in the test
        office.draft()
    st, fix = corrected(app, office)
    with app.app_context():
        seqs = {e.kind: e.seq for e in db.session.scalars(select(LedgerEntry))}
    assert st["id"] not in seqs.values() and fix["id"] not in seqs.values()
    public = app.test_client()
    record = public.get("/record").get_data(as_text=True)
    text = plain(record)
    assert f"原文 回应 {st['id']} 已更正" in text
    assert f"更正 回应 {st['id']}" in text
    assert f"记录第 {seqs['corrected']} 号" in text and f"记录第 {seqs['published']} 号" in text
    assert "#" not in text
    release = plain(public.get(f"/releases/{fix['id']}").get_data(as_text=True))
    fix_seq = office.drafter.get(f"/statements/{fix['id']}").get_json()["ledger_seq"]
    assert f"记录第 {fix_seq} 号" in release and "#" not in release
    page = plain(login(app, office.drafter.user.username).get(f"/statements/{fix['id']}").get_data(as_text=True))
    assert f"记录第 {fix_seq} 号" in page and f"#{fix_seq}" not in page


def test_the_desk_marks_a_retracted_statement_among_recent_publications(app: Flask, office: Office) -> None:
    kept = office.approved(channels=["portal"], title="仍然有效的回应")
    gone = office.approved(channels=["portal"], title="已经撤回的回应")
    drain(app)
    assert office.leader.post(f"/statements/{gone['id']}/retract", {"reason": "数据有误"}).status_code == 200
    drain(app)
    desk = login(app, office.office.user.username).get("/desk").get_data(as_text=True)
    recent = plain(desk[desk.index("最近发布"):])
    assert "[已撤回] 已经撤回的回应" in recent
    assert "[已撤回] 仍然有效的回应" not in recent and "仍然有效的回应" in recent
    assert kept["id"] != gone["id"]


def test_retracting_from_the_page_asks_for_a_confirmation_first(app: Flask, office: Office) -> None:
    st = office.approved(channels=["portal"])
    drain(app)
    leader = login(app, office.leader.user.username)
    page = leader.get(f"/statements/{st['id']}").get_data(as_text=True)
    form = page[page.index('id="retract"'):]
    assert 'name="confirm_retract"' in form[:form.index("</form>")]
    token = csrf(leader, f"/statements/{st['id']}")
    resp = leader.post(f"/statements/{st['id']}/retract", data={"reason": "数据有误", "csrf_token": token},
                       follow_redirects=True)
    body = plain(resp.get_data(as_text=True))
    assert resp.status_code == 400 and "请勾选确认" in body and "数据有误" in body
    assert office.leader.get(f"/statements/{st['id']}").get_json()["status"] == "published"
    resp = leader.post(f"/statements/{st['id']}/retract",
                       data={"reason": "数据有误", "confirm_retract": "yes", "csrf_token": token})
    assert resp.status_code == 302
    assert office.leader.get(f"/statements/{st['id']}").get_json()["status"] == "retracted"
