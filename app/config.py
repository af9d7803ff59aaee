"""Configuration from the environment (interface §2), with embedded defaults."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

#: The built-in sandbox's callback token; never accepted once a real account (WECHAT_APP_ID) is configured.
SANDBOX_WECHAT_TOKEN = "huiying-sandbox-token"


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def from_environment(instance_path: str) -> dict[str, object]:
    """Every setting the app reads, taken from os.environ with the contract's defaults."""
    env = os.environ
    instance = Path(instance_path)
    secret = env.get("SECRET_KEY") or instance_secret(instance, "secret_key")
    return {
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL") or f"sqlite:///{instance / 'huiying.db'}",
        "REDIS_URL": env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # Who speaks: named on the public portal and as the WeChat account in previews.
        "INSTITUTION_NAME": env.get("INSTITUTION_NAME", "").strip() or "河南省农业科学院",
        "EXPERT_APPROVALS_REQUIRED": int(env.get("EXPERT_APPROVALS_REQUIRED", "1")),
        "PORTAL_WEBHOOK_URL": env.get("PORTAL_WEBHOOK_URL") or None,
        "PORTAL_WEBHOOK_SECRET": env.get("PORTAL_WEBHOOK_SECRET", ""),
        # Copies of notifications beyond the inbox (interface §9); unset = inbox only.
        "SMTP_URL": env.get("SMTP_URL") or None,
        "MAIL_FROM": env.get("MAIL_FROM") or None,
        "NOTIFY_WEBHOOK_URL": env.get("NOTIFY_WEBHOOK_URL") or None,
        "NOTIFY_WEBHOOK_SECRET": env.get("NOTIFY_WEBHOOK_SECRET", ""),
        # Case clocks by level (interface §8), e.g. {"4": {"response": "5wd"}}; unset = 61号/80号 defaults.
        "CASE_DEADLINES": env.get("CASE_DEADLINES") or None,
        # Interaction clocks by channel (interface §15), e.g. {"wechat_comment": "1wd"}; unset = §15's defaults.
        "INTERACTION_DEADLINES": env.get("INTERACTION_DEADLINES") or None,
        "WECHAT_APP_ID": env.get("WECHAT_APP_ID") or None,
        # The built-in sandbox of the WeChat API (interface §13): served only when asked for, never with a real account.
        "WECHAT_SANDBOX": _bool(env.get("WECHAT_SANDBOX"), False),
        # Its fault switches and call log (for tests): off unless asked for, and then for admins only.
        "WECHAT_SANDBOX_FAULTS": _bool(env.get("WECHAT_SANDBOX_FAULTS"), False),
        # Its mass sends wait for the admin's confirmation on a phone (群发保护), and reach this many followers.
        "WECHAT_SANDBOX_MASS_PROTECTION": _bool(env.get("WECHAT_SANDBOX_MASS_PROTECTION"), False),
        "WECHAT_SANDBOX_FOLLOWERS": int(env.get("WECHAT_SANDBOX_FOLLOWERS") or "1280"),
        "WECHAT_APP_SECRET": env.get("WECHAT_APP_SECRET") or None,
        # A real account must name its own token: the sandbox's well-known one would let anyone sign pushes.
        "WECHAT_TOKEN": env.get("WECHAT_TOKEN") or (None if env.get("WECHAT_APP_ID") else SANDBOX_WECHAT_TOKEN),
        "WECHAT_ENCODING_AES_KEY": env.get("WECHAT_ENCODING_AES_KEY") or None,
        "WECHAT_API_BASE": env.get("WECHAT_API_BASE", "https://api.weixin.qq.com").rstrip("/"),
        # Outbox timing (interface §4: a claimed delivery's lease expires within 60 s).
        "DELIVERY_LEASE_SECONDS": float(env.get("DELIVERY_LEASE_SECONDS", "60")),
        "SWEEP_INTERVAL_SECONDS": int(env.get("SWEEP_INTERVAL_SECONDS", "30")),
        # Attempts at one delivery (counted when a worker claims it) before it fails and the office is told.
        "DELIVERY_MAX_ATTEMPTS": int(env.get("DELIVERY_MAX_ATTEMPTS", "8")),
        # Without WECHAT_APP_ID the channel talks to the built-in sandbox at this origin (interface §7).
        "WECHAT_SANDBOX_BASE": env.get("WECHAT_SANDBOX_BASE") or None,
        "WECHAT_SANDBOX_CALLBACK_URL": env.get("WECHAT_SANDBOX_CALLBACK_URL") or None,
        "WECHAT_TIMEOUT": float(env.get("WECHAT_TIMEOUT", "10")),
        # The account's mass-send quota (interface §14): subscription = 1 a day, service = 4 a month.
        "WECHAT_ACCOUNT_TYPE": env.get("WECHAT_ACCOUNT_TYPE", "subscription"),
        # Tests and demos only: mass-send periods are windows of this many seconds from the Unix epoch.
        "WECHAT_MASS_PERIOD_SECONDS": int(env["WECHAT_MASS_PERIOD_SECONDS"]) if env.get("WECHAT_MASS_PERIOD_SECONDS")
        else None,
        "MEDIA_ROOT": env.get("MEDIA_ROOT") or str(instance / "media"),
        # The ledger's checkpoint key (Ed25519 PEM, `huiying ledger keygen`) and where every signed checkpoint
        # is copied: both outside the database, so that its users cannot rewrite the record unseen.
        # No key file = no checkpoints.
        "LEDGER_SIGNING_KEY": env.get("LEDGER_SIGNING_KEY") or str(instance / "ledger_signing_key.pem"),
        "LEDGER_CHECKPOINT_DIR": env.get("LEDGER_CHECKPOINT_DIR") or str(instance / "ledger-checkpoints"),
        # Reverse proxies in front of the app (nginx = 1): only that many X-Forwarded-* hops are believed.
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), False),
        "REMEMBER_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # Uploads are ≤ 5 MB; anything larger is refused before it is read (413).
        "MAX_CONTENT_LENGTH": 6 * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "JSON_AS_ASCII": False,
        "PASSWORD_HASH_METHOD": env.get("PASSWORD_HASH_METHOD", "scrypt"),
    }


def wechat_sandbox_served(config: Mapping[str, Any]) -> bool:
    """Whether this app serves the WeChat sandbox under /sandbox/wechat: `WECHAT_SANDBOX=1` and no real account."""
    return bool(config.get("WECHAT_SANDBOX")) and not config.get("WECHAT_APP_ID")


def wechat_available(config: Mapping[str, Any]) -> bool:
    """Whether the WeChat channel can publish: a real account (`WECHAT_APP_ID`) or the sandbox (`WECHAT_SANDBOX=1`)."""
    return bool(config.get("WECHAT_APP_ID")) or bool(config.get("WECHAT_SANDBOX"))


def instance_secret(instance: Path, name: str) -> str:
    """A stable random secret of this install, kept in `instance/<name>` and made on first use, so that no
    default is shared by every install (sessions survive restarts; the web and worker processes agree)."""
    path = instance / name
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        draft = instance / f".{name}.{secrets.token_hex(8)}"
        draft.write_text(secrets.token_urlsafe(48))
        draft.chmod(0o600)
        try:
            os.link(draft, path)  # whole or not at all: a process starting alongside reads the same secret
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
