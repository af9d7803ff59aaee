"""The WeChat channel against the live sandbox: draft, one submit, the outcome, retraction."""

from __future__ import annotations

import io
import random
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from PIL import Image

from app.extensions import db
from app.models import User
from app.timeutil import utcnow
from publishing.channels import Dispatch, PermanentError, Published, TransientError, Wait
from review.media import save_image
from tests import factories
from tests.live import serving
from tests.publishing.helpers import deliveries, drain
from tests.wechat.test_client import Sandbox, png
from wechat import client as wechat_client
from wechat import images
from wechat.channel import WechatChannel

PORTAL_URL = "http://huiying.test/releases/7"
BODY = "经核实，网传信息不实。\n\n![田间照片]({image})\n\n详见[农业农村部通报](https://www.moa.gov.cn/notice)。"


@pytest.fixture
def live(app: Flask) -> Iterator[Sandbox]:
    """The whole app on a loopback port; the channel's client talks to its sandbox."""
    with serving(app) as origin:
        app.config["WECHAT_SANDBOX_BASE"] = f"{origin}/sandbox/wechat"
        yield Sandbox.on(app, app.config["WECHAT_SANDBOX_BASE"])


@pytest.fixture
def ctx(app: Flask, live: Sandbox) -> Iterator[None]:
    with app.app_context():
        yield


@pytest.fixture
def uploader(app: Flask) -> int:
    code = factories.unit(app, "ZBS", "作物科学研究所")
    return factories.user(app, code, "drafter").id


def upload(uploader: int, data: bytes) -> str:
    """Store an image as the API would; its /media/ URL."""
    return save_image(db.session.get(User, uploader), data).url


class Delivery:
    """What the outbox keeps of one delivery's data, and the Dispatch each attempt would see."""

    def __init__(self, **fields: Any) -> None:
        self.data: dict[str, Any] = {}
        self.fields = {
            "delivery_id": 1, "statement_id": 7, "channel": "wechat", "delivery_key": "k-1",
            "title": "关于网传小麦品种问题的回应", "digest": "情况说明", "body": "经核实，网传信息不实。",
            "revision_hash": "0" * 64, "unit_code": "ZBS", "unit_name": "作物科学研究所", "speaker": "王明",
            "approved_at": utcnow(), "go_live_at": utcnow(), "portal_url": PORTAL_URL, "unit_cover": None,
            **fields,
        }

    def attempt(self) -> Dispatch:
        return Dispatch(**self.fields, data=dict(self.data), remember=self.data.update)


def publish_until_out(channel: WechatChannel, delivery: Delivery, seconds: float = 10) -> Published:
    deadline = time.monotonic() + seconds
    while True:
        outcome = channel.publish(delivery.attempt())
        if isinstance(outcome, Published):
            return outcome
        assert isinstance(outcome, Wait) and 0 < outcome.seconds <= 30
        assert time.monotonic() < deadline, "still waiting"
        time.sleep(0.2)


def api_call(path: str, body: dict[str, Any]) -> dict[str, Any]:
    return wechat_client.from_app().post(path, data=body)


def test_a_statement_goes_out_with_its_image_and_link(ctx: None, live: Sandbox, uploader: int) -> None:
    image = upload(uploader, png((40, 30)))
    delivery = Delivery(body=BODY.format(image=image))
    channel = WechatChannel()

    channel.stage(delivery.attempt())
    assert live.paths() == ["stable_token", "media/uploadimg", "material/add_material", "draft/add"]
    assert delivery.data["media_id"] and delivery.data["thumb_media_id"]

    first = channel.publish(delivery.attempt())
    assert first == Wait(1) and delivery.data["publish_id"]
    published = publish_until_out(channel, delivery)
    article_id = published.external_id
    assert published.url == f"{live.base}/articles/{article_id}"
    assert published.details == {"article_id": article_id, "publish_id": delivery.data["publish_id"]}
    assert len(live.calls("freepublish/submit")) == 1

    (item,) = api_call("freepublish/getarticle", {"article_id": article_id})["news_item"]
    assert item["title"] == "关于网传小麦品种问题的回应" and item["digest"] == "情况说明"
    assert item["author"] == "王明" and item["content_source_url"] == PORTAL_URL
    assert "/media/" + image.rsplit("/", 1)[1] not in item["content"]
    assert f'src="{live.base}/media/' in item["content"]
    assert "[1] https://www.moa.gov.cn/notice" in item["content"] and "<a " not in item["content"]
    assert item["thumb_url"].startswith(f"{live.base}/media/")


def test_staging_twice_makes_one_draft_and_images_upload_once(ctx: None, live: Sandbox, uploader: int) -> None:
    image = upload(uploader, png((40, 30)))
    channel = WechatChannel()
    first = Delivery(body=BODY.format(image=image))
    channel.stage(first.attempt())
    channel.stage(first.attempt())
    other = Delivery(statement_id=8, portal_url="http://huiying.test/releases/8", body=f"另一份。\n\n![图]({image})")
    channel.stage(other.attempt())
    assert live.paths().count("draft/add") == 2
    assert live.paths().count("media/uploadimg") == 1
    assert live.paths().count("material/add_material") == 1
    assert first.data["media_id"] != other.data["media_id"]


