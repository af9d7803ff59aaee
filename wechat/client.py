"""The WeChat API client: wechatpy pointed at our API origin, one shared token, errors as channel errors.

wechatpy knows the paths and fields; what it lacks for a fleet of workers is added here:
`stable_token` instead of `token` (a call never voids another worker's token), the token
kept in Redis for every process and refreshed under a Redis lock, and every failure
mapped to `TransientError` (try again later) or `PermanentError` (tell the office why).
wechatpy's own token retry is off: it re-sends an exhausted upload file and refreshes
without a lock. Callers pass uploads as `(filename, bytes, mime)` tuples, which requests
can encode again on our one retry.
"""

from __future__ import annotations

import json
from contextlib import suppress
from typing import Any

import redis
import requests
from flask import current_app
from flask_babel import gettext
from redis.exceptions import LockError
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from app.extensions import get_redis
from publishing.channels import PermanentError, TransientError
from wechat.sandbox.config import app_secret, setting

#: Where the worker finds the built-in sandbox when no real account is configured (interface §7).
DEFAULT_SANDBOX_BASE = "http://127.0.0.1:5000/sandbox/wechat"
#: interface §5: a WeChat call times out after at most 15 s.
MAX_TIMEOUT = 15.0
DEFAULT_TIMEOUT = 10.0

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
#: Worth trying again later: the platform is busy or a quota resets.
BUSY_ERRORS = frozenset({-1, 45009, 45011, 45033})

#: What an errcode means, for the office (official wording, shortened).
MEANINGS: dict[int, str] = {
    -1: "系统繁忙，请稍后再试",
    40001: "access_token 无效或不是最新",
    40004: "不合法的媒体文件类型",
    40005: "不合法的文件类型（正文图片须为 JPG/PNG）",
    40007: "不合法的媒体文件 ID（草稿或素材不存在）",
    40009: "图片大小超过限制",
    40013: "不合法的 AppID，请检查 WECHAT_APP_ID",
    40014: "不合法的 access_token",
    40125: "AppSecret 无效，请检查 WECHAT_APP_SECRET",
    40164: "调用接口的 IP 地址不在公众号的 IP 白名单中",
    41001: "缺少 access_token",
    42001: "access_token 已过期",
    44001: "上传的文件为空",
    44002: "POST 数据包为空",
    44003: "图文消息内容为空",
    44004: "正文为空",
    45002: "正文超过长度限制",
    45003: "标题超过长度限制",
    45004: "摘要超过长度限制",
    45008: "图文消息的文章数超过限制",
    45009: "接口调用超过每日限额",
    45011: "接口调用太频繁，请稍后再试",
    45028: "没有群发配额（本期群发次数已用完）",
    45065: "相同 clientmsgid 的群发已提交过",
    45066: "相同 clientmsgid 重试过快，请间隔 1 分钟再试",
    47001: "数据格式错误",
    48001: "公众号未获得该接口权限",
    53502: "发布任务 ID（publish_id）无效",
    53503: "该草稿未通过发布检查",
    53504: "需前往公众平台官网使用该草稿",
    53505: "请在公众平台手动保存成功后再发表",
    53600: "文章 ID（article_id）无效",
    61004: "调用接口的 IP 地址不在白名单中",
}


class WechatTransient(TransientError):
    """A call that may succeed later; `errcode` is None for network and HTTP failures."""

    def __init__(self, reason: str, errcode: int | None = None) -> None:
        super().__init__(reason)
        self.errcode = errcode


