"""The API's one description (interface §11): the pydantic models that validate what clients send
(app/validation.py), recorded per view by `operation(...)`, make up `GET /api/v1/openapi.json`
(OpenAPI 3.1 = JSON Schema 2020-12), readable at /api/docs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, send_from_directory
from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from werkzeug.local import LocalProxy
from werkzeug.routing import Rule

from app.errors import NotFound
from app.params import MAX_ID

PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"


class Out(BaseModel):
    """Base of answers: documentation only (the views build plain dicts); extra fields are allowed."""

    model_config = ConfigDict(extra="allow")


# --- answers every operation shares -----------------------------------------------------------------------

class ErrorDetail(Out):
    code: str = Field(description="snake_case: invalid, unauthenticated, forbidden, self_review, duplicate_reviewer, "
                                  "wrong_unit, wrong_role, not_found, stale_revision, wrong_state, stage_not_ready, "
                                  "checks_failed, too_large, rate_limited, busy")
    message: str
    fields: dict[str, Any] | None = Field(None, description="per field, a message (checks_failed: `checks`)")


class Error(Out):
    """Every error of the API (interface §3)."""

    error: ErrorDetail


ERRORS: dict[int, str] = {
    400: "invalid: the request is malformed; `fields` names each bad field",
    401: "unauthenticated: no or a bad bearer token / session",
    403: "forbidden, wrong_role, wrong_unit, self_review, duplicate_reviewer (or a missing CSRF token)",
    404: "not_found",
    409: "wrong_state, stale_revision, stage_not_ready, checks_failed",
    413: "too_large: over 1 MB of JSON (5 MB for an image)",
    429: "rate_limited",
    503: "busy: the database lock could not be had in time; nothing was written (Retry-After)",
}


# --- the registry -------------------------------------------------------------------------------------------

@dataclass
class Operation:
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    #: status → answer model, a media type (non-JSON answers), or None (no body)
    responses: dict[int, type[BaseModel] | str | None] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    public: bool = False
    multipart: dict[str, Any] | None = None
    description: str = ""
    path_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)


#: A view function: `operation` hands back the very function it was given, its type kept for `route`.
View = TypeVar("View", bound=Callable[..., object])


def operation(summary: str, *, body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
              responses: Mapping[int, type[BaseModel] | str | None], errors: Iterable[int] = (),
              public: bool = False, multipart: dict[str, Any] | None = None, description: str = "",
              path_schemas: Mapping[str, dict[str, Any]] | None = None) -> Callable[[View], View]:
    """Record a view's operation for openapi.json. The view (or its service) validates with the same models."""

    def mark(view: View) -> View:
        # a function's attribute mypy does not know of; `build` reads it back with getattr
        view.__openapi__ = Operation(  # type: ignore[attr-defined]
            summary, body, query, dict(responses), tuple(errors), public, multipart,
            description or (view.__doc__ or "").strip(), dict(path_schemas or {}))
        return view

    return mark


