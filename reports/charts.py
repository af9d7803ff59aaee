"""Charts drawn on the server as SVG: bars, a weekly line, a donut. No script, no CDN, readable at 390 px.

Each chart scales to its container (`viewBox`, width 100 %) and carries a title for screen readers; the
page puts the same numbers in a table beneath it. Colours are presentation attributes, which the
Content-Security-Policy allows, not inline styles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

INK, MUTED, LINE = "#1d2733", "#5d6b7a", "#d7dde4"
BRAND, ACCENT, OK, AMBER = "#1f3a5f", "#b4232a", "#1e6b3a", "#c9830a"
FONT = 'font-family="sans-serif"'


def _svg(width: int, height: int, title: str, body: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f"{body}</svg>"
    )


def bars(title: str, items: Sequence[tuple[str, int]], colour: str = BRAND) -> Markup:
    """Horizontal bars, one row per label: long Chinese unit names stay legible on a phone."""
    row, label_w, width = 30, 130, 360
    top = max((v for _, v in items), default=0) or 1
    parts = []
    for i, (label, value) in enumerate(items):
        y = i * row + 4
        length = (width - label_w - 40) * value / top
        short = label if len(label) <= 9 else label[:8] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12" fill="{INK}" {FONT}>'
            f"{escape(short)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="16" rx="2" fill="{colour}"/>'
            f'<text x="{label_w + length + 4:.1f}" y="{y + 15}" font-size="12" fill="{INK}" {FONT}>{value}</text>'
        )
    if not items:
        parts.append(f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="12" fill="{MUTED}" {FONT}>—</text>')
    return _svg(width, max(len(items), 1) * row + 8, title, "".join(parts))


def lines(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int], str]]) -> Markup:
    """One line per series over the same x labels (weeks), with a legend above."""
    width, height, left, right, top, bottom = 360, 200, 30, 10, 30, 30
    peak = max((max(values, default=0) for _, values, _ in series), default=0) or 1
    n = len(labels)
    step = (width - left - right) / max(n - 1, 1)

    def point(i: int, v: int) -> tuple[float, float]:
        return left + i * step, top + (height - top - bottom) * (1 - v / peak)

    parts = [f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" '
             f'stroke="{LINE}"/>',
             f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="11" fill="{MUTED}" {FONT}>{peak}</text>',
             f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end" font-size="11" fill="{MUTED}" '
             f'{FONT}>0</text>']
    every = max(1, math.ceil(n / 6))
    for i, label in enumerate(labels):
        if i % every == 0:
            x, _ = point(i, 0)
            parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" '
                         f'fill="{MUTED}" {FONT}>{escape(label)}</text>')
    for k, (name, values, colour) in enumerate(series):
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, v) for i, v in enumerate(values)))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>'
                     for x, y in (point(i, v) for i, v in enumerate(values)))
        lx = left + k * 110
        parts.append(f'<rect x="{lx}" y="6" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{lx + 16}" y="16" font-size="12" fill="{INK}" {FONT}>{escape(name)}</text>')
    return _svg(width, height, title, "".join(parts))


def donut(title: str, segments: Sequence[tuple[str, int, str]], centre: str = "") -> Markup:
    """A ring of segments (label, value, colour) with a legend beside it and `centre` in the middle."""
    cx, cy, r, stroke = 80, 80, 56, 26
    circumference = 2 * math.pi * r
    total = sum(v for _, v, _ in segments)
    parts = [f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="{LINE}" stroke-width="{stroke}"/>']
    offset = 0.0
    for _, value, colour in segments:
        if total and value:
            length = circumference * value / total
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="{colour}" '
                         f'stroke-width="{stroke}" stroke-dasharray="{length:.2f} {circumference - length:.2f}" '
                         f'stroke-dashoffset="{-offset:.2f}" transform="rotate(-90 {cx} {cy})"/>')
            offset += length
    parts.append(f'<text x="{cx}" y="{cy + 6}" text-anchor="middle" font-size="18" font-weight="bold" '
                 f'fill="{INK}" {FONT}>{escape(centre)}</text>')
    for i, (label, value, colour) in enumerate(segments):
        y = 28 + i * 28
        parts.append(f'<rect x="180" y="{y - 11}" width="14" height="14" fill="{colour}"/>'
                     f'<text x="200" y="{y}" font-size="13" fill="{INK}" {FONT}>{escape(label)} {value}</text>')
    return _svg(360, 160, title, "".join(parts))
