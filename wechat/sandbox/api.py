"""The sandbox's ``/cgi-bin/…`` API: the official paths, fields, token rules and errcodes.

Every call goes through one pipeline, in the platform's order: HTTP method, size,
access token, then any armed fault, then the endpoint. Errors are HTTP 200 with
``{"errcode", "errmsg"}`` as on the real API, so the production client (wechatpy)
works against the sandbox unchanged. ``/_faults`` and ``/_calls`` let tests make the
API misbehave and see what was called (when enabled, for admins: `wechat.sandbox.access`).
The mass-send endpoints (``message/mass/*``) register here from `wechat.sandbox.mass_api`.

What the sandbox keeps is bounded: a call may bring at most ``WECHAT_SANDBOX_MAX_CALL_BYTES``
and everything kept at most ``WECHAT_SANDBOX_MAX_BYTES``; past either the answer is errcode
45001 with a hint saying which.
"""

from __future__ import annotations

import hmac
import html
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from app.extensions import get_redis
from wechat.sandbox.access import admin_switch, switches_on
from wechat.sandbox.config import app_secret, setting
from wechat.sandbox.events import Callback
from wechat.sandbox.store import PublishStatus, StorageFull, Store, TokenState, TooManyFaults

ERRMSG: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40004: "invalid media type",
    40005: "invalid file type",
    40007: "invalid media_id",
    40008: "invalid message type",
    40009: "invalid image size",
    40013: "invalid appid",
    40066: "invalid url",
    40097: "invalid args",
    40114: "invalid index value",
    40125: "invalid appsecret",
    40132: "invalid username",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41005: "media data missing",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    44001: "empty media data",
    44002: "empty post data",
    44003: "empty news data",
    44004: "empty content",
    45001: "media size out of limit",
    45002: "content size out of limit",
    45003: "title size out of limit",
    45004: "description size out of limit",
    45008: "article size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    45028: "has no masssend quota",
    45065: "clientmsgid exist",
    45067: "clientmsgid size out of limit",
    47001: "data format error",
    48001: "api unauthorized",
    53502: "invalid publish_id",
    53600: "invalid article_id",
}

# Image kinds by their leading bytes: the platform judges a file by content, not name.
IMAGE_MAGIC = {
    "jpg": (b"\xff\xd8\xff", "image/jpeg"),
    "png": (b"\x89PNG\r\n\x1a\n", "image/png"),
    "gif": (b"GIF8", "image/gif"),
    "bmp": (b"BM", "image/bmp"),
}
UPLOADIMG_KINDS = frozenset({"jpg", "png"})
UPLOADIMG_MAX_BYTES = 1024 * 1024 - 1  # "1MB以下"
MATERIAL_KINDS = frozenset(IMAGE_MAGIC)
MATERIAL_MAX_BYTES = 10 * 1024 * 1024

ARTICLES_MAX = 8
TITLE_MAX = 32
DIGEST_MAX = 128
DIGEST_DEFAULT_CHARS = 54  # an empty digest becomes the first 54 characters of the text
CONTENT_MAX_CHARS = 20_000  # content must be shorter than this …
CONTENT_MAX_BYTES = 1024 * 1024  # … and smaller than 1 MB
PAGE_MAX = 20

CALL_FAULT_MODES = frozenset({"errcode", "http500", "delay"})
OUTCOME_FAULT_MODES = frozenset({"publish_status"})
MASS_OUTCOME_FAULT_MODES = frozenset({"mass_status"})
#: How a mass send may be made to end instead of "send success" (the MASSSENDJOBFINISH ``Status``).
MASS_FAILURE = re.compile(r"send fail|err\(\d{5}\)")


