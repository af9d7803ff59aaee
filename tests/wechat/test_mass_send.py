"""Mass send (群发, issue 19, interface §14): the quota allocated by priority, exactly one push, waiting
statements bundled when the next period opens, a retraction deleting only its own article, previews.

The sandbox is WeChat here (its mass-send APIs, quota and MASSSENDJOBFINISH push), the release worker is the
real one (burst mode), on both databases.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.notifications.models import Notification
from app.timeutil import SHANGHAI, utcnow
from publishing.models import Delivery
from review.models import Statement
from tests.factories import Office
from tests.live import serving
from tests.publishing.helpers import drain
from tests.publishing.test_pages import login
from tests.publishing.workers import Workers
from tests.wechat.test_client import Sandbox
from wechat import quota
from wechat.models import MassItem, MassPeriod, MassSend, Preview

TITLE = "关于网传小麦品种问题的回应"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"WECHAT_SANDBOX_FAULTS": True}  # the sandbox's call log and fault switches


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    """The app on a loopback port: the worker's WeChat calls reach its sandbox, whose pushes reach its callback."""
    with serving(app) as origin:
        app.config["WECHAT_SANDBOX_BASE"] = f"{origin}/sandbox/wechat"
        app.config["WECHAT_SANDBOX_CALLBACK_URL"] = f"{origin}/wechat/callback"
        yield origin


def mass(office: Office, priority: str = "normal", title: str = TITLE, **fields: Any) -> dict[str, Any]:
    return office.approved(channels=["portal", "wechat"], wechat_mode="mass_send", priority=priority, title=title,
                           **fields)


def wechat_delivery(app: Flask, statement_id: int) -> Delivery:
    with app.app_context():
        d = db.session.scalar(select(Delivery).where(Delivery.statement_id == statement_id,
                                                     Delivery.channel == "wechat"))
        assert d is not None
        db.session.expunge(d)
        return d


def fill_period(app: Flask, used: int | None = None) -> None:
    """The current period with `used` mass sends counted (default: all of them)."""
    with app.app_context():
        start, end = quota.period_bounds(utcnow())
        limit = quota.period_limit()
        db.session.add(MassPeriod(start=start, end=end, used=limit if used is None else used, limit=limit))
        db.session.commit()


def statement_of(office: Office, statement_id: int) -> dict[str, Any]:
    resp = office.drafter.get(f"/statements/{statement_id}")
    assert resp.status_code == 200
    return resp.get_json()


def wechat_of(office: Office, statement_id: int) -> dict[str, Any]:
    return next(d for d in statement_of(office, statement_id)["deliveries"] if d["channel"] == "wechat")


def settle(app: Flask, office: Office, statement_id: int, want: str = "published", seconds: float = 30
           ) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        drain(app)
        found = wechat_of(office, statement_id)
        if found["state"] == want and not (want == "pending" and not found["waiting_for_quota"]):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.2)


# --- allocation by priority ------------------------------------------------------------------------


@pytest.mark.parametrize("account_type", ["subscription", "service"])
@pytest.mark.parametrize("left", [True, False], ids=["slot-left", "no-slot"])
@pytest.mark.parametrize("priority", ["urgent", "high", "normal", "low"])
def test_allocation_by_priority(app: Flask, office: Office, account_type: str, left: bool, priority: str) -> None:
    app.config["WECHAT_ACCOUNT_TYPE"] = account_type
    with app.app_context():
        limit = quota.period_limit()
    assert limit == {"subscription": 1, "service": 4}[account_type]
    fill_period(app, limit - 1 if left else limit)
    st = mass(office, priority)
    d = wechat_delivery(app, st["id"])
    with app.app_context():
        got = quota.allocate(d.id, st["id"], priority, utcnow())
        start, end = quota.period_bounds(utcnow())
        used = db.session.scalar(select(MassPeriod.used).where(MassPeriod.start == start))
    if left:
        assert got == quota.Bundled(got.mass_send_id, 1) and used == limit  # type: ignore[union-attr]
    elif priority in ("urgent", "high"):
        assert got == quota.NoSlot() and used == limit
    else:
        assert got == quota.Waiting(end) and used == limit


