"""The app as gunicorn serves it in the benchmarks, plus `/bench/hello`: the same app and server doing
nothing, the baseline every figure is divided by.

Configuration comes from the environment (DATABASE_URL, REDIS_URL, …) as in production.
"""

from __future__ import annotations

import os

from app import create_app

app = create_app()


@app.get("/bench/hello")
def hello() -> str:
    return "ok"


@app.get("/bench/pid")
def pid() -> str:
    """Which process answered (bench/memory.py samples the RSS of the web worker)."""
    return str(os.getpid())
