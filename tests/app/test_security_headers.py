"""Issue 28 #11: HSTS when the site is served over HTTPS, and no copy of a download of non-public data kept by
a browser or a proxy (`Cache-Control: no-store` on every export, document and file sent upward)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.timeutil import SHANGHAI
from reports import schedule
from reports.models import ReportFile, UpwardReport
from tests.cases.helpers import Cast
from tests.publishing.test_pages import login
from tests.reports.test_upward import post

HSTS = "Strict-Transport-Security"


@pytest.fixture
def app_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Per test, through indirect parametrization: what the deployment sets."""
    return dict(getattr(request, "param", {}))


def test_no_hsts_on_plain_http_development(app: Flask) -> None:
    for path in ("/login", "/api/v1/ledger", "/healthz"):
        resp = app.test_client().get(path, base_url="http://localhost:5000")
        assert HSTS not in resp.headers, path


def test_hsts_on_every_answer_over_https(app: Flask) -> None:
    for path in ("/login", "/api/v1/ledger", "/releases"):
        resp = app.test_client().get(path, base_url="https://xxgk.example.gov.cn")
        value = resp.headers.get(HSTS, "")
        assert value.startswith("max-age=") and int(value.split("=")[1].split(";")[0]) >= 31536000, (path, value)


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 1}], indirect=True)
def test_hsts_behind_the_documented_nginx(app: Flask) -> None:
    """nginx terminates TLS and says so in X-Forwarded-Proto; plain HTTP through it gets none."""
    web = app.test_client()
    assert HSTS in web.get("/login", headers={"X-Forwarded-Proto": "https"}).headers
    assert HSTS not in web.get("/login", headers={"X-Forwarded-Proto": "http"}).headers


@pytest.mark.parametrize("app_config", [{"SESSION_COOKIE_SECURE": True}], indirect=True)
def test_hsts_when_the_deployment_says_it_is_https_only(app: Flask) -> None:
    """SESSION_COOKIE_SECURE=true means the site is served over HTTPS, even when the proxy is not believed."""
    assert HSTS in app.test_client().get("/login", base_url="http://xxgk.example.gov.cn").headers


def no_store(resp: Any) -> bool:
    directives = {d.strip() for d in resp.headers.get("Cache-Control", "").split(",")}
    return resp.status_code == 200 and "no-store" in directives and "public" not in directives


def test_every_download_of_non_public_data_is_not_stored(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("handling")
    office = login(app, "office")
    downloads = {
        "register export": cast.office.get("/cases/export.xlsx"),
        "case report": cast.office.get(f"/cases/{case['id']}/report.docx"),
        "audit trail": cast.admin.get("/audit.csv"),
        "bulletin": office.get("/reports/bulletin.docx"),
        "daily log": office.get("/reports/log.docx"),
    }
    path = f"/reports/upward?case={case['id']}"
    resp = post(office, path, recipient="省农业农村厅办公室", method="document", reported_at="2026-11-02T09:30",
                reference="豫农科办〔2026〕8号", note="专报已报送", file=(io.BytesIO(b"%PDF-1.4 zhuanbao"), "专报.pdf"))
    assert resp.status_code == 302
    with app.app_context():
        assert schedule.sweep(datetime(2026, 11, 30, 7, 5, tzinfo=SHANGHAI)) > 0
        upward_id = db.session.scalar(select(UpwardReport.id))
        assert upward_id is not None
        made = list(db.session.scalars(select(ReportFile.id)))
    downloads["file sent upward"] = office.get(f"/reports/upward/{upward_id}/file")
    for file_id in made:
        downloads[f"scheduled document {file_id}"] = office.get(f"/reports/files/{file_id}")
    for name, resp in downloads.items():
        assert resp.headers.get("Content-Disposition", "").startswith("attachment"), name
        assert no_store(resp), (name, resp.status_code, resp.headers.get("Cache-Control"))
    # public answers stay cacheable: the rule is for downloads, not everything
    assert "no-store" not in app.test_client().get("/releases/feed.xml").headers.get("Cache-Control", "")
