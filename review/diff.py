"""Side-by-side differences between two revision texts, down to the character (Chinese has no spaces).

Pure functions: text in, escaped markup out. Lines are matched first; lines that changed are
then compared character by character, so a one-character edit in a long Chinese sentence shows
as one character, not as a whole replaced line.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from markupsafe import Markup, escape

#: Character comparison is quadratic: past this many character pairs (after the common
#: start and end are set aside) the changed middle is shown as wholly replaced instead.
MAX_CHAR_PAIRS = 4000 * 4000


@dataclass(frozen=True)
class Row:
    """One line of the side-by-side view; a missing side has no number and empty markup."""

    kind: str  # "equal" | "replace" | "delete" | "insert"
    left_no: int | None
    left: Markup
    right_no: int | None
    right: Markup


def _wrap(tag: str, text: str) -> Markup:
    return Markup(f"<{tag}>{escape(text)}</{tag}>") if text else Markup("")


def _common_ends(old: str, new: str) -> tuple[int, int]:
    """Lengths of the shared start and the shared end (not overlapping)."""
    limit = min(len(old), len(new))
    start = 0
    while start < limit and old[start] == new[start]:
        start += 1
    end = 0
    while end < limit - start and old[-1 - end] == new[-1 - end]:
        end += 1
    return start, end


def char_diff(old: str, new: str) -> tuple[Markup, Markup]:
    """The two lines with deletions marked `<del>` on the left and insertions `<ins>` on the right."""
    start, end = _common_ends(old, new)
    a, b = old[start:len(old) - end], new[start:len(new) - end]
    # No junk heuristic: in Chinese the most frequent characters (的、，) are real content.
    opcodes = (
        SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
        if len(a) * len(b) <= MAX_CHAR_PAIRS
        else [("replace", 0, len(a), 0, len(b))]
    )
    left, right = [escape(old[:start])], [escape(new[:start])]
    for op, i1, i2, j1, j2 in opcodes:
        if op == "equal":
            left.append(escape(a[i1:i2]))
            right.append(escape(b[j1:j2]))
        else:
            left.append(_wrap("del", a[i1:i2]))
            right.append(_wrap("ins", b[j1:j2]))
    left.append(escape(old[len(old) - end:]))
    right.append(escape(new[len(new) - end:]))
    return Markup("").join(left), Markup("").join(right)


#: Line matching is quadratic too (25,000 lines took 86 s): past this many line pairs only the common
#: first and last lines are matched and the middle is shown as replaced, line by line.
MAX_LINE_PAIRS = 2000 * 2000
#: Character work for a whole diff; once spent, further changed lines are shown wholly replaced.
MAX_TOTAL_CHAR_PAIRS = 2 * MAX_CHAR_PAIRS


def _line_opcodes(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    """SequenceMatcher's opcodes, or for very long texts a linear stand-in: equal ends, replaced middle."""
    if len(a) * len(b) <= MAX_LINE_PAIRS:
        return SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    codes = [("equal", 0, start, 0, start)] if start else []
    if start < len(a) - end or start < len(b) - end:
        codes.append(("replace", start, len(a) - end, start, len(b) - end))
    if end:
        codes.append(("equal", len(a) - end, len(a), len(b) - end, len(b)))
    return codes


def side_by_side(old: str, new: str) -> list[Row]:
    """Rows pairing the lines of `old` (left) and `new` (right), every character escaped."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[Row] = []
    budget = MAX_TOTAL_CHAR_PAIRS
    for op, i1, i2, j1, j2 in _line_opcodes(a, b):
        if op == "equal":
            rows.extend(
                Row("equal", i + 1, escape(a[i]), j + 1, escape(b[j]))
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
            continue
        # A changed block: pair its lines in order, the surplus is wholly deleted or inserted.
        pairs = min(i2 - i1, j2 - j1)
        for k in range(pairs):
            start, end = _common_ends(a[i1 + k], b[j1 + k])
            cost = (len(a[i1 + k]) - start - end) * (len(b[j1 + k]) - start - end)  # what char_diff compares
            if cost <= budget:
                budget -= cost
                left, right = char_diff(a[i1 + k], b[j1 + k])
            else:
                left, right = _wrap("del", a[i1 + k]), _wrap("ins", b[j1 + k])
            rows.append(Row("replace", i1 + k + 1, left, j1 + k + 1, right))
        rows.extend(Row("delete", i + 1, _wrap("del", a[i]), None, Markup("")) for i in range(i1 + pairs, i2))
        rows.extend(Row("insert", None, Markup(""), j + 1, _wrap("ins", b[j])) for j in range(j1 + pairs, j2))
    return rows


def changed(rows: list[Row]) -> bool:
    """True when any row differs."""
    return any(row.kind != "equal" for row in rows)