class ApiError(Exception):
    """An official errcode answer; ``hint`` says which rule the sandbox applied, ``extra`` adds fields
    the platform sends with this errcode (45065 names the existing ``msg_id``)."""

    def __init__(self, errcode: int, hint: str = "", extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.hint = hint
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        """The answer as the platform words it, including a request id."""
        message = ERRMSG.get(self.errcode, "sandbox fault")
        if self.hint:
            message += f" hint: [{self.hint}]"
        rid = "-".join(secrets.token_hex(4) for _ in range(3))
        return {"errcode": self.errcode, "errmsg": f"{message} rid: {rid}", **self.extra}


@dataclass(frozen=True)
class Endpoint:
    """One ``/cgi-bin/`` path: the view and what the platform requires of a call to it."""

    view: Callable[[Store], dict[str, Any]]
    methods: frozenset[str]
    needs_token: bool


ENDPOINTS: dict[str, Endpoint] = {}


def endpoint(
    path: str, methods: tuple[str, ...] = ("POST",), needs_token: bool = True
) -> Callable[[Callable[[Store], dict[str, Any]]], Callable[[Store], dict[str, Any]]]:
    """Register a view for ``/cgi-bin/<path>``."""

    def register(view: Callable[[Store], dict[str, Any]]) -> Callable[[Store], dict[str, Any]]:
        ENDPOINTS[path] = Endpoint(view, frozenset(methods), needs_token)
        return view

    return register


def open_store() -> Store:
    """The sandbox's store for this request, bounded by ``WECHAT_SANDBOX_MAX_BYTES``."""
    return Store(get_redis(), max_bytes=int(setting("WECHAT_SANDBOX_MAX_BYTES")))


def _max_call_bytes() -> int:
    return int(setting("WECHAT_SANDBOX_MAX_CALL_BYTES"))


def limit_request_size() -> None:
    """Before any sandbox view: no body is read past the per-call limit (chunked ones included)."""
    app_limit = request.max_content_length
    request.max_content_length = min(_max_call_bytes(), app_limit) if app_limit else _max_call_bytes()


def _too_large() -> ApiError:
    return ApiError(45001, f"the sandbox takes at most {_max_call_bytes()} bytes per call")


# --- the pipeline ----------------------------------------------------------------------


def cgi_bin(name: str) -> Response:
    """Answer one API call: method, token, faults, endpoint; then log it."""
    store = open_store()
    pause = 0.0
    try:
        found = ENDPOINTS.get(name)
        if found is None:
            raise ApiError(40066)
        if request.method not in found.methods:
            raise ApiError(43002 if "POST" in found.methods else 43001)
        if (request.content_length or 0) > _max_call_bytes():
            raise _too_large()
        if found.needs_token:
            _check_token(store)
        fault = store.take_fault(name, CALL_FAULT_MODES)
        if fault is not None and fault["mode"] == "http500":
            _log(store, name, None, 500)
            return Response("sandbox fault: HTTP 500", status=500, mimetype="text/plain")
        if fault is not None and fault["mode"] == "errcode":
            raise ApiError(fault["errcode"], "sandbox fault")
        if fault is not None:
            pause = fault["seconds"]
        body = found.view(store)
    except RequestEntityTooLarge:  # a chunked body that ran past the per-call limit
        body = _too_large().body()
    except StorageFull as full:
        body = ApiError(45001, f"the sandbox keeps at most {full.limit} bytes in all and is full").body()
    except ApiError as error:
        body = error.body()
    _log(store, name, body.get("errcode", 0), 200)
    # A "delay" fault answers only after the work is done: the caller may time out
    # although the call took effect, which is what the client must survive.
    time.sleep(pause)
    return jsonify(body)


def _log(store: Store, name: str, errcode: int | None, status: int) -> None:
    """The call log exists only with the switches (tests read it); otherwise nothing is kept of a call."""
    if switches_on():
        store.log_call(name, errcode, status)


def _check_token(store: Store) -> None:
    token = request.args.get("access_token", "")
    if not token:
        raise ApiError(41001)
    state = store.token_state(token)
    if state is TokenState.UNKNOWN:
        raise ApiError(40001)
    if state is TokenState.EXPIRED:
        raise ApiError(42001)


def json_body() -> dict[str, Any]:
    """The call's JSON object, read as wechatpy sends it (raw bytes, any content type); 44002/47001 if not."""
    raw = request.get_data()
    if not raw.strip():
        raise ApiError(44002)
    try:
        data = json.loads(raw)
    except ValueError:
        raise ApiError(47001) from None
    if not isinstance(data, dict):
        raise ApiError(47001)
    return data


def text_field(data: Mapping[str, Any], name: str) -> str:
    """A string field (a number is taken as its digits); "" when absent; 47001 for anything else."""
    value = data.get(name, "")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ApiError(47001, f"{name} must be a string")
    return value


def int_field(data: Mapping[str, Any], name: str, default: int) -> int:
    """An integer field (or its digits as a string), ``default`` when absent; 40097 for anything else."""
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ApiError(40097, f"{name} must be an integer")
    try:
        return int(value)
    except ValueError:
        raise ApiError(40097, f"{name} must be an integer") from None


def _page(data: Mapping[str, Any]) -> tuple[int, int, bool]:
    offset, count = int_field(data, "offset", 0), int_field(data, "count", PAGE_MAX)
    if offset < 0 or not 1 <= count <= PAGE_MAX:
        raise ApiError(40097, f"offset >= 0 and count 1..{PAGE_MAX}")
    return offset, count, int_field(data, "no_content", 0) == 1


# --- access tokens ---------------------------------------------------------------------


def _check_credentials(values: Mapping[str, Any]) -> None:
    appid, secret = values.get("appid"), values.get("secret")
    if not appid:
        raise ApiError(41002)
    if values.get("grant_type") != "client_credential":
        raise ApiError(40002)
    if appid != setting("WECHAT_SANDBOX_APP_ID"):
        raise ApiError(40013)
    if not secret:
        raise ApiError(41004)
    if not hmac.compare_digest(str(secret).encode(), app_secret().encode()):  # as bytes: str must be ASCII
        raise ApiError(40125)


@endpoint("token", methods=("GET",), needs_token=False)
def token(store: Store) -> dict[str, Any]:
    """GET token: a new access token each time; the previous one lives 5 more minutes."""
    _check_credentials(request.args)
    access_token, expires_in = store.issue_token(int(setting("WECHAT_SANDBOX_TOKEN_TTL")))
    return {"access_token": access_token, "expires_in": expires_in}


@endpoint("stable_token", needs_token=False)
def stable_token(store: Store) -> dict[str, Any]:
    """POST stable_token: the same token until it nears expiry, unless force_refresh."""
    data = json_body()
    _check_credentials(data)
    force = data.get("force_refresh", False) is True
    access_token, expires_in = store.stable_token(int(setting("WECHAT_SANDBOX_TOKEN_TTL")), force)
    return {"access_token": access_token, "expires_in": expires_in}


# --- images ----------------------------------------------------------------------------


def _upload(kinds: frozenset[str], max_bytes: int) -> tuple[bytes, str]:
    try:
        file = request.files.get("media")
    except RequestEntityTooLarge:  # the app's MAX_CONTENT_LENGTH is below the platform's limit
        raise ApiError(40009, "larger than this server accepts") from None
    if file is None:
        raise ApiError(41005)
    data = file.read()
    if not data:
        raise ApiError(44001)
    kind = next((k for k, (magic, _) in IMAGE_MAGIC.items() if data.startswith(magic)), None)
    if kind not in kinds:
        raise ApiError(40005, "allowed: " + "/".join(sorted(kinds)))
    if len(data) > max_bytes:
        raise ApiError(40009, f"at most {max_bytes} bytes")
    if len(data) > _max_call_bytes():
        raise _too_large()
    return data, kind


def _keep_image(store: Store, data: bytes, kind: str) -> str:
    name = store.put_image(data, IMAGE_MAGIC[kind][1], kind)
    return url_for(".media", name=name, _external=True)


@endpoint("media/uploadimg")
def upload_image(store: Store) -> dict[str, Any]:
    """POST media/uploadimg: an image for article bodies (jpg/png under 1 MB) → its URL."""
    data, kind = _upload(UPLOADIMG_KINDS, UPLOADIMG_MAX_BYTES)
    return {"url": _keep_image(store, data, kind)}


@endpoint("material/add_material")
def add_material(store: Store) -> dict[str, Any]:
    """POST material/add_material?type=image: a permanent image (≤ 10 MB) → media_id, URL."""
    if request.args.get("type") != "image":
        raise ApiError(40004, "the sandbox keeps image materials only")
    data, kind = _upload(MATERIAL_KINDS, MATERIAL_MAX_BYTES)
    url = _keep_image(store, data, kind)
    return {"media_id": store.add_material(url), "url": url}


def media(name: str) -> Response:
    """Serve an uploaded image, as the platform's image CDN would."""
    found = open_store().image(name)
    if found is None:
        abort(404)
    data, content_type = found
    response = Response(data, mimetype=content_type)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- drafts ----------------------------------------------------------------------------


def _plain_text(content: str) -> str:
    content = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", content, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", content)).split())


