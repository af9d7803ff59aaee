"""Signed webhook requests (interface §4): the portal push and the notification gateway sign alike."""

from __future__ import annotations

import hashlib
import hmac
import time


def sign(secret: str, timestamp: str, raw_body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signed_headers(secret: str, delivery_key: str, raw_body: bytes, *, user_agent: str) -> dict[str, str]:
    """The headers of one signed POST: the delivery's key (the same on every retry), a timestamp, the signature."""
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json; charset=utf-8",
        "X-Huiying-Delivery": delivery_key,
        "X-Huiying-Timestamp": timestamp,
        "X-Huiying-Signature": sign(secret, timestamp, raw_body),
        "User-Agent": user_agent,
    }