class WechatPermanent(PermanentError):
    """A call the platform refused for good; channels look at `errcode` (40007, 53600 …) and, where the
    refusal carries data (45065 hands back the earlier msg_id), at `answer`, the decoded body."""

    def __init__(self, reason: str, errcode: int | None = None, answer: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.errcode = errcode
        self.answer = answer


def api_error(errcode: int, endpoint: str) -> WechatTransient | WechatPermanent:
    """The channel error for an API answer with a non-zero errcode."""
    meaning = MEANINGS.get(errcode, gettext("未知错误"))
    reason = gettext("微信接口返回 %(code)s：%(meaning)s（%(endpoint)s）", code=errcode, meaning=meaning,
                     endpoint=endpoint)
    if errcode in BUSY_ERRORS or errcode in TOKEN_ERRORS:
        return WechatTransient(reason, errcode)
    return WechatPermanent(reason, errcode)


def http_error(status: int, endpoint: str) -> WechatTransient | WechatPermanent:
    """The channel error for an HTTP failure: 5xx, 408 and 429 are worth another try, the rest is not."""
    reason = gettext("微信接口 HTTP %(status)s（%(endpoint)s）", status=status, endpoint=endpoint)
    if status >= 500 or status in (408, 429):
        return WechatTransient(reason)
    return WechatPermanent(reason)


def network_error(error: requests.RequestException, endpoint: str, timeout: float) -> WechatTransient:
    """Timeouts and connection failures: the call may or may not have taken effect."""
    if isinstance(error, requests.Timeout):
        return WechatTransient(gettext("微信接口 %(seconds)s 秒未应答（%(endpoint)s）", seconds=f"{timeout:g}",
                                       endpoint=endpoint))
    return WechatTransient(gettext("无法连接微信接口（%(endpoint)s）：%(error)s", endpoint=endpoint,
                                   error=type(error).__name__))


def _answer_of(error: WeChatClientException) -> dict[str, Any] | None:
    """The body of a refused call, when it is JSON."""
    try:
        answer = error.response.json() if error.response is not None else None
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _endpoint(url: str) -> str:
    return url.split("/cgi-bin/", 1)[-1].split("?", 1)[0]


class WechatClient(WeChatClient):
    """wechatpy's client on our API origin, with a Redis-shared stable token and channel errors."""

    #: A token is refreshed this long before it expires (stable_token hands out a new one then).
    REFRESH_MARGIN = 300

    def __init__(self, app_id: str, secret: str, *, base: str, redis_client: redis.Redis,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(app_id, secret, timeout=min(timeout, MAX_TIMEOUT), auto_retry=False)
        self.API_BASE_URL = f"{base.rstrip('/')}/cgi-bin/"
        self.redis = redis_client
        self.token_key = f"huiying:wechat:{app_id}:access_token"

    # --- the token ---------------------------------------------------------------------

    @property
    def access_token(self) -> str:  # type: ignore[override]
        """The shared token from Redis; fetched under the lock when there is none."""
        cached = self.redis.get(self.token_key)
        if cached is not None:
            return cached.decode()
        return self.refresh_token(stale=None)

    def refresh_token(self, stale: str | None) -> str:
        """Replace `stale` (or fill an empty cache) once for all processes.

        Under the lock, a token other than `stale` means another process refreshed
        already. A plain stable_token call renews an expired token; only when it hands
        back the very token the API refused is the refresh forced (force_refresh is
        rationed by the platform and voids the token for everyone).
        """
        lock = self.redis.lock(f"{self.token_key}:lock", timeout=30, blocking_timeout=20)
        if not lock.acquire():
            raise WechatTransient(gettext("等待微信 access_token 刷新超时"))
        try:
            cached = self.redis.get(self.token_key)
            if cached is not None and cached.decode() != stale:
                return cached.decode()
            answer = self.fetch_access_token()
            if stale is not None and answer["access_token"] == stale:
                answer = self.fetch_access_token(force_refresh=True)
            return answer["access_token"]
        finally:
            with suppress(LockError):  # it outlived its timeout: the token we got is still good
                lock.release()

    def fetch_access_token(self, force_refresh: bool = False) -> dict[str, Any]:
        """POST cgi-bin/stable_token and keep the token in Redis; call under the lock."""
        url = f"{self.API_BASE_URL}stable_token"
        body = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
                "force_refresh": force_refresh}
        try:
            res = self._http.post(url, data=json.dumps(body).encode(), timeout=self.timeout)
        except requests.RequestException as error:
            raise network_error(error, "stable_token", self.timeout) from error
        if res.status_code >= 400:
            raise http_error(res.status_code, "stable_token")
        answer = self._json(res, "stable_token")
        if answer.get("errcode"):
            raise api_error(int(answer["errcode"]), "stable_token")
        expires_in = int(answer.get("expires_in", 7200))
        keep = expires_in - self.REFRESH_MARGIN if expires_in > 2 * self.REFRESH_MARGIN else expires_in // 2
        self.redis.set(self.token_key, answer["access_token"], ex=max(keep, 1))
        return answer

    # --- every call ----------------------------------------------------------------------

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        """One API call: a token error refreshes the token once and retries once, then it is transient."""
        endpoint = _endpoint(url_or_endpoint)
        for attempt in (1, 2):
            token = self.access_token
            params = {**(kwargs.get("params") or {}), "access_token": token}
            try:
                result = super()._request(method, url_or_endpoint, **{**kwargs, "params": params})
            except WeChatClientException as error:
                if error.errcode in TOKEN_ERRORS and attempt == 1:
                    self.refresh_token(stale=token)
                    continue
                if error.errcode is None:
                    status = error.response.status_code if error.response is not None else 502
                    raise http_error(status, endpoint) from error
                failure = api_error(int(error.errcode), endpoint)
                if isinstance(failure, WechatPermanent):
                    failure.answer = _answer_of(error)
                raise failure from error
            except requests.RequestException as error:
                raise network_error(error, endpoint, self.timeout) from error
            if isinstance(result, requests.Response):  # wechatpy hands back what it cannot decode
                raise WechatTransient(gettext("微信接口应答无法解析（%(endpoint)s）", endpoint=endpoint))
            return result
        raise AssertionError("unreachable")

    @staticmethod
    def _json(res: requests.Response, endpoint: str) -> dict[str, Any]:
        try:
            answer = res.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise WechatTransient(gettext("微信接口应答无法解析（%(endpoint)s）", endpoint=endpoint))
        return answer

    # --- uploads from bytes --------------------------------------------------------------

    def upload_body_image(self, data: bytes, filename: str, mime: str) -> str:
        """media/uploadimg: an image for the article body (JPG/PNG under 1 MB) → its URL."""
        return self.media.upload_image((filename, data, mime))

    def add_image_material(self, data: bytes, filename: str, mime: str) -> dict[str, Any]:
        """material/add_material?type=image: a permanent image (the cover) → media_id, url."""
        return self.material.add("image", (filename, data, mime))


def account() -> tuple[str, str, str]:
    """App id, secret and API origin: the configured account, else the built-in sandbox."""
    config = current_app.config
    if config.get("WECHAT_APP_ID"):
        return config["WECHAT_APP_ID"], config.get("WECHAT_APP_SECRET") or "", config["WECHAT_API_BASE"]
    base = config.get("WECHAT_SANDBOX_BASE") or DEFAULT_SANDBOX_BASE
    return setting("WECHAT_SANDBOX_APP_ID"), app_secret(), base


def from_app() -> WechatClient:
    """A client for the current app's account, sharing its token through the app's Redis."""
    app_id, secret, base = account()
    timeout = float(current_app.config.get("WECHAT_TIMEOUT") or DEFAULT_TIMEOUT)
    return WechatClient(app_id, secret, base=base, redis_client=get_redis(), timeout=timeout)
