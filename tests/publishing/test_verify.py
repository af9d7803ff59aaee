"""The public authenticity check (interface §10): anyone pastes a text and learns whether the institution
published exactly that, something similar, a retracted statement, or nothing; rate-limited per address."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from app import create_app
from app.extensions import db
from tests.factories import Office
from tests.publishing.helpers import drain

BODY = """针对近日网络流传的“某地小麦大面积感染新型病害”相关信息，我所高度重视，第一时间组织植保专家赴现场核查。

## 核查情况

经实地调查和实验室检测，相关地块小麦出现的黄化症状系**前期低温冻害**所致，并非新型病害，不具有传染性。

1. 及时追施速效氮肥，促进小麦恢复生长；
2. 密切关注天气变化，做好后期病虫害监测。
"""


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


@pytest.fixture
def published(app: Flask, office: Office) -> dict[str, Any]:
    st = office.approved(channels=["portal"], title="关于小麦黄化情况的说明", body=BODY)
    drain(app)
    st = office.drafter.get(f"/statements/{st['id']}").get_json()
    assert st["status"] == "published"
    return st


def verify(app: Flask, text: str, addr: str = "203.0.113.7") -> Any:
    return app.test_client().post("/api/v1/public/verify", json={"text": text},
                                  environ_base={"REMOTE_ADDR": addr})


def as_pasted_from_a_phone(markdown: str) -> str:
    """What a reader copies from the page: no Markdown, other line breaks, half-width punctuation."""
    text = markdown.replace("**", "").replace("## ", "").replace("\n\n", "\r\n")
    return text.replace("，", ",").replace("；", ";").replace("“", '"').replace("”", '"') + "\n  "


def test_authentic_despite_line_breaks_and_punctuation(app: Flask, published: dict[str, Any]) -> None:
    resp = verify(app, as_pasted_from_a_phone(BODY))
    assert resp.status_code == 200
    answer = resp.get_json()
    assert answer["verdict"] == "authentic", answer
    assert answer["statement_id"] == published["id"] and answer["title"] == "关于小麦黄化情况的说明"
    assert answer["unit"] and answer["url"] == f"http://huiying.test/releases/{published['id']}"
    assert answer["ledger_seq"] == published["ledger_seq"] and answer["published_at"]
    assert answer["similarity"] == 1.0 and answer["differences"] == []
    # with its title before it, and as the Markdown source a drafter keeps, it is the same statement
    assert verify(app, "关于小麦黄化情况的说明\n" + as_pasted_from_a_phone(BODY)).get_json()["verdict"] == "authentic"
    assert verify(app, BODY).get_json()["verdict"] == "authentic"


def test_a_copy_with_something_around_it_is_not_authentic(app: Flask, published: dict[str, Any]) -> None:
    """interface §20: a text that holds the statement plus anything else is `modified`, the addition shown."""
    answer = verify(app, "转发：\n" + as_pasted_from_a_phone(BODY) + "\n（来源：网络）").get_json()
    assert answer["verdict"] == "modified" and answer["statement_id"] == published["id"], answer
    inserted = [d["text"] for d in answer["differences"] if d["type"] == "inserted"]
    assert inserted == ["转发:", "(来源:网络)"], answer["differences"]


def test_modified_lists_the_differences(app: Flask, published: dict[str, Any]) -> None:
    altered = as_pasted_from_a_phone(BODY.replace("并非新型病害，不具有传染性", "系新型病害，具有传染性"))
    answer = verify(app, altered).get_json()
    assert answer["verdict"] == "modified", answer
    assert 0.6 <= answer["similarity"] < 1 and answer["statement_id"] == published["id"]
    deleted = "".join(d["text"] for d in answer["differences"] if d["type"] == "deleted")
    inserted = "".join(d["text"] for d in answer["differences"] if d["type"] == "inserted")
    assert "并非" in deleted and "不" in deleted and "系" in inserted

    client = app.test_client()
    page = client.post("/verify", data={"text": altered, "csrf_token": _csrf(client)},
                       environ_base={"REMOTE_ADDR": "203.0.113.8"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "verdict-modified" in html and "<del>" in html and "<ins>" in html


def test_not_found_and_bad_input(app: Flask, published: dict[str, Any]) -> None:
    answer = verify(app, "某研究所宣布明日起全面停止对外服务，请广大群众相互转告。").get_json()
    assert answer["verdict"] == "not_found" and answer["statement_id"] is None
    # a short excerpt of a real statement is not the statement
    assert verify(app, "我所高度重视").get_json()["verdict"] == "not_found"
    resp = verify(app, "")
    assert resp.status_code == 400 and resp.get_json()["error"]["fields"]["text"]
    resp = verify(app, "字" * 50_001)
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "too_large"


def test_retracted(app: Flask, office: Office, published: dict[str, Any]) -> None:
    resp = office.leader.post(f"/statements/{published['id']}/retract", {"reason": "情况有新进展，另行发布"})
    assert resp.status_code == 200, resp.get_json()
    drain(app)
    answer = verify(app, as_pasted_from_a_phone(BODY)).get_json()
    assert answer["verdict"] == "retracted" and answer["statement_id"] == published["id"]
    assert answer["retraction"]["reason"] == "情况有新进展，另行发布"


def test_rate_limited_per_address(app: Flask, published: dict[str, Any]) -> None:
    for _ in range(30):
        assert verify(app, "测试文字", addr="198.51.100.1").status_code == 200
    resp = verify(app, "测试文字", addr="198.51.100.1")
    assert resp.status_code == 429 and resp.get_json()["error"]["code"] == "rate_limited"
    assert resp.get_json()["error"]["message"] == "核验过于频繁，请一分钟后再试"
    assert 1 <= int(resp.headers["Retry-After"]) <= 60  # when to come back, not a guess
    assert verify(app, "测试文字", addr="198.51.100.2").status_code == 200


def test_the_page_counts_with_the_api_and_keeps_what_was_typed(app: Flask, published: dict[str, Any]) -> None:
    client = app.test_client()
    for _ in range(30):
        assert verify(app, "测试文字", addr="198.51.100.3").status_code == 200
    page = client.post("/verify", data={"text": "第三十一次核验", "csrf_token": _csrf(client)},
                       environ_base={"REMOTE_ADDR": "198.51.100.3"})
    html = page.get_data(as_text=True)
    assert page.status_code == 429 and "核验过于频繁，请一分钟后再试" in html and "第三十一次核验" in html
    assert int(page.headers["Retry-After"]) >= 1
    assert client.get("/verify", environ_base={"REMOTE_ADDR": "198.51.100.3"}).status_code == 200  # reading is free


@pytest.fixture
def redis_down(app: Flask) -> Iterator[Flask]:
    """The same site and database with nothing listening at its REDIS_URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = create_app({**app.config, "REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    yield down
    with down.app_context():
        db.engine.dispose()


def test_with_redis_down_the_checks_go_on_unlimited(redis_down: Flask, published: dict[str, Any]) -> None:
    """The limit fails open (app/limits.py): the public's check reads only the database."""
    answers = [verify(redis_down, BODY) for _ in range(31)]
    assert {a.status_code for a in answers} == {200} and answers[-1].get_json()["verdict"] == "authentic"
    client = redis_down.test_client()
    page = client.post("/verify", data={"text": BODY, "csrf_token": _csrf(client)})
    assert page.status_code == 200 and "verdict-authentic" in page.get_data(as_text=True)


def test_with_redis_down_the_ledger_check_is_busy_not_broken(redis_down: Flask, published: dict[str, Any]) -> None:
    """Its verdict and lock live in Redis: without them, 503 `busy` to retry, not a whole-chain recount per call."""
    resp = redis_down.test_client().get("/api/v1/ledger/verify")
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "busy"
    assert resp.headers["Retry-After"] == "1"


def test_release_page_qr_leads_to_the_record(app: Flask, published: dict[str, Any]) -> None:
    client = app.test_client()
    page = client.get(f"/releases/{published['id']}").get_data(as_text=True)
    qr = f"/releases/{published['id']}/qr.svg"
    assert qr in page
    svg = client.get(qr)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    h = published["revision"]["hash"]
    record = client.get(f"/verify?h={h}")
    html = record.get_data(as_text=True)
    assert record.status_code == 200 and "关于小麦黄化情况的说明" in html and f"#{published['ledger_seq']}" in html
    assert client.get(f"/verify?h={'0' * 64}").status_code == 404
    assert client.get("/verify").status_code == 200


def _csrf(client: Any) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/verify").get_data(as_text=True))
    assert found
    return found.group(1)


def test_reindex_brings_in_statements_published_before_the_index(app: Flask, published: dict[str, Any]) -> None:
    from sqlalchemy import delete

    from app.extensions import db
    from publishing.verify import VerifyShingle, VerifyText

    with app.app_context():
        db.session.execute(delete(VerifyShingle))
        db.session.execute(delete(VerifyText))
        db.session.commit()
    assert verify(app, BODY).get_json()["verdict"] == "not_found"
    result = app.test_cli_runner().invoke(args=["verify", "reindex"])
    assert result.exit_code == 0 and "indexed 1 " in result.output, result.output
    assert verify(app, BODY).get_json()["verdict"] == "authentic"
