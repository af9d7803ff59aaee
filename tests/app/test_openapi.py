"""The documented API (interface §11): openapi.json is valid OpenAPI 3.1, names every /api/v1 route, and the app
keeps to it — Schemathesis sends generated requests to every operation and every answer must be documented,
match its schema and never be a 5xx."""

from __future__ import annotations

import html
import os
import re
import time
import traceback
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from app import accounts
from app.extensions import db
from app.notifications import notify
from app.notifications.models import Notification
from tests.factories import Api, Office, user
from tests.review.test_web import Browser

SPEC = "/api/v1/openapi.json"
POSITIVE = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
NEGATIVE = [*POSITIVE, negative_data_rejection]


def _rules(app: Flask) -> set[str]:
    """`METHOD /path/{param}` of every /api/v1 rule the app routes."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
            found |= {f"{m} {path}" for m in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    return found


def test_openapi_json_is_valid_3_1_and_lists_every_route(app: Flask) -> None:
    resp = app.test_client().get(SPEC)  # public: no sign-in
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # openapi-spec-validator picks the 3.1 schema from `openapi`
    documented = {f"{m.upper()} {p}" for p, item in doc["paths"].items() for m in item}
    assert _rules(app) - documented == set(), "routes without an operation(...) in openapi.json"
    assert documented - _rules(app) == set()
    assert len(documented) >= 45
    statement = doc["paths"]["/api/v1/statements"]["post"]
    body = statement["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    # the model that validates the request is the one described: its limits are there
    assert doc["components"]["schemas"][body]["properties"]["title"]["maxLength"] == 64
    assert set(statement["responses"]) >= {"201", "400", "401", "403", "413"}
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert doc["paths"]["/api/v1/public/verify"]["post"]["security"] == [{}]
    assert {"bearerAuth", "sessionCookie"} <= set(doc["components"]["securitySchemes"])


def test_validation_errors_keep_the_contract_body(app: Flask) -> None:
    office = Office(app)
    resp = office.drafter.post("/statements", {"title": 5, "body": "x", "priority": "soon", "channels": []})
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["code"] == "invalid" and error["message"]
    assert error["fields"] == {"title": "必须是字符串", "priority": "应为 urgent、high、normal 或 low",
                               "channels": "应为 [\"portal\", \"wechat\"] 的非空子集"}
    missing = office.drafter.post("/statements", {"digest": "x"}).get_json()["error"]["fields"]
    assert missing == {"title": "必填", "body": "必填"}
    long = office.drafter.post("/statements", {"title": "标" * 65, "body": "x"}).get_json()["error"]["fields"]
    assert long == {"title": "不能超过 64 个字符（当前 65 个）"}


def test_docs_page_is_public_and_served_from_this_site(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/api/docs")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts and all(s.startswith("/") and not s.startswith("//") for s in scripts)
    assert "<script>" not in html and 'data-url="/api/v1/openapi.json"' in html
    for src in [*scripts, *re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)]:
        assert client.get(src).status_code == 200, src
    assert client.get("/api/docs/assets/index.html").status_code == 404


@pytest.mark.browser
def test_docs_page_renders_under_the_csp(app: Flask, server: str, browser: Any) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 390, "height": 844})
    refused: list[str] = []
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(f"{server}/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Huiying")
    expect(page.locator("#operations-statements-post_statements")).to_be_visible()
    assert refused == []


# --- what Schemathesis found (each failed on the code before it) ------------------------------------------

def test_a_multipart_part_without_a_name_is_refused_not_a_500(app: Flask) -> None:
    office = Office(app)
    body = b"--b\r\nContent-Disposition: form-data\r\n\r\nhello\r\n--b--\r\n"
    resp = office.drafter.client.post("/api/v1/images", data=body, headers={
        **office.drafter.headers, "Content-Type": "multipart/form-data; boundary=b"})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid"


def test_control_characters_in_a_case_do_not_break_its_documents(app: Flask) -> None:
    office = Office(app)
    boss = Api(app, user(app, office.office_unit, "office"))
    case = boss.post("/cases", {"title": "网传\x0b某品种\x01减产", "summary": "\x1f详情", "source": "weibo",
                                "units": [office.unit]})
    assert case.status_code == 201, case.get_json()
    report = boss.get(f"/cases/{case.get_json()['id']}/report.docx")
    assert report.status_code == 200 and report.data[:2] == b"PK"
    sheet = boss.get("/cases/export.xlsx")
    assert sheet.status_code == 200 and sheet.data[:2] == b"PK"


# --- Schemathesis ---------------------------------------------------------------------------------------------

EXAMPLES = 8


class World:
    """Somebody who may do almost everything, and one real object for every path parameter."""

    def __init__(self, app: Flask) -> None:
        office = Office(app, "A")
        st = office.submitted(agencies=["农业农村厅"])
        everyone = user(app, office.unit, "drafter", "expert", "leader", "office", "admin", username="everyone")
        self.api = Api(app, everyone)
        target = user(app, office.unit, "drafter", username="target")
        case = self.api.post("/cases", {"title": "网传某品种减产", "source": "weibo"}).get_json()
        with app.app_context():
            notify("review_requested", "x:1", [accounts.get_user("everyone")], subject="待审", url="/")
            db.session.commit()
            notification_id = db.session.scalar(select(Notification.id))
        self.headers = self.api.headers
        self.known = {"statement_id": st["id"], "case_id": case["id"], "code": office.unit,
                      "username": target.username, "notification_id": notification_id, "channel": "portal"}


def _run(op: Any, mode: GenerationMode, checks: list[Any], headers: dict[str, str],
         path_parameters: dict[str, Any] | None, failures: list[str], seen: Counter[int],
         examples: int = EXAMPLES) -> None:
    strategy = op.as_strategy(generation_mode=mode, path_parameters=path_parameters or None)

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        try:
            response = case.call(headers=headers)
            seen[response.status_code] += 1
            case.validate_response(response, checks=checks, headers=headers)
        except BaseException as exc:  # noqa: BLE001 (each failure is reported with its operation)
            # a check's failure explains itself; anything else (a crash in the app) shows where it happened
            where = "" if isinstance(exc, BaseExceptionGroup) else "".join(traceback.format_exception(exc)[-4:])
            failures.append(f"{op.method.upper()} {op.path} [{mode.value}]: {where[-1000:]}{str(exc)[:1500]}")
            raise

    try:
        run()
    except Unsatisfiable:
        pass
    except BaseException as exc:  # noqa: BLE001 (recorded above, or Hypothesis's own complaint)
        if not failures or op.path not in failures[-1]:
            failures.append(f"{op.method.upper()} {op.path} [{mode.value}]: {type(exc).__name__} {str(exc)[:1500]}")


def test_every_operation_keeps_to_its_schema(app: Flask, redis_client: Any) -> None:
    """Positive and negative requests to every operation, as a user of every role and unauthenticated:
    no 5xx, every status documented, every JSON answer valid against its schema, invalid input refused.

    Bounded (8 examples a mode, derandomized so CI sees the same requests every run); set
    HUIYING_SCHEMATHESIS_VERBOSE=1 for each operation's time and statuses, HUIYING_SCHEMATHESIS_ONLY=/path to focus."""
    world = World(app)
    # invalid input is refused with 400, or with 413 where the contract says so (an over-long text to verify)
    config = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {
        "expected-statuses": ["400", "401", "403", "404", "409", "413", "429"]}}})
    schema = schemathesis.openapi.from_wsgi(SPEC, app, config=config)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    only = os.environ.get("HUIYING_SCHEMATHESIS_ONLY", "")
    for op in operations:
        if only not in op.path:
            continue
        began = time.monotonic()
        seen: Counter[int] = Counter()
        fixed = {k: v for k, v in world.known.items() if k in {p.name for p in op.path_parameters}}
        _run(op, GenerationMode.POSITIVE, POSITIVE, world.headers, fixed, failures, seen)
        _run(op, GenerationMode.NEGATIVE, NEGATIVE, world.headers, fixed, failures, seen)
        if fixed:  # unknown ids: 404, documented
            _run(op, GenerationMode.POSITIVE, POSITIVE, world.headers, None, failures, seen, 2)
        _run(op, GenerationMode.POSITIVE, POSITIVE, {}, None, failures, seen, 2)  # 401, or public
        if os.environ.get("HUIYING_SCHEMATHESIS_VERBOSE"):
            print(f"{time.monotonic() - began:6.2f}s {op.method.upper()} {op.path} {dict(seen)}", flush=True)
    assert failures == [], "\n\n".join(failures)