_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def _path(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    """`/statements/<int:statement_id>` → `/statements/{statement_id}` and its path parameters."""
    params: list[dict[str, Any]] = []
    for match in _VARIABLE.finditer(rule.rule):
        schema: dict[str, Any] = ({"type": "integer", "minimum": 1, "maximum": MAX_ID}
                                  if match["converter"] == "int" else {"type": "string", "minLength": 1})
        params.append({"name": match["name"], "in": "path", "required": True, "schema": schema})
    return _VARIABLE.sub(lambda m: "{" + m["name"] + "}", rule.rule), params


def _api_rules(app: Flask) -> list[Rule]:
    return sorted((r for r in app.url_map.iter_rules() if r.rule.startswith(PREFIX + "/")), key=lambda r: r.rule)


def undocumented(app: Flask) -> list[str]:
    """`METHOD /path` of every /api/v1 rule whose view carries no `operation(...)`."""
    return [f"{m} {r.rule}" for r in _api_rules(app) for m in sorted((r.methods or set()) - {"HEAD", "OPTIONS"})
            if getattr(app.view_functions[r.endpoint], "__openapi__", None) is None]


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def build(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every documented /api/v1 operation."""
    found: list[tuple[str, str, list[dict[str, Any]], Operation]] = []
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Error, "serialization")]
    for rule in _api_rules(app):
        op = getattr(app.view_functions[rule.endpoint], "__openapi__", None)
        if op is None:
            continue
        path, params = _path(rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((path, method.lower(), params, op))
        if op.body is not None:
            wanted.append((op.body, "validation"))
        for answer in op.responses.values():
            if isinstance(answer, type):
                wanted.append((answer, "serialization"))
    unique = list(dict.fromkeys(wanted))
    refs, defs = models_json_schema(unique, ref_template=REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    error_ref = refs[(Error, "serialization")]

    paths: dict[str, dict[str, Any]] = {}
    for path, method, path_params, op in found:
        params = []
        for p in path_params:
            params.append({**p, "schema": op.path_schemas.get(p["name"], p["schema"])})
        if op.query is not None:
            qschema = op.query.model_json_schema(ref_template=REF)
            schemas.update(qschema.pop("$defs", {}))
            required = set(qschema.get("required", []))
            for name, prop in qschema.get("properties", {}).items():
                described = {"name": name, "in": "query", "required": name in required, "schema": prop}
                if name not in required:  # `?status=` is the same as no `status` (as forms send it)
                    described["allowEmptyValue"] = True
                if "description" in prop:
                    described["description"] = prop["description"]
                params.append(described)
        item: dict[str, Any] = {"operationId": _operation_id(method, path), "summary": op.summary,
                                "tags": [path.split("/")[3]]}
        if op.description:
            item["description"] = op.description
        if params:
            item["parameters"] = params
        if op.body is not None:
            item["requestBody"] = {"required": True, "content": _json(refs[(op.body, "validation")])}
        elif op.multipart is not None:
            item["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": op.multipart}}}
        responses: dict[str, Any] = {}
        for status, answer in sorted(op.responses.items()):
            if answer is None:
                responses[str(status)] = {"description": "OK"}
            elif isinstance(answer, str):
                responses[str(status)] = {"description": "OK", "content": {answer: {"schema": {"type": "string"}}}}
            else:
                responses[str(status)] = {"description": (answer.__doc__ or answer.__name__).strip().split("\n")[0],
                                          "content": _json(refs[(answer, "serialization")])}
        codes = set(op.errors) | {400}
        if not op.public:
            codes.add(401)
        if path_params:
            codes.add(404)
        if method in ("post", "put", "patch", "delete"):
            codes |= {413, 503}
        for status in sorted(codes):
            responses.setdefault(str(status), {"description": ERRORS[status], "content": _json(error_ref)})
        item["responses"] = responses
        item["security"] = [{}] if op.public else [{"bearerAuth": []}, {"sessionCookie": []}]
        paths.setdefault(path, {})[method] = item

    return _tidy({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Huiying (回应) API",
            "version": "1",
            "description": "Draft, review, approve and publish an institution's statements; the case register, "
                           "notifications, checks, reports and the public ledger. Errors are "
                           "`{\"error\": {\"code\", \"message\", \"fields\"}}`; times are ISO 8601 with an offset; "
                           "lists take `page` (from 1) and `per_page` (≤ 100) and answer `{\"items\", \"total\"}`.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "An API token (`huiying tokens create USERNAME`, or /admin/tokens)."},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session",
                                  "description": "The browser's session after signing in; mutating calls then need "
                                                 "the page's CSRF token in `X-CSRFToken`."},
            },
        },
    })


def _allows_null(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    return kinds == "null" or (isinstance(kinds, list) and "null" in kinds) or any(
        isinstance(s, dict) and _allows_null(s) for s in schema.get("anyOf", []) + schema.get("oneOf", []))


def _tidy(node: Any) -> Any:
    """Drop `"default": null` where null is not allowed: "not given" fields of edit bodies (their default
    is the model's way of saying absent; a client never sends null there)."""
    if isinstance(node, dict):
        if "default" in node and node["default"] is None and not _allows_null(node) and "$ref" not in node:
            node = {k: v for k, v in node.items() if k != "default"}
        return {k: _tidy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_tidy(v) for v in node]
    return node


def _operation_id(method: str, path: str) -> str:
    words = [p.strip("{}").replace(".", "_").replace("-", "_") for p in path[len(PREFIX):].split("/") if p]
    return "_".join([method, *words])


def document(app: Flask) -> dict[str, Any]:
    """The document, built once per app (its routes and models do not change while it runs)."""
    cached = app.extensions.get("huiying_openapi")
    if cached is None:
        cached = app.extensions["huiying_openapi"] = build(app)
    return cached


# --- serving it ---------------------------------------------------------------------------------------------

class OpenApiDocument(Out):
    """An OpenAPI 3.1 document."""

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


bp = Blueprint("openapi", __name__)


@bp.get(PREFIX + "/openapi.json")
@operation("This document", responses={200: OpenApiDocument}, public=True)
def openapi_json() -> Response:
    """The OpenAPI 3.1 description of the whole /api/v1, generated from the models that validate requests."""
    # Flask types `current_app` as the app it stands for; it is the proxy, which hands over the app itself
    return jsonify(document(cast(LocalProxy[Flask], current_app)._get_current_object()))


@bp.get("/api/docs")
def docs() -> str:
    """The API reference page (Swagger UI, served from this site; its start-up code is a static file)."""
    return render_template("openapi/docs.html")


#: The files of Swagger UI the page loads, from the flask-swagger-ui package (never a CDN).
ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript"}


@bp.get("/api/docs/assets/<name>")
def asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFound(_("没有这个文件"))
    import flask_swagger_ui

    folder = os.path.join(os.path.dirname(flask_swagger_ui.__file__), "dist")
    response = send_from_directory(folder, name, mimetype=ASSETS[name], max_age=86400)
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
