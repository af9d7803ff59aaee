"""The leader's preview is what goes out (issue 27, item 6): the byline each channel prints, the WeChat cover
the channel uploads, and the case the statement answers, named and linked on the statement page."""

from __future__ import annotations

import io
import re

from flask import Flask
from PIL import Image

from tests.factories import Api, Office, user
from tests.review.test_preview import element
from tests.review.test_web import Browser


def png(size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (30, 120, 60)).save(buf, "PNG")
    return buf.getvalue()


def at_leader(office: Office, drafter: Api, **fields: object) -> dict:
    resp = drafter.post("/statements", {"title": "关于网传小麦品种问题的回应", "digest": "情况说明",
                                        "body": "经核实，网传信息不实。", **fields})
    assert resp.status_code == 201, resp.get_json()
    st = resp.get_json()
    assert drafter.post(f"/statements/{st['id']}/submit").status_code == 200
    assert office.review(office.expert, st, "expert").status_code == 201
    return st


def test_the_leaders_preview_shows_the_byline_and_the_cover_that_go_out(app: Flask) -> None:
    office = Office(app, "ZBS")
    drafter = Api(app, user(app, office.unit, "drafter", username="李明"))
    image = drafter.client.post("/api/v1/images", headers=drafter.headers, content_type="multipart/form-data",
                                data={"file": (io.BytesIO(png((940, 400))), "田间.png")}).get_json()["url"]
    st = at_leader(office, drafter, body=f"经核实，网传信息不实。\n\n![田间照片]({image})")
    preview = element(Browser(app, office.leader.user.username).get(f"/statements/{st['id']}"), "channel-preview")
    portal, wechat = element_split(preview)
    assert "发言人 李明" in portal, "the portal page names the speaker"
    assert re.search(r'class="cp-wx-author"[^>]*>\s*李明\s*<', wechat), "WeChat prints the author field"
    # the cover is the body's first image, shown cropped as WeChat crops it: the list's 2.35:1, the card's square
    assert re.search(rf'<img[^>]*class="cp-cover"[^>]*src="{re.escape(image)}"', wechat)
    assert re.search(rf'<img[^>]*class="cp-share-thumb"[^>]*src="{re.escape(image)}"', wechat)


def test_without_a_picture_the_preview_shows_the_plain_cover_and_a_long_name_gives_way_to_the_unit(
        app: Flask) -> None:
    office = Office(app, "ZBS")
    drafter = Api(app, user(app, office.unit, "drafter", username="欧阳明月新闻发言人甲"))  # 10 > WeChat's 8
    st = at_leader(office, drafter)
    leader = Browser(app, office.leader.user.username)
    portal, wechat = element_split(element(leader.get(f"/statements/{st['id']}"), "channel-preview"))
    assert "发言人 欧阳明月新闻发言人甲" in portal
    assert re.search(r'class="cp-wx-author"[^>]*>\s*单位ZBS\s*<', wechat), "the unit, as the channel sends it"
    cover = re.search(r'<img[^>]*class="cp-cover"[^>]*src="([^"]+)"', wechat)
    assert cover is not None
    got = leader.get(cover.group(1))
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(got.data)).size == (900, 383)


def test_the_statement_page_names_and_links_the_case_it_answers(app: Flask) -> None:
    office = Office(app, "ZBS")
    case = office.office.post("/cases", {"title": "网传某品种小麦种子发芽率低", "source": "weibo",
                                         "units": ["ZBS"]}).get_json()
    st = office.draft(case_ids=[case["id"]])
    page = Browser(app, office.leader.user.username).get(f"/statements/{st['id']}").get_data(as_text=True)
    assert re.search(rf'<a href="/cases/{case["id"]}">[^<]*网传某品种小麦种子发芽率低</a>', page)


def element_split(preview: str) -> tuple[str, str]:
    """The portal pane and the WeChat pane of a channel preview."""
    portal, wechat = preview.split('id="cp-wechat"', 1)
    return portal, wechat