def _news_item(store: Store, raw: object, single: bool) -> dict[str, Any]:
    """One article of draft/add, checked against the official limits."""
    if not isinstance(raw, dict):
        raise ApiError(47001, "each article must be an object")
    title, digest, content = text_field(raw, "title"), text_field(raw, "digest"), text_field(raw, "content")
    if not title:
        raise ApiError(47001, "title missing")
    if len(title) > TITLE_MAX:
        raise ApiError(45003, f"title is {len(title)} > {TITLE_MAX} characters")
    if len(digest) > DIGEST_MAX:
        raise ApiError(45004, f"digest is {len(digest)} > {DIGEST_MAX} characters")
    if not content:
        raise ApiError(44004)
    if len(content) >= CONTENT_MAX_CHARS or len(content.encode()) >= CONTENT_MAX_BYTES:
        raise ApiError(45002, f"content must be < {CONTENT_MAX_CHARS} characters and < 1 MB")
    thumb_media_id = text_field(raw, "thumb_media_id")
    thumb_url = store.material_url(thumb_media_id) if thumb_media_id else None
    if thumb_url is None:
        raise ApiError(40007, "thumb_media_id must be a permanent material")
    if not digest and single:
        digest = _plain_text(content)[:DIGEST_DEFAULT_CHARS]
    return {
        "title": title,
        "author": text_field(raw, "author"),
        "digest": digest,
        "content": content,
        "content_source_url": text_field(raw, "content_source_url"),
        "thumb_media_id": thumb_media_id,
        "thumb_url": thumb_url,
        "need_open_comment": 1 if int_field(raw, "need_open_comment", 0) else 0,
        "only_fans_can_comment": 1 if int_field(raw, "only_fans_can_comment", 0) else 0,
        "url": "",
    }