def test_periods_are_shanghai_days_and_months(app: Flask) -> None:
    late = datetime(2027, 1, 31, 15, 59, 59, tzinfo=UTC)  # 23:59:59 in Shanghai
    with app.app_context():
        app.config["WECHAT_ACCOUNT_TYPE"] = "subscription"
        start, end = quota.period_bounds(late)
        assert start.astimezone(SHANGHAI).isoformat() == "2027-01-31T00:00:00+08:00"
        assert end == late + timedelta(seconds=1)
        app.config["WECHAT_ACCOUNT_TYPE"] = "service"
        start, end = quota.period_bounds(late)
        assert (start.astimezone(SHANGHAI).date().isoformat(), end.astimezone(SHANGHAI).date().isoformat()) == (
            "2027-01-01", "2027-02-01")


def test_a_mass_send_needs_the_wechat_channel(app: Flask, office: Office) -> None:
    resp = office.drafter.post("/statements", {"title": TITLE, "body": "经核实，网传信息不实。", "channels": ["portal"],
                                               "wechat_mode": "mass_send"})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "invalid" and "wechat_mode" in resp.get_json()["error"]["fields"]
    resp = office.drafter.post("/statements", {"title": TITLE, "body": "经核实。", "wechat_mode": "push"})
    assert resp.status_code == 400 and "wechat_mode" in resp.get_json()["error"]["fields"]


def test_a_mass_send_needs_an_account_with_wechat(app: Flask, office: Office) -> None:
    app.config["WECHAT_SANDBOX"] = False
    resp = office.drafter.post("/statements", {"title": TITLE, "body": "经核实。", "wechat_mode": "mass_send"})
    assert resp.status_code == 400 and "wechat_mode" in resp.get_json()["error"]["fields"]


def test_two_workers_at_midnight_make_one_mass_send(app: Flask, office: Office) -> None:
    fill_period(app)
    ids = [mass(office, "normal", title=f"回应{i}")["id"] for i in range(3)]
    for statement_id in ids:
        d = wechat_delivery(app, statement_id)
        with app.app_context():
            assert isinstance(quota.allocate(d.id, statement_id, "normal", utcnow()), quota.Waiting)
    with app.app_context():
        _start, end = quota.period_bounds(utcnow())
    made: list[int | None] = []

    def worker() -> None:
        with app.app_context():
            made.append(quota.open_period())

    with time_machine.travel(end + timedelta(seconds=1), tick=True):
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(MassSend)) == 1
            rows = db.session.execute(select(MassItem.statement_id, MassItem.article_idx)
                                      .order_by(MassItem.article_idx)).all()
    assert sorted(m for m in made if m is not None) == [1] or len([m for m in made if m]) == 1
    assert [tuple(r) for r in rows] == [(ids[0], 1), (ids[1], 2), (ids[2], 3)]


# --- through the worker and the sandbox ------------------------------------------------------------


def test_a_mass_send_is_pushed_once_and_spends_the_quota(app: Flask, office: Office, live: str) -> None:
    st = mass(office, "normal")
    out = settle(app, office, st["id"])
    assert out["mode"] == "mass_send" and out["msg_id"] and out["article_idx"] == 1
    assert out["sent_count"] and out["total_count"] and out["url"] and "mid=" in out["url"]
    assert out["msg_data_id"] and out["waiting_for_quota"] is False
    now = office.office.get("/wechat/quota").get_json()
    assert (now["used"], now["limit"], now["waiting"], now["account_type"]) == (1, 1, [], "subscription")
    assert statement_of(office, st["id"])["status"] == "published"


def test_an_urgent_one_without_a_slot_is_published_and_office_told_why(app: Flask, office: Office,
                                                                        live: str) -> None:
    first = mass(office, "normal", title="第一条群发")
    settle(app, office, first["id"])
    urgent = mass(office, "urgent", title="紧急回应")
    out = settle(app, office, urgent["id"])
    assert out["mode"] == "publish" and out["msg_id"] is None and out["url"]
    with app.app_context():
        told = db.session.scalars(select(Notification).where(Notification.kind == "wechat_quota_spent")).all()
    assert told and all("第一条群发" in n.body and f"#{first['id']}" in n.body for n in told)