def test_cover_is_the_units_image_else_a_plain_one(ctx: None, live: Sandbox, uploader: int) -> None:
    cover = upload(uploader, png((90, 38), (200, 10, 10)))
    channel = WechatChannel()
    with_unit_cover = Delivery(unit_cover=cover[len("/media/"):-len(".png")])
    channel.stage(with_unit_cover.attempt())
    plain = Delivery(statement_id=8, portal_url="http://huiying.test/releases/8")
    channel.stage(plain.attempt())
    assert live.paths().count("material/add_material") == 2 and "media/uploadimg" not in live.paths()
    thumbs = [api_call("draft/get", {"media_id": d.data["media_id"]})["news_item"][0]["thumb_url"]
              for d in (with_unit_cover, plain)]
    fetched = [Image.open(io.BytesIO(wechat_client.from_app()._http.get(url, timeout=5).content)) for url in thumbs]
    assert fetched[0].size == (90, 38)
    assert fetched[1].size == images.COVER_SIZE and fetched[1].format == "JPEG"


def test_gif_and_webp_are_converted_for_wechat(ctx: None, live: Sandbox, uploader: int) -> None:
    sources = []
    for fmt in ("GIF", "WEBP"):
        out = io.BytesIO()
        Image.new("RGBA" if fmt == "WEBP" else "RGB", (20, 20), (0, 120, 200, 128)).save(out, format=fmt)
        sources.append(upload(uploader, out.getvalue()))
    delivery = Delivery(body="\n\n".join(f"![图]({src})" for src in sources))
    WechatChannel().stage(delivery.attempt())
    assert [c["errcode"] for c in live.calls("media/uploadimg")] == [0, 0]


def test_images_too_large_for_wechat_are_reencoded_under_1_mb() -> None:
    noisy = Image.frombytes("RGB", (1200, 800), random.Random(7).randbytes(1200 * 800 * 3))
    out = io.BytesIO()
    noisy.save(out, format="PNG")
    assert len(out.getvalue()) > images.MAX_BYTES
    data, ext = images.for_wechat(out.getvalue())
    assert ext == "jpg" and len(data) <= images.MAX_BYTES
    width, height = Image.open(io.BytesIO(data)).size
    assert width <= 1200 and abs(width / height - 1.5) < 0.01

    small = png()
    assert images.for_wechat(small) == (small, "png")


def test_over_long_title_fails_before_any_call(ctx: None, live: Sandbox, uploader: int) -> None:
    image = upload(uploader, png())
    delivery = Delivery(title="标" * 33, body=BODY.format(image=image))
    with pytest.raises(PermanentError) as caught:
        WechatChannel().stage(delivery.attempt())
    assert "32" in caught.value.reason and "33" in caught.value.reason
    with pytest.raises(PermanentError):
        WechatChannel().publish(delivery.attempt())
    assert live.calls() == [] and delivery.data == {}


@pytest.mark.parametrize("app_config", [{"WECHAT_TIMEOUT": 1}])
def test_a_lost_submit_answer_is_reconciled_never_resubmitted(ctx: None, live: Sandbox) -> None:
    delivery = Delivery()
    channel = WechatChannel()
    channel.stage(delivery.attempt())
    live.fault(path="freepublish/submit", mode="delay", seconds=3)
    with pytest.raises(TransientError):
        channel.publish(delivery.attempt())
    assert "publish_id" not in delivery.data and delivery.data["submit_started_at"]

    published = publish_until_out(channel, delivery)
    assert published.url == f"{live.base}/articles/{published.external_id}"
    assert len(live.calls("freepublish/submit")) == 1
    assert [c["errcode"] for c in live.calls("draft/get")][0] == 40007  # the draft was gone: it had been sent


def test_a_submit_that_never_arrived_is_sent_once_more(ctx: None, live: Sandbox) -> None:
    delivery = Delivery()
    channel = WechatChannel()
    channel.stage(delivery.attempt())
    live.fault(path="freepublish/submit", mode="http500")
    with pytest.raises(TransientError):
        channel.publish(delivery.attempt())
    publish_until_out(channel, delivery)
    assert [c["status"] for c in live.calls("freepublish/submit")] == [500, 200]
    assert [c["errcode"] for c in live.calls("draft/get")] == [0]  # still in the box: safe to submit


def test_an_unconfirmable_submit_goes_to_a_person(ctx: None, live: Sandbox) -> None:
    delivery = Delivery()
    delivery.data.update(media_id="a-draft-that-is-gone", thumb_media_id="t",
                         submit_started_at=(utcnow() - timedelta(hours=1)).isoformat())
    with pytest.raises(PermanentError) as caught:
        WechatChannel().publish(delivery.attempt())
    assert "无法确认微信是否已提交发布" in caught.value.reason and "人工核查" in caught.value.reason
    assert live.calls("freepublish/submit") == []
    assert delivery.data["media_id"] is None and delivery.data["unconfirmed_media_id"] == "a-draft-that-is-gone"


