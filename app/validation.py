"""What clients send, checked: pydantic models for bodies and query strings, and the contract's 400 `invalid`
with one Chinese message per field (interface §3).

A model checks the shape of a request (types, required fields, lengths, enums, formats); what needs the
database (does this unit exist, may this person act) stays in the services, after the model. The same
models describe the API in `GET /api/v1/openapi.json` (app/openapi.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from flask_babel import gettext as _
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError

from app import params
from app.api import require_mapping
from app.errors import Invalid
from app.paging import MAX_PER_PAGE, PER_PAGE, Cut
from app.params import MAX_ID, MAX_PAGE

M = TypeVar("M", bound=BaseModel)


class Errors:
    """Every problem of one request, by field; raised together as 400 invalid (what a
    model cannot check, such as unit codes, added after it)."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)

    def raise_if_any(self) -> None:
        if self.fields:
            raise Invalid(_("输入有误"), fields=self.fields)


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
def _day_or_moment(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # the field's own type names what is wrong
    try:
        return params.day(value) if len(value.strip()) == 10 else params.moment(value)
    except params.Unreadable as exc:
        raise fail(exc.message) from None


#: A filter's bound: a whole day (YYYY-MM-DD, Asia/Shanghai) or a `Moment`.
DayOrMoment = Annotated[date | datetime, BeforeValidator(_day_or_moment),
                        WithJsonSchema({"type": "string", "maxLength": 40})]
#: A row id as a JSON number (never a string, never a bool): 1 … 2³¹−1.
RowId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
#: A revision's sha256, lower-case hex.
Hash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$"), Msg(lambda: _("应为 64 位十六进制哈希"))]


class Paging(Query):
    """`page` (from 1) and `per_page` (default 20, at most 100): every list (interface §3)."""

    page: Annotated[int, Field(ge=1, le=MAX_PAGE), Msg(lambda: _("应为 1–%(n)d 的整数", n=MAX_PAGE))] = 1
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE), Msg(lambda: _("应为 1–100 的整数"))] = PER_PAGE

    @property
    def cut(self) -> Cut:
        return Cut(self.page, self.per_page)
