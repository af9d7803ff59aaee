"""The sandbox's mass-send API (群发, interface §14): ``message/mass/sendall``, ``get``, ``delete``, ``preview``,
with the official fields and errcodes, and the switches that stand for the account admin's phone.

They run through the same pipeline as every ``/cgi-bin/`` call (`wechat.sandbox.api`): token, armed faults,
call log. A mass send is a job (`wechat.sandbox.mass`) that finishes lazily; the first read after it is due,
or a timer set when it was sent or confirmed, pushes its ``MASSSENDJOBFINISH`` event, once. An accepted send
spends one of the period's quota (``WECHAT_ACCOUNT_TYPE``, ``WECHAT_MASS_PERIOD_SECONDS``); a refused one
none. ``/_mass/<msg_id>/confirm|reject`` and ``/_mass/protection`` are what the admin does on a phone
(群发保护): admin-only test switches like ``/_faults``, also reachable from buttons on the viewer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import redis
from flask import Blueprint, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue

from wechat.sandbox import quota
from wechat.sandbox.access import admin_switch
from wechat.sandbox.api import (
    MASS_OUTCOME_FAULT_MODES,
    ApiError,
    callback,
    endpoint,
    int_field,
    json_body,
    open_store,
    text_field,
)
from wechat.sandbox.config import app_secret, setting
from wechat.sandbox.events import later, mass_event_xml
from wechat.sandbox.mass import (
    SENT,
    ClientMsgIdUsed,
    Deletion,
    MassSends,
    NoDraft,
    NoQuota,
    Plan,
    PreviewLimit,
)
from wechat.sandbox.store import Store

log = logging.getLogger(__name__)

SENDALL = "message/mass/sendall"
CLIENTMSGID_MAX_BYTES = 64
#: A WeChat ID (微信号) as WeChat lets one be chosen: 6–20 letters, digits, "_" or "-", beginning with a letter.
WECHAT_ID = re.compile(r"[A-Za-z][-_A-Za-z0-9]{5,19}")
#: An openid, which a preview may name instead (``touser``).
OPENID = re.compile(r"[-_A-Za-z0-9]{20,64}")
#: ``mid`` is a msg_data_id; larger than any the sandbox gives is no article.
MID_MAX = 10**12


# --- article URLs ----------------------------------------------------------------------


def biz() -> str:
    """The account's ``__biz``: base64 of a number fixed for the AppID, as WeChat's look."""
    number = int(hashlib.sha1(setting("WECHAT_SANDBOX_APP_ID").encode()).hexdigest()[:8], 16)
    return base64.b64encode(str(number).encode()).decode()


def signature(msg_data_id: int, idx: int) -> str:
    """The ``sn`` of an article URL: only the sandbox (which knows the account's secret) makes valid ones."""
    message = f"{msg_data_id}:{idx}".encode()
    return hmac.new(app_secret().encode(), message, hashlib.sha256).hexdigest()[:32]


def article_url(msg_data_id: int, idx: int) -> str:
    """``<sandbox>/s?__biz=…&mid=…&idx=…&sn=…``, the address of article ``idx`` of a mass send."""
    query = (f"__biz={quote(biz(), safe='=')}&mid={msg_data_id}&idx={idx}"
             f"&sn={signature(msg_data_id, idx)}")
    return f"{url_for('.mass_article', _external=True)}?{query}"


# --- finishing jobs ----------------------------------------------------------------------


def settle(store: Store, job: dict[str, Any]) -> None:
    """A read of ``job``: the first one after it is due finishes it and pushes its event (on a thread)."""
    if job["finished_at"] is not None or store.clock() < job["ready_at"]:
        return
    done = MassSends(store).finish(int(job["msg_id"]))
    developer = callback()
    if done is not None and developer is not None:
        later(0, lambda: developer.send(mass_event_xml(developer.app_id, done)))


def _finish_later(store: Store, job: dict[str, Any]) -> None:
    """Push the job's event when it falls due, without anyone reading it (the app hears without polling)."""
    developer = callback()
    if developer is None:
        return
    mass = MassSends(store)
    msg_id, nonce = int(job["msg_id"]), str(job["nonce"])

    def run() -> None:
        try:
            done = mass.finish(msg_id, nonce)
        except redis.RedisError as error:
            log.info("sandbox mass send %s not finished by its timer: %s", msg_id, error)
            return
        if done is not None:
            developer.send(mass_event_xml(developer.app_id, done))

    later(job["ready_at"] - store.clock(), run)


# --- the endpoints -----------------------------------------------------------------------


def _media_id(data: dict[str, Any]) -> str:
    if data.get("msgtype") != "mpnews":
        raise ApiError(40008, "the sandbox mass-sends mpnews (a draft's articles) only")
    mpnews = data.get("mpnews")
    media_id = text_field(mpnews, "media_id") if isinstance(mpnews, dict) else ""
    if not media_id:
        raise ApiError(40007, "mpnews.media_id must name a draft (draft/add)")
    return media_id


def current_period(store: Store) -> quota.Period:
    """The mass-send period the account is in now, by its settings."""
    seconds = setting("WECHAT_MASS_PERIOD_SECONDS")
    return quota.mass_period(store.clock(), str(setting("WECHAT_ACCOUNT_TYPE")), int(seconds) if seconds else None)


@endpoint(SENDALL)
def sendall(store: Store) -> dict[str, Any]:
    """POST message/mass/sendall: send a draft to every follower, once per ``clientmsgid``, within the quota."""
    data = json_body()
    audience = data.get("filter")
    if not isinstance(audience, dict) or audience.get("is_to_all") is not True:
        raise ApiError(40097, "the sandbox mass-sends to all followers: filter.is_to_all must be true")
    media_id = _media_id(data)
    clientmsgid = text_field(data, "clientmsgid")
    if len(clientmsgid.encode()) > CLIENTMSGID_MAX_BYTES:
        raise ApiError(45067, f"at most {CLIENTMSGID_MAX_BYTES} bytes")
    mass = MassSends(store)

    def plan() -> Plan:  # only once the send is accepted: a refused one consumes no armed outcome
        fault = store.take_fault(SENDALL, MASS_OUTCOME_FAULT_MODES)
        return Plan(
            delay=float(setting("WECHAT_SANDBOX_PUBLISH_DELAY")),
            protected=mass.protection(bool(setting("WECHAT_SANDBOX_MASS_PROTECTION"))),
            result=fault["mass_status"] if fault else SENT,
            followers=int(setting("WECHAT_SANDBOX_FOLLOWERS")),
        )

    try:
        job = mass.send(media_id, clientmsgid, current_period(store), plan, article_url)
    except ClientMsgIdUsed as used:
        raise ApiError(45065, extra={"msg_id": used.msg_id}) from None
    except NoDraft:
        raise ApiError(40007) from None
    except NoQuota:
        raise ApiError(45028, f"{setting('WECHAT_ACCOUNT_TYPE')} account, period spent") from None
    _finish_later(store, job)
    return {
        "errcode": 0,
        "errmsg": "send job submission success",
        "msg_id": job["msg_id"],
        "msg_data_id": job["msg_data_id"],
    }


def _msg_id(data: dict[str, Any]) -> int:
    if "msg_id" not in data:
        raise ApiError(40097, "msg_id missing")
    return int_field(data, "msg_id", 0)


def _job(store: Store, msg_id: int) -> dict[str, Any]:
    job = MassSends(store).job(msg_id)
    if job is None:
        raise ApiError(40007, "no mass send has this msg_id")
    settle(store, job)
    return job


@endpoint("message/mass/get")
def get(store: Store) -> dict[str, Any]:
    """POST message/mass/get: where a mass send stands (SENDING, SEND_SUCCESS, SEND_FAIL, DELETE)."""
    job = _job(store, _msg_id(json_body()))
    return {"msg_id": job["msg_id"], "msg_status": str(MassSends(store).status(job))}


def _msg_id_of_url(store: Store, url: str) -> int:
    mid = parse_qs(urlsplit(url).query).get("mid", [""])[0]
    job = MassSends(store).by_mid(int(mid)) if mid.isdecimal() and len(mid) <= len(str(MID_MAX)) else None
    if job is None:
        raise ApiError(40007, "no mass send has an article at this url")
    return int(job["msg_id"])


@endpoint("message/mass/delete")
def delete(store: Store) -> dict[str, Any]:
    """POST message/mass/delete: delete article ``article_idx`` (1-based; 0 or absent: all) of a sent mass send.

    The send is named by ``msg_id``, or else by one of its article ``url``s.
    """
    data = json_body()
    if "msg_id" in data:
        msg_id = _msg_id(data)
    elif text_field(data, "url"):
        msg_id = _msg_id_of_url(store, text_field(data, "url"))
    else:
        raise ApiError(40097, "msg_id or url missing")
    article_idx = int_field(data, "article_idx", 0)
    _job(store, msg_id)
    outcome = MassSends(store).delete(msg_id, article_idx)
    if outcome is None:
        raise ApiError(40007, "no mass send has this msg_id")
    if outcome is Deletion.NOT_SENT:
        raise ApiError(40097, "only a mass send that was sent can be deleted")
    if outcome is Deletion.NO_SUCH_ARTICLE:
        raise ApiError(40114, "article_idx beyond the articles of this mass send")
    return {"errcode": 0, "errmsg": "ok"}


@endpoint("message/mass/preview")
def preview(store: Store) -> dict[str, Any]:
    """POST message/mass/preview: send a draft to one WeChat ID to look at; no quota, nothing published."""
    data = json_body()
    media_id = _media_id(data)
    towxname, touser = text_field(data, "towxname"), text_field(data, "touser")
    if towxname and not WECHAT_ID.fullmatch(towxname):
        raise ApiError(40132, "a WeChat ID has 6-20 letters, digits, _ or -, beginning with a letter")
    if not towxname and not OPENID.fullmatch(touser):
        raise ApiError(40003 if touser else 40132, "towxname (a WeChat ID) or touser (an openid) missing")
    try:
        record = MassSends(store).preview(media_id, towxname or touser, quota.preview_day(store.clock()))
    except NoDraft:
        raise ApiError(40007) from None
    except PreviewLimit:
        raise ApiError(45009, f"{quota.PREVIEWS_PER_DAY} previews a day") from None
    return {"errcode": 0, "errmsg": "preview success", "msg_id": record["msg_id"]}


# --- the admin's phone (test switches) ---------------------------------------------------


def _from_a_form() -> bool:
    return request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")


def _answered(msg_id: int, done: bool | None, store: Store) -> ResponseReturnValue:
    job = MassSends(store).job(msg_id)
    if done is None or job is None:
        return jsonify({"error": "no mass send with that msg_id"}), 404
    status = str(MassSends(store).status(job))
    if not done:
        return jsonify({"error": "this mass send is not waiting for confirmation", "msg_status": status}), 409
    settle(store, job)
    _finish_later(store, job)
    if _from_a_form():
        return redirect(url_for(".mass"), 303)
    return jsonify({"ok": True, "msg_id": msg_id, "msg_status": status})


@admin_switch
def confirm(msg_id: int) -> ResponseReturnValue:
    """POST: the admin confirms a protected mass send on the phone; it sends now."""
    store = open_store()
    return _answered(msg_id, MassSends(store).confirm(msg_id), store)


@admin_switch
def reject(msg_id: int) -> ResponseReturnValue:
    """POST: the admin refuses a protected mass send on the phone; it fails (err(40001))."""
    store = open_store()
    return _answered(msg_id, MassSends(store).reject(msg_id), store)


@admin_switch
def protection() -> ResponseReturnValue:
    """GET whether mass sends wait for confirmation; POST ``{"on": bool}`` (or a form's ``on=1|0``) switches it."""
    mass = MassSends(open_store())
    if request.method == "POST":
        if _from_a_form():
            on: object = request.form.get("on") == "1"
        else:
            raw = request.get_json(silent=True)
            on = raw.get("on") if isinstance(raw, dict) else None
        if not isinstance(on, bool):
            return jsonify({"error": 'a JSON object {"on": true|false} is expected'}), 400
        mass.set_protection(on)
        if _from_a_form():
            return redirect(url_for(".mass"), 303)
    return jsonify({"protection": mass.protection(bool(setting("WECHAT_SANDBOX_MASS_PROTECTION")))})


def register(bp: Blueprint) -> None:
    """Add the admin's-phone switches to the sandbox blueprint (the endpoints register with the API's table)."""
    bp.add_url_rule("/_mass/<int:msg_id>/confirm", "mass_confirm", confirm, methods=["POST"])
    bp.add_url_rule("/_mass/<int:msg_id>/reject", "mass_reject", reject, methods=["POST"])
    bp.add_url_rule("/_mass/protection", "mass_protection", protection, methods=["GET", "POST"])
