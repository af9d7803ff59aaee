"""Who reaches the WeChat sandbox (interface §13): only with WECHAT_SANDBOX=1; its viewer for signed-in users; its
switches (off unless configured) for admins; and without any WeChat account nothing answers under /sandbox/wechat."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from app import config as app_config_module
from app import create_app
from tests import factories
from tests.conftest import _config
from tests.live import serving
from tests.wechat.helpers import migrated_sqlite, sandbox_secret
from tests.wechat.test_readback import published_on_wechat

PREFIX = "/sandbox/wechat"
APP_ID, SECRET = "wxsandbox000000001", sandbox_secret()
TOKEN_QUERY = {"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET}


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated_sqlite(tmp_path_factory)


def sign_in(app: Flask, *roles: str) -> FlaskClient:
    person = factories.user(app, factories.unit(app, "OFFICE", "院办公室"), *roles)
    web = app.test_client()
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', web.get("/login").get_data(as_text=True))
    assert csrf
    resp = web.post("/login", data={"username": person.username, "password": factories.PASSWORD,
                                    "csrf_token": csrf.group(1)})
    assert resp.status_code == 302
    return web


def bearer(app: Flask, *roles: str) -> dict[str, str]:
    """The Authorization header of a new person with these roles."""
    return factories.Api(app, factories.user(app, factories.unit(app, "OFFICE", "院办公室"), *roles)).headers


def published_article(client: FlaskClient) -> str:
    """Publish one article through the sandbox's API (anyone with the account's secret may); its id."""
    token = client.get(f"{PREFIX}/cgi-bin/token", query_string=TOKEN_QUERY).get_json()["access_token"]
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (7, 193, 96)).save(out, format="JPEG")
    thumb = client.post(f"{PREFIX}/cgi-bin/material/add_material",
                        query_string={"access_token": token, "type": "image"},
                        data={"media": (io.BytesIO(out.getvalue()), "c.jpg")}).get_json()["media_id"]
    body = {"articles": [{"title": "情况说明", "content": "<p>经核实，网传信息不实。</p>", "thumb_media_id": thumb}]}
    media_id = client.post(f"{PREFIX}/cgi-bin/draft/add", query_string={"access_token": token},
                           json=body).get_json()["media_id"]
    publish_id = client.post(f"{PREFIX}/cgi-bin/freepublish/submit", query_string={"access_token": token},
                             json={"media_id": media_id}).get_json()["publish_id"]
    status = client.post(f"{PREFIX}/cgi-bin/freepublish/get", query_string={"access_token": token},
                         json={"publish_id": publish_id}).get_json()
    return str(status["article_id"])


# Served only when asked for -------------------------------------------------------------------------

@pytest.mark.parametrize("app_config", [{"WECHAT_SANDBOX": False}])
def test_without_an_account_or_the_sandbox_nothing_answers_under_the_sandbox(app: Flask, client: FlaskClient) -> None:
    admin = bearer(app, "admin")
    for path in ("/", "/articles/x", "/cgi-bin/token", "/media/x.png", "/_faults", "/_calls"):
        assert client.get(f"{PREFIX}{path}", query_string=TOKEN_QUERY, headers=admin).status_code == 404, path
    answer = client.post(f"{PREFIX}/cgi-bin/draft/add", json={"articles": []}, headers=admin)
    assert answer.status_code == 404
    # Nobody can sign a push with the well-known sandbox token either: the channel is not there.
    assert client.get("/wechat/callback", query_string={"echostr": "42"}).status_code == 404


def test_the_sandbox_is_off_unless_configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("WECHAT_SANDBOX", "WECHAT_SANDBOX_FAULTS", "WECHAT_APP_ID"):
        monkeypatch.delenv(name, raising=False)
    settings = app_config_module.from_environment(str(tmp_path))
    assert settings["WECHAT_SANDBOX"] is False and settings["WECHAT_SANDBOX_FAULTS"] is False
    monkeypatch.setenv("WECHAT_SANDBOX", "1")
    assert app_config_module.from_environment(str(tmp_path))["WECHAT_SANDBOX"] is True


def test_a_real_account_never_serves_the_sandbox(database_url: str, tmp_path: Path) -> None:
    real = create_app(_config(database_url, str(tmp_path), WECHAT_APP_ID="wx0123456789abcdef", WECHAT_TOKEN="t"))
    assert real.test_client().get(f"{PREFIX}/cgi-bin/token", query_string=TOKEN_QUERY).status_code == 404


# The viewer needs a signed-in user ------------------------------------------------------------------

@pytest.mark.parametrize("app_config", [{"WECHAT_SANDBOX_PUBLISH_DELAY": 0}])
def test_the_viewer_needs_a_signed_in_user(app: Flask, client: FlaskClient) -> None:
    article_id = published_article(client)
    for path in ("/", f"/articles/{article_id}"):
        resp = client.get(f"{PREFIX}{path}")
        assert resp.status_code == 302 and "/login?next=" in resp.headers["Location"], path
        assert "情况说明" not in resp.get_data(as_text=True)
    reader = sign_in(app, "drafter")
    assert "情况说明" in reader.get(f"{PREFIX}/").get_data(as_text=True)
    assert reader.get(f"{PREFIX}/articles/{article_id}").status_code == 200


# The account's secret: random per install (issue 28, item 13) ----------------------------------------

def test_the_old_built_in_secret_no_longer_gets_a_token(app: Flask, client: FlaskClient) -> None:
    """A demo left on a network: whoever knew the code's default could publish "official" articles into it."""
    for known in ("sandbox-secret", "沙箱"):
        query = {**TOKEN_QUERY, "secret": known}
        assert client.get(f"{PREFIX}/cgi-bin/token", query_string=query).get_json()["errcode"] == 40125
        stable = client.post(f"{PREFIX}/cgi-bin/stable_token", json=query).get_json()
        assert stable["errcode"] == 40125
    kept = (Path(app.instance_path) / "wechat_sandbox_secret").read_text().strip()
    assert kept == SECRET and len(SECRET) >= 40 and SECRET != "sandbox-secret"
    assert "access_token" in client.get(f"{PREFIX}/cgi-bin/token", query_string=TOKEN_QUERY).get_json()


