"""A renderer that never finishes in time, for the render budget's tests (run in the render helper process):
markdown-it-py and nh3 are linear, so no text of a realistic size outlasts the budget any more."""

from __future__ import annotations

import time


def render(body: str) -> str:
    """Stand-in for a renderer stuck on some input nobody foresaw."""
    time.sleep(60)
    return body


def other(body: str) -> str:
    """Stand-in for a newer renderer whose output differs from the stored one."""
    return f"<p>新版排版：{len(body)}</p>"