def test_a_stored_publish_id_is_only_ever_polled(ctx: None, live: Sandbox) -> None:
    delivery = Delivery()
    channel = WechatChannel()
    channel.stage(delivery.attempt())
    assert channel.publish(delivery.attempt()) == Wait(1)
    publish_id = delivery.data["publish_id"]
    for _ in range(3):
        channel.publish(delivery.attempt())
    publish_until_out(channel, delivery)
    assert delivery.data["publish_id"] == publish_id
    again = channel.publish(delivery.attempt())
    assert isinstance(again, Published)
    assert len(live.calls("freepublish/submit")) == 1


def test_polling_backs_off_up_to_30_seconds(ctx: None, live: Sandbox, app: Flask) -> None:
    app.config["WECHAT_SANDBOX_PUBLISH_DELAY"] = 60
    delivery = Delivery()
    channel = WechatChannel()
    channel.stage(delivery.attempt())
    waits = [channel.publish(delivery.attempt()).seconds for _ in range(8)]  # type: ignore[union-attr]
    assert waits == [1, 1, 2, 4, 8, 16, 30, 30]
    assert len(live.calls("freepublish/submit")) == 1


def test_a_rejected_publish_fails_with_its_reason(ctx: None, live: Sandbox) -> None:
    delivery = Delivery()
    channel = WechatChannel()
    channel.stage(delivery.attempt())
    live.fault(publish_status=4)
    with pytest.raises(PermanentError) as caught:
        publish_until_out(channel, delivery)
    assert caught.value.reason == "微信发布失败：平台审核不通过（状态 4）"
    # A retry by the office starts from a new draft instead of polling the dead job.
    assert delivery.data["media_id"] is None and delivery.data["publish_id"] is None
    publish_until_out(channel, delivery)
    assert len(live.calls("draft/add")) == 2 and len(live.calls("freepublish/submit")) == 2


def test_retract_deletes_the_article(ctx: None, live: Sandbox) -> None:
    delivery = Delivery()
    channel = WechatChannel()
    channel.stage(delivery.attempt())
    published = publish_until_out(channel, delivery)
    delivery.data.update(published.details)  # what the outbox keeps on success

    channel.retract(delivery.attempt())
    (item,) = api_call("freepublish/getarticle", {"article_id": published.external_id})["news_item"]
    assert item["is_deleted"] is True
    assert api_call("freepublish/batchget", {"offset": 0, "count": 20})["total_count"] == 0

    channel.retract(delivery.attempt())  # already gone is fine
    gone = Delivery()
    gone.data.update(article_id="no-such-article")
    channel.retract(gone.attempt())
    assert [c["errcode"] for c in live.calls("freepublish/delete")] == [0, 0, 53600]


def test_retract_of_a_staged_statement_deletes_its_draft(ctx: None, live: Sandbox) -> None:
    delivery = Delivery()
    channel = WechatChannel()
    channel.stage(delivery.attempt())
    channel.retract(delivery.attempt())
    assert api_call("draft/count", {}) == {"total_count": 0}
    assert live.calls("freepublish/delete") == []


# --- the real outbox: approval, worker, callback ----------------------------------------


def test_approval_publishes_to_wechat_through_the_worker(app: Flask, live: Sandbox) -> None:
    app.config["WECHAT_SANDBOX_CALLBACK_URL"] = live.base.replace("/sandbox/wechat", "/wechat/callback")
    office = factories.Office(app, "ZBS")
    answer = office.drafter.client.post("/api/v1/images", headers=office.drafter.headers,
                                        data={"file": (io.BytesIO(png((30, 20))), "photo.png")})
    assert answer.status_code == 201, answer.get_json()
    st = office.approved(channels=["portal", "wechat"], body=BODY.format(image=answer.get_json()["url"]))

    deadline = time.monotonic() + 15
    while deliveries(app, st["id"])["wechat"]["state"] != "published":
        assert time.monotonic() < deadline, deliveries(app, st["id"])["wechat"]["error"]
        drain(app)
        time.sleep(0.2)
    wechat = deliveries(app, st["id"])["wechat"]
    assert wechat["url"].startswith(f"{live.base}/articles/")
    assert wechat["error"] is None
    assert len(live.calls("freepublish/submit")) == 1
    st = office.drafter.get(f"/statements/{st['id']}").get_json()
    assert st["status"] == "published", st["deliveries"]
    (item,) = [d for d in st["deliveries"] if d["channel"] == "wechat"]
    assert item["external_id"] and item["url"] == wechat["url"]


def test_preview_shows_what_wechat_will_receive_before_upload(app: Flask) -> None:
    office = factories.Office(app, "ZBS")
    st = office.draft(body="经核实，网传信息**不实**。\n\n详见[通报](https://www.moa.gov.cn/notice)。")
    answer = office.drafter.get(f"/statements/{st['id']}/preview", query_string={"channel": "wechat"})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert html.startswith('<section style="') and "<strong style=" in html
    assert "[1] https://www.moa.gov.cn/notice" in html and "<a " not in html