def test_each_install_makes_its_own_secret_once(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    made = app_config_module.instance_secret(first, "wechat_sandbox_secret")
    assert app_config_module.instance_secret(first, "wechat_sandbox_secret") == made  # kept, not remade
    assert app_config_module.instance_secret(second, "wechat_sandbox_secret") != made
    assert (first / "wechat_sandbox_secret").stat().st_mode & 0o077 == 0  # only its owner reads it
    assert sorted(p.name for p in first.iterdir()) == ["wechat_sandbox_secret"]


def test_only_an_admin_sees_the_accounts_credentials_on_the_viewer(app: Flask) -> None:
    admin_page = sign_in(app, "admin").get(f"{PREFIX}/").get_data(as_text=True)
    assert SECRET in admin_page and APP_ID in admin_page
    for roles in (("drafter",), ("office", "leader")):
        page = sign_in(app, *roles).get(f"{PREFIX}/").get_data(as_text=True)
        assert SECRET not in page and "AppSecret" not in page


# The switches: off unless configured, then for admins only ------------------------------------------

def test_the_switches_start_off_even_for_an_admin(app: Flask, client: FlaskClient) -> None:
    admin = bearer(app, "admin")
    assert client.post(f"{PREFIX}/_faults", json={"path": "*", "errcode": -1}, headers=admin).status_code == 404
    assert client.get(f"{PREFIX}/_calls", headers=admin).status_code == 404
    assert client.post(f"{PREFIX}/_alter", json={"article_id": "x", "find": "a", "replace": "b"},
                       headers=admin).status_code == 404
    client.get(f"{PREFIX}/cgi-bin/token", query_string=TOKEN_QUERY)
    app.config["WECHAT_SANDBOX_FAULTS"] = True
    assert client.get(f"{PREFIX}/_calls", headers=admin).get_json() == []  # nothing was logged while off


@pytest.mark.parametrize("app_config", [{"WECHAT_SANDBOX_FAULTS": True}])
def test_the_switches_answer_only_an_admin(app: Flask, client: FlaskClient) -> None:
    fault = {"path": "*", "errcode": -1}
    anonymous = client.post(f"{PREFIX}/_faults", json=fault)
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["code"] == "unauthenticated"
    for path in ("/_faults", "/_calls"):
        assert client.get(f"{PREFIX}{path}").status_code == 401
    drafter = bearer(app, "drafter", "leader", "office")
    refused = client.post(f"{PREFIX}/_faults", json=fault, headers=drafter)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert client.get(f"{PREFIX}/_calls", headers=drafter).status_code == 403
    assert client.delete(f"{PREFIX}/_faults", headers=drafter).status_code == 403
    assert client.post(f"{PREFIX}/_alter", json={"article_id": "x", "find": "a", "replace": "b"},
                       headers=drafter).status_code == 403
    # A signed-in admin's browser needs the CSRF token to change anything, as everywhere else.
    browser = sign_in(app, "admin")
    assert browser.post(f"{PREFIX}/_faults", json=fault).status_code == 403
    assert browser.get(f"{PREFIX}/_faults").get_json() == []
    armed = client.post(f"{PREFIX}/_faults", json=fault, headers=bearer(app, "admin"))
    assert armed.status_code == 201
    token = client.get(f"{PREFIX}/cgi-bin/token", query_string=TOKEN_QUERY).get_json()
    assert token["errcode"] == -1


def test_a_correction_leaves_wechat_out_once_it_is_unavailable(app: Flask) -> None:
    with serving(app) as origin:
        app.config["WECHAT_SANDBOX_BASE"] = f"{origin}{PREFIX}"
        office = factories.Office(app, "ZBS")
        st = published_on_wechat(app, office)
    app.config["WECHAT_SANDBOX"] = False  # the operator turned the sandbox off since
    fix = office.drafter.post(f"/statements/{st['id']}/correct")
    assert fix.status_code == 201 and fix.get_json()["channels"] == ["portal"]


@pytest.mark.parametrize("app_config", [{"WECHAT_SANDBOX_PUBLISH_DELAY": 0}])
def test_the_viewer_reads_its_numbers_strictly(app: Flask, client: FlaskClient) -> None:
    article_id = published_article(client)
    reader = sign_in(app, "drafter")
    for idx in ("²", "9" * 5000, "0", "2"):
        assert reader.get(f"{PREFIX}/articles/{article_id}", query_string={"idx": idx}).status_code == 404, idx[:8]
    assert reader.get(f"{PREFIX}/articles/{article_id}", query_string={"idx": "1"}).status_code == 200
    assert "情况说明" in reader.get(f"{PREFIX}/", query_string={"page": "x"}).get_data(as_text=True)  # the first page
    assert reader.get(f"{PREFIX}/", query_string={"page": "²"}).status_code == 400  # as every page's `page`