# --- the HTML pages: every link's and form's numbers and dates (issue 28, item 12) -------------------------

#: What passes `isdigit()` or `date.fromisoformat()` and used to reach `int()`, the database or datetime unbounded.
HOSTILE = ["²", "9" * 5000, str(2**31), "9999-12-31", "0001-01-01"]
_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
_FIELD = re.compile(r"<(?:input|select|textarea|button)\b([^>]*)>")
_LINK = re.compile(r'href="(/[^"#]*\?[^"#]*)"')


def _attr(attrs: str, name: str) -> str | None:
    found = re.search(rf'\b{name}="([^"]*)"', attrs)
    return html.unescape(found.group(1)) if found else None


def _pages(app: Flask, known: dict[str, Any]) -> list[str]:
    """Every HTML page with a GET rule whose path parameters name a real object."""
    pages = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.rule.startswith(("/api/", "/static", "/sandbox/wechat/_")):
            continue
        if all(arg in known for arg in rule.arguments):
            pages.append(re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(known[m[1]]), rule.rule))
    return sorted(set(pages))


def test_html_links_and_forms_never_answer_5xx_to_hostile_numbers_and_dates(app: Flask, redis_client: Any) -> None:
    """Each page a person with every role sees is read for its links with a query and its forms; each of their
    parameters is then sent every hostile value (the others kept as the page had them): never a 5xx, the
    page a refused form leads back to included. Derived from the pages, so a new form is covered by itself."""
    world = World(app)
    handling = world.api.post("/cases", {"title": "网传某地虫害", "source": "forum"}).get_json()["id"]
    for step, body in (("assessment", {"level": 3, "rationale": "较大", "must_respond": True}),
                       ("assignment", {"lead_unit": world.known["code"], "assisting_units": []}),
                       ("acceptance", {"note": "已受理"})):  # its page then offers the response and closing forms
        assert world.api.post(f"/cases/{handling}/{step}", body).status_code == 201, step
    web = Browser(app, "everyone")
    known = {**world.known, "kind": "expert"}
    links: dict[tuple[str, str], dict[str, str]] = {}
    forms: dict[tuple[str, tuple[str, ...]], dict[str, str]] = {}
    for page in [*_pages(app, known), f"/cases/{handling}"]:
        resp = web.get(page)
        assert resp.status_code < 500, page
        if resp.mimetype != "text/html":
            continue
        body = resp.get_data(as_text=True)
        for href in _LINK.findall(body):
            path, _, query = html.unescape(href).partition("?")
            values = dict(parse_qsl(query, keep_blank_values=True))
            # the language switch is on every page and read in one place: its first page is enough
            links.update({(path, name): values for name in values if name != "lang" or path == "/"})
        for attrs, inner in _FORM.findall(body):
            action = _attr(attrs, "action") or page
            fields = {n: _attr(a, "value") or "" for a in _FIELD.findall(inner) if (n := _attr(a, "name"))}
            fields.pop("csrf_token", None)
            if (_attr(attrs, "method") or "get").lower() == "get":
                links.update({(action, name): fields for name in fields})
            elif action != "/logout" and fields.get("action") != "sign_out_everywhere":
                forms[(action, tuple(sorted(fields)))] = fields
    assert len(links) >= 25 and len(forms) >= 20, (len(links), len(forms))  # the crawl saw the app's pages
    assert (f"/cases/{handling}/respond", ("evidence_url", "form", "held_at", "note", "statement_id")) in forms
    failures = []
    for (path, name), values in sorted(links.items()):
        for value in HOSTILE:
            resp = web.client.get(path, query_string={**values, name: value})
            if resp.status_code >= 500:
                failures.append(f"GET {path}?{name}={value[:12]} → {resp.status_code}")
    for (action, names), values in sorted(forms.items()):
        for value in HOSTILE:
            # every field typed but `action`, which picks the form's branch; the page it leads back to too
            resp = web.post(action, {n: values[n] if n == "action" else value for n in names}, follow_redirects=True)
            if resp.status_code >= 500:
                failures.append(f"POST {action} {list(names)} = {value[:12]} → {resp.status_code}")
    assert failures == [], "\n".join(failures)
