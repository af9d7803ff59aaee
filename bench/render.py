"""Render pipeline benchmark (issue 25.3): render + sanitize per body against plain `markdown.markdown`.

    python -m bench.render [--quick]

For each body of the render corpus (tests/review/render_corpus.py: the demo statements and the test bodies) and
a ~3,000-character statement, bodies per second of `review.render.to_safe_html` (markdown-it-py + nh3, its
per-text cache bypassed) and of `wechat.render.render_article`, against `markdown.markdown` on the same text with
no extension and no sanitizer (goal ≥ 1×; Python-Markdown + bleach made 0.25×). Prints its figures; asserts
nothing about time.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from bench import common
from bench.wechat import statement_text


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of `fn`, after one warm-up call."""
    fn()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        count += 1
    return count / (time.perf_counter() - start)


def corpus_rate(render: Callable[[str], object], bodies: list[str], seconds: float) -> float:
    """Bodies per second, rendering the whole corpus in turn."""
    return rate(lambda: [render(body) for body in bodies], seconds) * len(bodies)


def main(argv: list[str] | None = None) -> None:
    import markdown

    from review.render import to_safe_html
    from tests.review.render_corpus import BODIES
    from wechat.render import render_article

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    seconds = 0.5 if parser.parse_args(argv).quick else 2.0
    def portal(body: str) -> str:
        to_safe_html.cache_clear()  # its per-text cache would measure a dictionary lookup
        return to_safe_html(body)

    def wechat(body: str) -> object:
        to_safe_html.cache_clear()
        return render_article(body)

    rows = []
    for name, bodies in (("render corpus", list(BODIES.values())), ("statement", [statement_text()])):
        size = f"{len(bodies)} bodies, {sum(map(len, bodies)) // len(bodies)} chars avg"
        base = corpus_rate(markdown.markdown, bodies, seconds)
        for measure, render in (("render + sanitize (portal)", portal), ("WeChat article", wechat)):
            ours = corpus_rate(render, bodies, seconds)
            rows.append([measure, f"{name}: {size}", f"{ours:.0f}/s", f"markdown.markdown {base:.0f}/s",
                         f"{common.ratio(ours, base):.2f}×", "≥ 1×" if "portal" in measure else ""])
    print(common.table(["measure", "input", "ours", "baseline", "ratio", "goal"], rows))


if __name__ == "__main__":
    main()
