"""Evidence for agency confirmations (the document recording the other body's agreement) and the agency list."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from PIL import Image

from tests.factories import Api, Office, user
from tests.review.test_preview import element
from tests.review.test_web import Browser, text

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


def upload(api: Api, data: bytes, name: str) -> Any:
    return api.client.post("/api/v1/evidence", headers=api.headers,
                           data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def at_agency_stage(office: Office) -> dict[str, Any]:
    st = office.submitted(agencies=["河南省农业农村厅"])
    assert office.review(office.expert, st, "expert").status_code == 201
    return st


def test_evidence_is_checked_by_content(office: Office) -> None:
    resp = upload(office.drafter, PDF, "复函.pdf")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["mime"] == "application/pdf" and resp.get_json()["name"] == "复函.pdf"
    assert upload(office.drafter, png(), "签字页.png").get_json()["mime"] == "image/png"
    for data, name in ((b"MZ\x90\x00 not a document", "复函.pdf"), (b"%PDF-1.4 cut short", "半截.pdf"),
                       (b"<html><script>alert(1)</script>", "page.png"), (b"", "empty.pdf")):
        resp = upload(office.drafter, data, name)
        assert resp.status_code == 400 and "file" in resp.get_json()["error"]["fields"], name
    resp = upload(office.drafter, PDF[:-7] + b" " * (5 * 1024 * 1024) + b"%%EOF\n", "big.pdf")
    assert resp.status_code == 413
    # a path in the name never becomes a path
    assert upload(office.drafter, PDF + b"\n", "../../etc/passwd.pdf").get_json()["name"] == "passwd.pdf"
    assert upload(office.expert, PDF, "复函.pdf").status_code == 403, "experts record no confirmations"


def test_a_confirmation_carries_its_evidence_for_those_who_may_see_it(app: Flask, office: Office) -> None:
    st = at_agency_stage(office)
    sha = upload(office.drafter, PDF, "省厅复函.pdf").get_json()["sha256"]
    resp = office.drafter.post(f"/statements/{st['id']}/confirmations", {
        "revision_hash": st["revision"]["hash"], "agency": "河南省农业农村厅", "contact": "张科长",
        "method": "document", "evidence": "0" * 64})
    assert resp.status_code == 400 and "evidence" in resp.get_json()["error"]["fields"]
    resp = office.drafter.post(f"/statements/{st['id']}/confirmations", {
        "revision_hash": st["revision"]["hash"], "agency": "河南省农业农村厅", "contact": "张科长",
        "method": "document", "evidence": sha})
    assert resp.status_code == 201, resp.get_json()
    evidence = resp.get_json()["confirmations"][0]["evidence"]
    assert evidence["sha256"] == sha and evidence["name"] == "省厅复函.pdf"
    url = evidence["url"]

    leader = Browser(app, office.leader.user.username)
    got = leader.get(url)
    assert got.status_code == 200 and got.data == PDF and got.mimetype == "application/pdf"
    assert "no-store" in got.headers["Cache-Control"] and got.headers["X-Content-Type-Options"] == "nosniff"
    page = leader.get(f"/statements/{st['id']}")
    assert "省厅复函.pdf" in element(page, "release-plan"), "the leader sees the evidence above the buttons"
    assert "省厅复函.pdf" in element(page, "confirmations")

    other = Office(app, "NJS")
    assert Browser(app, other.drafter.user.username).get(url).status_code == 403
    assert app.test_client().get(url).status_code in (302, 401)
    # only a document some confirmation of this statement names is served here
    second = office.draft()
    assert leader.get(f"/statements/{second['id']}/evidence/{sha}.pdf").status_code == 404


def test_the_confirmation_form_uploads_the_document(app: Flask, office: Office) -> None:
    st = at_agency_stage(office)
    web = Browser(app, office.drafter.user.username)
    page = web.get(f"/statements/{st['id']}")
    form = element(page, "confirm")
    assert 'enctype="multipart/form-data"' in form and 'name="evidence_file"' in form
    resp = web.post(f"/statements/{st['id']}/confirmations", {
        "revision_hash": st["revision"]["hash"], "agency": "河南省农业农村厅", "contact": "张科长",
        "method": "document", "note": "", "evidence_file": (io.BytesIO(b"not a pdf"), "复函.pdf")},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    again = web.get(f"/statements/{st['id']}")
    assert again.status_code == 400 and "只支持 PDF" in text(again)
    resp = web.post(f"/statements/{st['id']}/confirmations", {
        "revision_hash": st["revision"]["hash"], "agency": "河南省农业农村厅", "contact": "张科长",
        "method": "document", "note": "复函已存档", "evidence_file": (io.BytesIO(png()), "签字页.png")},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    stored = office.drafter.get(f"/statements/{st['id']}").get_json()
    assert stored["confirmations"][0]["evidence"]["mime"] == "image/png"
    assert "签字页.png" in text(web.get(f"/statements/{st['id']}"))


def test_agencies_come_from_a_maintained_list_with_free_text_beside_it(app: Flask, office: Office) -> None:
    admin = Api(app, user(app, office.office_unit, "admin"))
    resp = admin.put("/terms", {"agencies": ["河南省农业农村厅", "河南省市场监督管理局"]})
    assert resp.status_code == 200 and resp.get_json()["agencies"] == ["河南省农业农村厅", "河南省市场监督管理局"]
    assert resp.get_json()["rechecked"] == 0, "the agency list does not re-run the checks"
    page = text(Browser(app, office.drafter.user.username).get("/statements/new"))
    assert 'data-agency="河南省农业农村厅"' in page and 'data-agency="河南省市场监督管理局"' in page
    assert 'id="agencies"' in page, "free text stays possible"
    st = office.draft(agencies=["河南省农业农村厅", "某县农业农村局"])
    assert st["agencies"] == ["河南省农业农村厅", "某县农业农村局"]