def test_normal_ones_wait_and_go_together_when_the_period_opens(app: Flask, office: Office, live: str) -> None:
    fill_period(app)
    ids = [mass(office, p, title=t)["id"] for p, t in (("low", "低优先级"), ("normal", "普通一"),
                                                       ("normal", "普通二"))]
    for statement_id in ids:
        waiting = settle(app, office, statement_id, want="pending")
        assert waiting["waiting_for_quota"] is True
        assert statement_of(office, statement_id)["status"] == "publishing"
    assert office.office.get("/wechat/quota").get_json()["waiting"] == [ids[1], ids[2], ids[0]]
    with app.app_context():
        _start, end = quota.period_bounds(utcnow())
    with time_machine.travel(end + timedelta(seconds=2), tick=True):
        with app.app_context():
            assert quota.open_period() is not None
        outs = [settle(app, office, i) for i in ids]
        assert len({o["msg_id"] for o in outs}) == 1
        assert [o["article_idx"] for o in outs] == [3, 1, 2]  # priority first, then approval time
        assert len({o["url"] for o in outs}) == 3
        # every article reads back as approved, at its own URL
        deadline = time.monotonic() + 30
        while any((wechat_of(office, i).get("readback") or {}).get("state") != "match" for i in ids):
            assert time.monotonic() < deadline, [wechat_of(office, i).get("readback") for i in ids]
            drain(app)
            time.sleep(0.2)
        # retracting the second article deletes it alone
        second = ids[2]
        assert office.leader.post(f"/statements/{second}/retract", {"reason": "表述需调整"}).status_code == 200
        settle(app, office, second, want="retracted")
        viewer = app.test_client()
        pages = {o["article_idx"]: viewer.get("/sandbox/wechat" + o["url"].split("/sandbox/wechat", 1)[1]).status_code
                 for o in outs}
        assert pages == {1: 200, 2: 410, 3: 200}, pages


def test_a_retraction_while_waiting_never_sends(app: Flask, office: Office, live: str) -> None:
    fill_period(app)
    st = mass(office, "normal")
    settle(app, office, st["id"], want="pending")
    resp = office.leader.post(f"/statements/{st['id']}/retract", {"reason": "情况已变化"})
    assert resp.status_code == 200
    drain(app)
    with app.app_context():
        _start, end = quota.period_bounds(utcnow())
    with time_machine.travel(end + timedelta(seconds=2), tick=True):
        with app.app_context():
            assert quota.open_period() is None
        drain(app)
    assert wechat_of(office, st["id"])["state"] == "retracted"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MassSend)) == 0