def _without_content(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in item.items() if k != "content"} for item in items]


@endpoint("draft/add")
def add_draft(store: Store) -> dict[str, Any]:
    """POST draft/add: save up to 8 articles as one draft → media_id."""
    articles = json_body().get("articles")
    if not isinstance(articles, list) or not articles:
        raise ApiError(44003)
    if len(articles) > ARTICLES_MAX:
        raise ApiError(45008, f"at most {ARTICLES_MAX} articles")
    news_item = [_news_item(store, raw, single=len(articles) == 1) for raw in articles]
    return {"media_id": store.add_draft(news_item)}


def _draft_or_40007(store: Store, media_id: str) -> dict[str, Any]:
    draft = store.draft(media_id) if media_id else None
    if draft is None:
        raise ApiError(40007)
    return draft


@endpoint("draft/get")
def get_draft(store: Store) -> dict[str, Any]:
    """POST draft/get: a draft's articles."""
    return _draft_or_40007(store, text_field(json_body(), "media_id"))


@endpoint("draft/delete")
def delete_draft(store: Store) -> dict[str, Any]:
    """POST draft/delete: remove a draft."""
    if not store.delete_draft(text_field(json_body(), "media_id")):
        raise ApiError(40007)
    return {"errcode": 0, "errmsg": "ok"}


@endpoint("draft/batchget")
def list_drafts(store: Store) -> dict[str, Any]:
    """POST draft/batchget: a page of drafts, newest first."""
    offset, count, no_content = _page(json_body())
    total, page = store.drafts(offset, count)
    items = []
    for media_id, draft in page:
        news_item = _without_content(draft["news_item"]) if no_content else draft["news_item"]
        content = {**draft, "news_item": news_item}
        items.append({"media_id": media_id, "content": content, "update_time": draft["update_time"]})
    return {"total_count": total, "item_count": len(items), "item": items}


@endpoint("draft/count", methods=("GET", "POST"))
def count_drafts(store: Store) -> dict[str, Any]:
    """GET draft/count: how many drafts there are."""
    return {"total_count": store.drafts(0, 1)[0]}


# --- publishing ------------------------------------------------------------------------


def callback() -> Callback | None:
    """The developer's server events are pushed to, as configured now; None when there is none."""
    url = setting("WECHAT_SANDBOX_CALLBACK_URL")
    if not url:
        return None
    return Callback(
        url=url,
        token=setting("WECHAT_TOKEN"),
        aes_key=setting("WECHAT_ENCODING_AES_KEY"),
        app_id=setting("WECHAT_SANDBOX_APP_ID"),
    )


