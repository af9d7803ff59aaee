"""The API's one description (interface §11): pydantic models validate what clients send, and the same models,
recorded per view by `operation(...)`, make up `GET /api/v1/openapi.json` (OpenAPI 3.1 = JSON Schema 2020-12).

A model checks the shape of a request (types, required fields, lengths, enums, formats); what needs the
database (does this unit exist, may this person act) stays in the services, after the model. A model's
errors become the contract's 400 `invalid` with one Chinese message per field (interface §3).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, send_from_directory
from flask_babel import gettext as _
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema
from pydantic.json_schema import models_json_schema
from pydantic_core import PydanticCustomError
from werkzeug.routing import Rule

from app import params
from app.api import require_mapping
from app.errors import Invalid, NotFound
from app.params import MAX_ID

M = TypeVar("M", bound=BaseModel)
PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"


# --- validation -------------------------------------------------------------------------------------------

class Msg:
    """Field metadata: the Chinese message for any problem of this field except a missing value.

    `message` is a callable so that it is translated per request (`lambda: _("…")`).
    """

    def __init__(self, message: Callable[[], str] | None, **by_type: Callable[[], str]) -> None:
        self.message = message
        self.by_type = by_type  # a message for one pydantic error type, e.g. too_short=…


class Body(BaseModel):
    """Base of request bodies: unknown fields are ignored, as they always were."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Query(BaseModel):
    """Base of query strings: values arrive as text and are converted (`"2"` → 2)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Out(BaseModel):
    """Base of answers: documentation only (the views build plain dicts); extra fields are allowed."""

    model_config = ConfigDict(extra="allow")


def fail(message: str) -> PydanticCustomError:
    """The error a model's validator raises to give its field this exact message."""
    return PydanticCustomError("huiying", "{message}", {"message": message})


def _field_message(model: type[BaseModel], error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "huiying":
        return str(ctx["message"])
    if kind == "missing":
        return _("必填")
    name = error["loc"][0] if error["loc"] else None
    info = model.model_fields.get(name) if isinstance(name, str) else None
    if info is None and isinstance(name, str):
        info = next((f for f in model.model_fields.values() if f.alias == name), None)
    custom = next((m for m in (info.metadata if info else []) if isinstance(m, Msg)), None)
    chosen = custom and (custom.by_type.get(kind) or custom.message)
    if chosen:
        return chosen()
    value = error.get("input")
    if kind == "string_type":
        return _("必须是字符串")
    if kind == "string_too_short":
        return _("不能为空")
    if kind == "string_too_long":
        return _("不能超过 %(n)d 个字符（当前 %(m)d 个）", n=ctx.get("max_length", 0),
                 m=len(value) if isinstance(value, str) else 0)
    if kind in ("bool_type", "bool_parsing"):
        return _("应为 true 或 false")
    if kind.startswith("int_") or kind in ("greater_than_equal", "less_than_equal"):
        return _("应为整数") if kind.startswith("int_") else _("超出范围")
    if kind in ("list_type", "too_long", "too_short"):
        return _("应为列表") if kind == "list_type" else _("项数不对")
    if kind in ("literal_error", "enum"):
        return _("应为 %(s)s 之一", s=str(ctx.get("expected", "")).replace("'", ""))
    if kind == "extra_forbidden":
        return _("未知字段")
    return _("格式不正确")


def errors_of(model: type[BaseModel], exc: ValidationError) -> dict[str, str]:
    """{field: message} of a model's errors, the first per field (nested problems named by the top field)."""
    fields: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "_"
        fields.setdefault(name, _field_message(model, error))
    return fields


def parse(model: type[M], data: Any, message: str | None = None) -> M:
    """A JSON body (or `json_body()`'s BadBody) through `model`; 400 `invalid` naming every bad field."""
    data = require_mapping(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(message or _("输入有误"), fields=errors_of(model, exc)) from None


def parse_query(model: type[M], args: Mapping[str, Any], message: str | None = None) -> M:
    """A query string (its first value per name) through `model`; empty values count as absent."""
    values = {k: v for k, v in (args.to_dict() if hasattr(args, "to_dict") else dict(args)).items() if v != ""}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise Invalid(message or _("参数有误"), fields=errors_of(model, exc)) from None


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) or value is None:
        return value
    if not isinstance(value, str):
        raise fail(_("必须是 ISO 8601 时间字符串"))
    try:
        return params.moment(value)
    except params.Unreadable as exc:
        raise fail(exc.message) from None


def _day(value: Any) -> Any:
    if value is None or not isinstance(value, str):
        return value  # the field's own type names what is wrong
    try:
        return params.day(value)
    except params.Unreadable as exc:
        raise fail(exc.message) from None


#: A moment as ISO 8601 with an offset, 2000–2100 (interface §3: times); naive times are refused, never guessed.
Moment = Annotated[datetime, BeforeValidator(_aware), WithJsonSchema({"type": "string", "format": "date-time"})]
#: A day as YYYY-MM-DD, 2000-01-01 … 2100-12-31 (Asia/Shanghai days).
Day = Annotated[date, BeforeValidator(_day), WithJsonSchema({"type": "string", "format": "date"})]
#: A row id as a JSON number (never a string, never a bool): 1 … 2³¹−1.
RowId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
#: A revision's sha256, lower-case hex.
Hash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$"), Msg(lambda: _("应为 64 位十六进制哈希"))]


class Paging(Query):
    """`page` (from 1) and `per_page` (default 20, at most 100): every list (interface §3)."""

    page: Annotated[int, Field(ge=1, le=1_000_000), Msg(lambda: _("应为 1–%(n)d 的整数", n=1_000_000))] = 1
    per_page: Annotated[int, Field(ge=1, le=100), Msg(lambda: _("应为 1–100 的整数"))] = 20


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


def operation(summary: str, *, body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
              responses: Mapping[int, type[BaseModel] | str | None], errors: Iterable[int] = (),
              public: bool = False, multipart: dict[str, Any] | None = None, description: str = "",
              path_schemas: Mapping[str, dict[str, Any]] | None = None) -> Callable[[Callable[..., Any]],
                                                                                   Callable[..., Any]]:
    """Record a view's operation for openapi.json. The view (or its service) validates with the same models."""

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.__openapi__ = Operation(summary, body, query, dict(responses), tuple(errors), public,  # type: ignore
                                     multipart, description or (view.__doc__ or "").strip(),
                                     dict(path_schemas or {}))
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
    wanted: list[tuple[type[BaseModel], str]] = [(Error, "serialization")]
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
    return jsonify(document(current_app._get_current_object()))  # type: ignore[attr-defined]


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
