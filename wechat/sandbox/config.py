"""The settings the sandbox reads from the app config, with the defaults it needs to run bare."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app

from app.config import instance_secret

#: Where the sandbox account's AppSecret is kept, in the instance folder (next to `secret_key`).
SECRET_FILE = "wechat_sandbox_secret"

DEFAULTS: dict[str, Any] = {
    "WECHAT_SANDBOX_APP_ID": "wxsandbox000000001",
    "WECHAT_SANDBOX_TOKEN_TTL": 7200,
    # Seconds a submitted publish job answers publish_status 1 before it finishes.
    "WECHAT_SANDBOX_PUBLISH_DELAY": 2.0,
    # Where the PUBLISHJOBFINISH and MASSSENDJOBFINISH events are POSTed; None pushes nothing.
    "WECHAT_SANDBOX_CALLBACK_URL": None,
    # Serves /_faults, /_calls and /_alter (to admins), the switches tests use to make the API misbehave,
    # and keeps the call log. Off unless configured: they break and expose real deliveries.
    "WECHAT_SANDBOX_FAULTS": False,
    # What one call may bring (the channel's images are under 1 MB, its drafts well under) …
    "WECHAT_SANDBOX_MAX_CALL_BYTES": 2 * 1024 * 1024,
    # … and what the sandbox keeps in Redis in all (images, materials, drafts, articles).
    "WECHAT_SANDBOX_MAX_BYTES": 64 * 1024 * 1024,
    "WECHAT_SANDBOX_ACCOUNT_NAME": "沙箱公众号",
    # The account's kind, which sets its mass-send quota (interface §14): "subscription" 1 a calendar day,
    # "service" 4 a calendar month (Asia/Shanghai) …
    "WECHAT_ACCOUNT_TYPE": "subscription",
    # … or, for tests and demos, periods of this many seconds from the Unix epoch (None: calendar periods).
    "WECHAT_MASS_PERIOD_SECONDS": None,
    # Mass sends wait for the admin's confirmation on a phone (群发保护) until switched at run time.
    "WECHAT_SANDBOX_MASS_PROTECTION": False,
    # Followers a mass send reaches (TotalCount, SentCount).
    "WECHAT_SANDBOX_FOLLOWERS": 1280,
    "WECHAT_TOKEN": "",
    "WECHAT_ENCODING_AES_KEY": None,
}


def setting(name: str) -> Any:
    """The app's value for ``name``, or the sandbox default when it is unset."""
    value = current_app.config.get(name)
    return DEFAULTS[name] if value is None else value


def app_secret() -> str:
    """The sandbox account's AppSecret: random per install and made on first use, never a built-in default, so
    that a demo left on a network cannot be used by others to publish "official" articles into it."""
    return instance_secret(Path(current_app.instance_path), SECRET_FILE)