def test_a_waiting_one_switched_to_publish_goes_out_freely(app: Flask, office: Office, live: str) -> None:
    fill_period(app)
    st = mass(office, "normal")
    settle(app, office, st["id"], want="pending")
    web = login(app, office.leader.user.username)
    live_block = web.get(f"/statements/{st['id']}/live").get_json()
    assert live_block["in_flight"] is True and live_block["poll_seconds"] == 60  # waiting hours: once a minute
    assert office.expert.post(f"/statements/{st['id']}/wechat-mode", {"wechat_mode": "publish"}).status_code == 403
    bad = office.leader.post(f"/statements/{st['id']}/wechat-mode", {"wechat_mode": "mass_send"})
    assert bad.status_code == 400
    resp = office.leader.post(f"/statements/{st['id']}/wechat-mode", {"wechat_mode": "publish"})
    assert resp.status_code == 200 and resp.get_json()["wechat_mode"] == "publish"
    out = settle(app, office, st["id"])
    assert out["mode"] == "publish" and out["url"]
    again = office.leader.post(f"/statements/{st['id']}/wechat-mode", {"wechat_mode": "publish"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "wrong_state"


def test_a_worker_dying_after_sendall_does_not_push_twice(app: Flask, office: Office, live: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    real = quota.accepted
    died: list[str] = []

    def die_once(mass_send_id: int, msg_id: str, msg_data_id: str | None) -> Any:
        if not died:
            died.append(msg_id)
            raise SystemExit("killed between sendall and recording its answer")
        return real(mass_send_id, msg_id, msg_data_id)

    monkeypatch.setattr(quota, "accepted", die_once)
    st = mass(office, "normal")
    try:
        drain(app)  # the job dies; whether RQ reports it or lets it through, the row says what happened
    except SystemExit:
        pass
    assert died
    with app.app_context():
        db.session.rollback()
        mass_row = db.session.scalars(select(MassSend)).one()
        assert mass_row.state == "submitting" and mass_row.msg_id is None
        # the lease of the dead worker runs out
        db.session.execute(db.update(Delivery).where(Delivery.statement_id == st["id"], Delivery.channel == "wechat")
                           .values(lease_until=utcnow() - timedelta(seconds=1)))
        db.session.execute(db.update(MassSend).values(driver_until=None))
        db.session.commit()
        from publishing import outbox
        outbox.sweep()
    with time_machine.travel(utcnow() + timedelta(seconds=62), tick=True):  # WeChat: 45066 within a minute
        out = settle(app, office, st["id"])
    assert out["msg_id"] == died[0]  # the retry's 45065 answer named the first push
    with app.app_context():
        assert quota.status().used == 1


def test_wechat_answering_no_quota_corrects_the_count(app: Flask, office: Office, live: str) -> None:
    """The account spent the day's mass send from the WeChat console: our count said one was left."""
    from wechat import client

    with app.app_context():
        api = client.from_app()
        media = api.draft.add([{"title": "公众平台上直接群发", "content": "<p>x</p>", "thumb_media_id": _cover(api)}])
        api.post("message/mass/sendall", data={"filter": {"is_to_all": True}, "mpnews": {"media_id": media["media_id"]},
                                               "msgtype": "mpnews", "clientmsgid": "console-1"})
    normal = mass(office, "normal", title="普通回应")
    waiting = settle(app, office, normal["id"], want="pending")
    assert waiting["waiting_for_quota"] is True
    with app.app_context():
        assert quota.status().used == 1
        period = db.session.scalars(select(MassPeriod)).one()
        assert period.spent_elsewhere_at is not None
    high = mass(office, "high", title="重要回应")
    assert settle(app, office, high["id"])["mode"] == "publish"


def _cover(api: Any) -> str:
    from tests.wechat.test_client import png

    return api.add_image_material(png(), "c.png", "image/png")["media_id"]


# --- previews ------------------------------------------------------------------------------------


def test_a_preview_reaches_a_phone_is_counted_and_never_published(app: Flask, office: Office, live: str) -> None:
    st = office.submitted(channels=["portal", "wechat"], wechat_mode="mass_send")
    resp = office.expert.post(f"/statements/{st['id']}/wechat-preview", {})
    assert resp.status_code == 400 and "towxname" in resp.get_json()["error"]["fields"]
    resp = office.expert.post(f"/statements/{st['id']}/wechat-preview", {"towxname": "wang_ming_1980"})
    assert resp.status_code == 202, resp.get_json()
    assert resp.get_json()["used_today"] == 1 and resp.get_json()["limit"] == 100
    other = Office(app, "QTS")
    stranger = other.expert.post(f"/statements/{st['id']}/wechat-preview", {"towxname": "zhang_san_88"})
    assert stranger.status_code in (403, 404)
    assert office.expert2.post(f"/statements/{st['id']}/wechat-preview", {"towxname": "li_hua_2026"}).status_code == 202
    with app.app_context():
        assert quota.status().used == 0
        assert db.session.scalar(select(func.count()).select_from(MassSend)) == 0
    assert statement_of(office, st["id"])["status"] == "in_review"


def test_previews_beyond_100_a_day_are_refused(app: Flask, office: Office, live: str) -> None:
    st = office.submitted(channels=["portal", "wechat"])
    with app.app_context():
        row = db.session.get(Statement, st["id"])
        assert row is not None and row.current_revision_id is not None
        for _i in range(100):
            db.session.add(Preview(statement_id=st["id"], revision_id=row.current_revision_id,
                                   user_id=row.author_id, towxname="x", at=utcnow()))
        db.session.commit()
    resp = office.expert.post(f"/statements/{st['id']}/wechat-preview", {"towxname": "wang_ming_1980"})
    assert resp.status_code == 429 and resp.get_json()["error"]["code"] == "rate_limited"


@pytest.fixture
def workers(app: Flask, database_url: str, tmp_path: Any) -> Iterator[Workers]:
    pool = Workers(database_url, tmp_path, None)
    try:
        yield pool
    finally:
        pool.stop_all()
        print(pool.logs())


@pytest.mark.slow
def test_kill_9_between_sendall_and_its_commit_pushes_once(app: Flask, office: Office, live: str,
                                                          workers: Workers, database_url: str) -> None:
    """A real worker is killed while WeChat has accepted the mass send but not yet answered (the sandbox's
    delay fault answers after the work is done); the next worker repeats the call with the same clientmsgid and
    WeChat's 45065 settles it: one push. On PostgreSQL only (a minute of it is WeChat's 45066 pause; the
    database part is also covered on both backends by the test above)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a minute long and backend-independent beyond the test above: PostgreSQL only (time budget)")
    sandbox = Sandbox.on(app, app.config["WECHAT_SANDBOX_BASE"])
    sandbox.fault(path="message/mass/sendall", mode="delay", seconds=30)
    env = {"WECHAT_SANDBOX_BASE": app.config["WECHAT_SANDBOX_BASE"], "HUIYING_INSTANCE": os.environ["HUIYING_INSTANCE"],
           "WECHAT_SANDBOX_CALLBACK_URL": app.config["WECHAT_SANDBOX_CALLBACK_URL"]}
    st = mass(office, "normal")
    first = workers.start(env=env)

    def submitted() -> bool:
        with app.app_context():
            return (db.session.scalar(select(MassSend.state)) == "submitting"
                    and len(sandbox.calls("message/mass/sendall")) == 1)

    workers.wait("the sendall to reach WeChat", submitted, timeout=60)
    first.kill()
    workers.start(env=env)
    workers.wait("the statement to be published", lambda: wechat_of(office, st["id"])["state"] == "published",
                 timeout=150)
    answers = [c["errcode"] for c in sandbox.calls("message/mass/sendall")]
    assert answers[0] == 0 and answers[-1] == 45065 and 0 not in answers[1:]  # recognised, never sent again
    with app.app_context():
        assert quota.status().used == 1


def test_a_mass_send_unconfirmed_on_a_phone_tells_office_then_fails(app: Flask, office: Office, live: str) -> None:
    """群发保护: WeChat holds the job until an admin confirms on a phone."""
    app.config["WECHAT_SANDBOX_MASS_PROTECTION"] = True
    st = mass(office, "normal")
    for _ in range(5):
        drain(app)
    with app.app_context():
        assert db.session.scalar(select(MassSend.state)) == "sending"

    def unconfirmed_notices() -> list[Notification]:
        with app.app_context():
            return list(db.session.scalars(select(Notification).where(Notification.kind == "wechat_mass_unconfirmed")))

    assert unconfirmed_notices() == []
    with time_machine.travel(utcnow() + timedelta(minutes=11), tick=True):
        deadline = time.monotonic() + 20
        while not unconfirmed_notices():
            assert time.monotonic() < deadline
            drain(app)
            time.sleep(0.2)
    told = unconfirmed_notices()
    assert told and all("请在手机上确认群发" in n.subject for n in told)
    with time_machine.travel(utcnow() + timedelta(minutes=31), tick=True):
        failed = settle(app, office, st["id"], want="failed", seconds=20)
    assert "30 分钟内未在手机上确认" in failed["last_error"]
    assert len(unconfirmed_notices()) == len(told)  # told once
