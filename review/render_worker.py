"""The render helper process (`python -m review.render_worker`), driven by `review.renderings`.

One request per line on stdin, `{"fn": "module:function", "body": Markdown}`; one answer per line on the
answer pipe, `{"html": …, "data": …}` or `{"error": …}`. The parent kills this process when an answer takes
longer than the time budget, which is the whole point of running renderers here: a thread cannot be stopped,
and a check inside a parser's loops cannot interrupt one long regular-expression match. The renderers are linear
now (markdown-it-py, nh3): this is the safety net for what nobody foresaw.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any

_functions: dict[str, Callable[[str], Any]] = {}


def _function(name: str) -> Callable[[str], Any]:
    if name not in _functions:
        module, _sep, attr = name.partition(":")
        _functions[name] = getattr(importlib.import_module(module), attr)
    return _functions[name]


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """Run one renderer on one body; whatever goes wrong becomes an `error` answer, never a dead helper."""
    try:
        out = _function(request["fn"])(request["body"])
    except RecursionError:
        return {"error": "recursion"}
    except Exception as error:  # a renderer's bug must not take the helper down with it
        return {"error": f"{type(error).__name__}: {str(error)[:200]}"}
    html, data = (out, None) if isinstance(out, str) else out
    return {"html": html, "data": data}


def main() -> None:
    # Answers go to a private copy of stdout; anything a library prints lands on stderr instead.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr
    for line in sys.stdin.buffer:  # ends when the parent closes the pipe or dies
        reply = answer(json.loads(line))
        answers.write(json.dumps(reply, ensure_ascii=True).encode() + b"\n")
        answers.flush()


if __name__ == "__main__":
    main()