def _article_url(article_id: str, idx: int) -> str:
    return url_for(".article", article_id=article_id, idx=idx if idx > 1 else None, _external=True)


@endpoint("freepublish/submit")
def submit(store: Store) -> dict[str, Any]:
    """POST freepublish/submit: start publishing a draft; the outcome comes later."""
    media_id = text_field(json_body(), "media_id")
    _draft_or_40007(store, media_id)
    fault = store.take_fault("freepublish/submit", OUTCOME_FAULT_MODES)
    outcome = PublishStatus(fault["publish_status"]) if fault else PublishStatus.SUCCESS
    delay = float(setting("WECHAT_SANDBOX_PUBLISH_DELAY"))
    job = store.submit(media_id, delay, outcome, _article_url)
    if job is None:  # another call published this draft a moment ago
        raise ApiError(40007)
    developer = callback()
    if developer is not None:
        succeeded = outcome == PublishStatus.SUCCESS
        urls = [_article_url(job["article_id"], idx) for idx in range(1, job["count"] + 1)]
        developer.push_later(delay, job, int(outcome), urls if succeeded else [])
    return {
        "errcode": 0,
        "errmsg": "ok",
        "publish_id": job["publish_id"],
        "msg_data_id": job["msg_data_id"],
    }


def _status(store: Store, job: dict[str, Any]) -> PublishStatus:
    """The job's status now: publishing until its time, then its outcome.

    A success whose articles the account has since deleted reads as status 5.
    """
    if store.clock() < job["ready_at"]:
        return PublishStatus.PUBLISHING
    outcome = PublishStatus(job["outcome"])
    if outcome == PublishStatus.SUCCESS:
        article = store.article(job["article_id"])
        if article is not None and all(item["is_deleted"] for item in article["news_item"]):
            return PublishStatus.DELETED_BY_USER
    return outcome


@endpoint("freepublish/get")
def publish_status(store: Store) -> dict[str, Any]:
    """POST freepublish/get: where a publish job stands."""
    job = store.publish_job(text_field(json_body(), "publish_id"))
    if job is None:
        raise ApiError(53502)
    status = _status(store, job)
    body: dict[str, Any] = {"publish_id": job["publish_id"], "publish_status": int(status)}
    if status == PublishStatus.SUCCESS:
        article = store.article(job["article_id"]) or {"news_item": []}
        items = [{"idx": idx, "article_url": item["url"]} for idx, item in enumerate(article["news_item"], 1)]
        body["article_id"] = job["article_id"]
        body["article_detail"] = {"count": len(items), "item": items}
    elif job["article_id"] and status != PublishStatus.PUBLISHING:
        body["article_id"] = job["article_id"]
    failed = status not in (PublishStatus.SUCCESS, PublishStatus.PUBLISHING)
    body["fail_idx"] = list(range(1, job["count"] + 1)) if failed else []
    return body


def _article_or_53600(store: Store, article_id: str) -> dict[str, Any]:
    article = store.article(article_id) if article_id else None
    if article is None:
        raise ApiError(53600)
    return article


@endpoint("freepublish/getarticle")
def get_article(store: Store) -> dict[str, Any]:
    """POST freepublish/getarticle: a published article, deleted items flagged."""
    article = _article_or_53600(store, text_field(json_body(), "article_id"))
    return {"news_item": article["news_item"]}


@endpoint("freepublish/batchget")
def list_articles(store: Store) -> dict[str, Any]:
    """POST freepublish/batchget: published articles, newest first, deleted ones left out."""
    offset, count, no_content = _page(json_body())
    total, page = store.articles(offset, count)
    items = []
    for article in page:
        news_item = [item for item in article["news_item"] if not item["is_deleted"]]
        if no_content:
            news_item = _without_content(news_item)
        update_time = int(article["published_at"])
        content = {"news_item": news_item, "create_time": update_time, "update_time": update_time}
        items.append({"article_id": article["article_id"], "content": content, "update_time": update_time})
    return {"total_count": total, "item_count": len(items), "item": items}


