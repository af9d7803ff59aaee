"""A release page serves only the text its ledger entry vouches for (issue 9 #12).

Someone with database access edits a published statement's stored text: before, `/releases/{id}` and the
feed served the edited text as the institution's word. Now the text is re-hashed against its `published`
ledger entry on every view; a mismatch is an honest error page (409) and the feed withholds the item.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from sqlalchemy import text

from app.extensions import db
from publishing import ledger
from review.models import revision_hash
from tests.factories import Office
from tests.publishing.helpers import drain

ORIGINAL = "经核实，网传信息不实。该小麦品种已通过国家审定，可放心种植。"
FORGED = "经核实，该小麦品种存在严重问题，请立即停止种植。"


def sql(app: Flask, statement: str, **params: Any) -> None:
    """Raw SQL, as someone with database access would change things."""
    with app.app_context():
        assert db.session.execute(text(statement), params).rowcount == 1
        db.session.commit()


def published(app: Flask, office: Office, body: str) -> dict[str, Any]:
    st = office.approved(channels=["portal"], body=body)
    drain(app)
    return st


def test_a_release_whose_stored_text_was_changed_is_not_served(app: Flask) -> None:
    office = Office(app, "ZBS")
    first = published(app, office, ORIGINAL)
    second = published(app, office, "经核实，网传第二条信息不实。")  # `first` now has a successor entry
    reader = app.test_client()
    for st in (first, second):
        page = reader.get(f"/releases/{st['id']}")
        assert page.status_code == 200
    assert ORIGINAL in reader.get(f"/releases/{first['id']}").get_data(as_text=True)

    sql(app, "UPDATE revisions SET body = :b WHERE statement_id = :s", b=FORGED, s=first["id"])
    page = reader.get(f"/releases/{first['id']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 409
    assert FORGED not in html and ORIGINAL not in html
    assert "与公开的发布记录不一致" in html
    feed = reader.get("/releases/feed.xml").get_data(as_text=True)
    assert "该小麦品种存在严重问题" not in feed and "此条信息暂停提供" in feed
    assert reader.get(f"/releases/{second['id']}").status_code == 200  # the others are untouched

    # the forger also fixes every hash in the statement's own tables …
    with app.app_context():
        title, digest = db.session.execute(text("SELECT title, digest FROM revisions WHERE statement_id = :s"),
                                           {"s": first["id"]}).one()
    forged_hash = revision_hash(title, digest, FORGED)
    sql(app, "UPDATE revisions SET hash = :h WHERE statement_id = :s", h=forged_hash, s=first["id"])
    sql(app, "UPDATE releases SET revision_hash = :h WHERE statement_id = :s", h=forged_hash, s=first["id"])
    assert reader.get(f"/releases/{first['id']}").status_code == 409

    # … and the ledger entry, rehashed: then the next entry no longer links to it
    with app.app_context():
        seq = db.session.execute(text("SELECT ledger_seq FROM releases WHERE statement_id = :s"),
                                 {"s": first["id"]}).scalar_one()
        row = db.session.execute(text("SELECT * FROM ledger_entries WHERE seq = :q"), {"q": seq}).mappings().one()
    body = {k: row[k] for k in ("seq", "kind", "statement_id", "at", "prev_hash")}
    body["payload"] = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"])
    body["revision_hash"] = forged_hash
    sql(app, "UPDATE ledger_entries SET revision_hash = :r, hash = :h WHERE seq = :q", r=forged_hash,
        h=ledger.entry_hash(body["prev_hash"], body), q=seq)
    page = reader.get(f"/releases/{first['id']}")
    assert page.status_code == 409 and FORGED not in page.get_data(as_text=True)


def test_the_latest_release_is_checked_against_the_head(app: Flask) -> None:
    office = Office(app, "ZBS")
    st = published(app, office, ORIGINAL)
    reader = app.test_client()
    assert reader.get(f"/releases/{st['id']}").status_code == 200
    with app.app_context():
        seq = db.session.execute(text("SELECT ledger_seq FROM releases WHERE statement_id = :s"),
                                 {"s": st["id"]}).scalar_one()
    # text, hashes and the last entry rewritten consistently; only the head still names the original
    sql(app, "UPDATE revisions SET body = :b WHERE statement_id = :s", b=FORGED, s=st["id"])
    with app.app_context():
        title, digest = db.session.execute(text("SELECT title, digest FROM revisions WHERE statement_id = :s"),
                                           {"s": st["id"]}).one()
        row = db.session.execute(text("SELECT * FROM ledger_entries WHERE seq = :q"), {"q": seq}).mappings().one()
    text_hash = revision_hash(title, digest, FORGED)
    sql(app, "UPDATE revisions SET hash = :h WHERE statement_id = :s", h=text_hash, s=st["id"])
    sql(app, "UPDATE releases SET revision_hash = :h WHERE statement_id = :s", h=text_hash, s=st["id"])
    body = {k: row[k] for k in ("seq", "kind", "statement_id", "at", "prev_hash")}
    body["payload"] = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"])
    body["revision_hash"] = text_hash
    sql(app, "UPDATE ledger_entries SET revision_hash = :r, hash = :h WHERE seq = :q", r=text_hash,
        h=ledger.entry_hash(body["prev_hash"], body), q=seq)
    page = reader.get(f"/releases/{st['id']}")
    assert page.status_code == 409 and FORGED not in page.get_data(as_text=True)