@endpoint("freepublish/delete")
def delete_article(store: Store) -> dict[str, Any]:
    """POST freepublish/delete: delete one item (index ≥ 1) or all (0) of an article."""
    data = json_body()
    if not store.delete_article(text_field(data, "article_id"), int_field(data, "index", 0)):
        raise ApiError(53600)
    return {"errcode": 0, "errmsg": "ok"}


# --- test switches ---------------------------------------------------------------------


def _fault_spec(raw: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Check a fault as POSTed to /_faults; raises ValueError naming what is wrong."""
    times = raw.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError("times must be an integer >= 1")
    if "publish_status" in raw:
        status = raw["publish_status"]
        if status not in range(2, 7) or isinstance(status, bool):
            raise ValueError("publish_status must be 2..6")
        spec = {"mode": "publish_status", "path": "freepublish/submit", "publish_status": status}
        return spec, times
    if "mass_status" in raw:
        status = raw["mass_status"]
        if not isinstance(status, str) or not MASS_FAILURE.fullmatch(status):
            raise ValueError("mass_status must be 'send fail' or 'err(<5 digits>)'")
        return {"mode": "mass_status", "path": "message/mass/sendall", "mass_status": status}, times
    path = raw.get("path", "*")
    if path != "*" and path not in ENDPOINTS:
        raise ValueError(f"unknown path {path!r}; use '*' or one of {sorted(ENDPOINTS)}")
    mode = raw.get("mode", "errcode")
    if mode == "errcode":
        errcode = raw.get("errcode")
        if isinstance(errcode, bool) or not isinstance(errcode, int) or errcode == 0:
            raise ValueError("errcode must be a non-zero integer")
        return {"mode": mode, "path": path, "errcode": errcode}, times
    if mode == "http500":
        return {"mode": mode, "path": path}, times
    if mode == "delay":
        seconds = raw.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= 60:
            raise ValueError("seconds must be a number 0..60")
        return {"mode": mode, "path": path, "seconds": float(seconds)}, times
    raise ValueError("mode must be errcode, http500, delay or expire_token (or give publish_status / mass_status)")


@admin_switch
def faults() -> tuple[Response, int] | Response:
    """GET lists, POST arms, DELETE disarms the sandbox's faults."""
    store = open_store()
    if request.method == "GET":
        return jsonify(store.faults())
    if request.method == "DELETE":
        store.clear_faults()
        return jsonify({"ok": True})
    raw = request.get_json(silent=True)
    if not isinstance(raw, dict):
        return jsonify({"error": "a JSON object is expected"}), 400
    if raw.get("mode") == "expire_token":
        return jsonify({"ok": True, "expired": store.expire_tokens()})
    try:
        spec, times = _fault_spec(raw)
    except ValueError as error:
        return jsonify({"error": str(error)}), 400
    try:
        fault_id = store.add_fault(spec, times)
    except TooManyFaults:
        return jsonify({"error": "too many faults armed; DELETE /_faults first"}), 400
    return jsonify({**spec, "id": fault_id, "times": times}), 201


@admin_switch
def calls() -> Response:
    """GET the API calls logged since the last DELETE; DELETE empties the log."""
    store = open_store()
    if request.method == "DELETE":
        store.clear_calls()
        return jsonify({"ok": True})
    return jsonify(store.calls())


@admin_switch
def alter() -> tuple[Response, int] | Response:
    """POST `{article_id, find, replace}`: alter a published article's text (the read-back's mismatch path)."""
    raw = request.get_json(silent=True)
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in ("article_id", "find", "replace")):
        return jsonify({"error": "article_id, find and replace (strings) are expected"}), 400
    if not raw["find"] or not open_store().alter_article(raw["article_id"], raw["find"], raw["replace"]):
        return jsonify({"error": "no published article with that text"}), 404
    return jsonify({"ok": True})


def register(bp: Blueprint) -> None:
    """Add the API's routes to the sandbox blueprint."""
    bp.add_url_rule("/cgi-bin/<path:name>", "cgi_bin", cgi_bin, methods=["GET", "POST"])
    bp.add_url_rule("/media/<name>", "media", media)
    bp.add_url_rule("/_faults", "faults", faults, methods=["GET", "POST", "DELETE"])
    bp.add_url_rule("/_calls", "calls", calls, methods=["GET", "DELETE"])
    bp.add_url_rule("/_alter", "alter", alter, methods=["POST"])
