"""Pre-publication checks (interface §10): what a text must not say, or should be read twice, before it goes out.

Every revision is checked when it is saved and the findings are stored with it, so every signer sees the
same list beside the same text. A `block` finding stops submission and the leader's approval; a `warn`
only asks for attention. Channels and publishing add their own checks (`register`): review does not know
WeChat's limits or which portal pages exist.

**Cost.** The editor calls the checks while the drafter types, on texts of up to 50,000 characters, so every
check is one linear pass (no `difflib`, no overlap test against every earlier span, no loop over every name at
every position). They also share rendering's time budget (`RENDER_BUDGET_SECONDS`): a rendering they ask for gets
only what is left of it, and checks the budget did not reach become one `block` finding, `checks_incomplete`,
so a text is never passed because it was not checked.
"""

from __future__ import annotations

import enum
import functools
import itertools
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import ahocorasick
from flask import current_app
from flask_babel import gettext as _
from opencc import OpenCC
from rapidfuzz.distance import Levenshtein
from sqlalchemy import select

from app.extensions import db
from app.models import Unit
from review import render, renderings


class Severity(enum.StrEnum):
    BLOCK = "block"
    WARN = "warn"


class Code(enum.StrEnum):
    SENSITIVE_TERM = "sensitive_term"
    LEADER_NAME = "leader_name"
    UNIT_NAME = "unit_name"
    TRADITIONAL_CHARS = "traditional_chars"
    PERSONAL_ID = "personal_id"
    PHONE_NUMBER = "phone_number"
    BANK_CARD = "bank_card"
    WECHAT_LIMIT = "wechat_limit"
    DEAD_INTERNAL_LINK = "dead_internal_link"
    EXTERNAL_LINK = "external_link"
    RAW_HTML = "raw_html"
    CHECKS_INCOMPLETE = "checks_incomplete"


#: interface §10 defaults: what could hurt once published blocks; what needs a human eye warns.
SEVERITY: dict[Code, Severity] = {
    Code.SENSITIVE_TERM: Severity.BLOCK,
    Code.PERSONAL_ID: Severity.BLOCK,
    Code.BANK_CARD: Severity.BLOCK,
    Code.WECHAT_LIMIT: Severity.BLOCK,
    Code.DEAD_INTERNAL_LINK: Severity.BLOCK,
    #: what was not checked may hold anything that blocks
    Code.CHECKS_INCOMPLETE: Severity.BLOCK,
    Code.LEADER_NAME: Severity.WARN,
    Code.UNIT_NAME: Severity.WARN,
    Code.TRADITIONAL_CHARS: Severity.WARN,
    Code.PHONE_NUMBER: Severity.WARN,
    Code.EXTERNAL_LINK: Severity.WARN,
    Code.RAW_HTML: Severity.WARN,
}

#: Enough to act on; a pasted phone book should not produce a page of findings.
MAX_PER_CODE = 20
FIELDS = ("title", "digest", "body")


@dataclass(frozen=True)
class Draft:
    """The text under check and where it is going."""

    title: str
    digest: str
    body: str
    channels: tuple[str, ...] = ("portal", "wechat")

    def fields(self) -> Iterator[tuple[str, str]]:
        yield "title", self.title
        yield "digest", self.digest
        yield "body", self.body


@dataclass(frozen=True)
class Finding:
    """One thing to look at: a code, a Chinese message, and the excerpt at [start, end) of `field`."""

    code: Code
    message: str
    excerpt: str = ""
    field: str = "body"
    start: int | None = None
    end: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code.value, "severity": SEVERITY[self.code].value, "message": self.message,
                "excerpt": self.excerpt, "field": self.field, "start": self.start, "end": self.end}


Check = Callable[[Draft], Iterable[Finding]]
_REGISTERED: list[Check] = []


def register(check: Check) -> None:
    """Called by a package at app start (publishing's links, WeChat's limits); idempotent."""
    if check not in _REGISTERED:
        _REGISTERED.append(check)


# --- the lexicon: term lists and registered names, compiled once per version -------------------------


@dataclass
class Lexicon:
    """What the name and term checks match against, compiled."""

    sensitive: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)
    leaders: list[dict[str, str]] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    automaton: Any = None

    def __post_init__(self) -> None:
        auto = ahocorasick.Automaton()
        for term in self.sensitive:
            auto.add_word(_fold(term), (0, term))
        for term in self.allowed:
            key = _fold(term)
            # an exception that is itself a sensitive term must still leave the sensitive entry in place
            if not auto.exists(key):
                auto.add_word(key, (1, term))
        if len(auto):
            auto.make_automaton()
            self.automaton = auto
        self.allowed_set = {_fold(t) for t in self.allowed}
        self.leader_index = LeaderIndex(self.leaders)


_cache: dict[str, Any] = {}
_cache_lock = threading.Lock()


def lexicon() -> Lexicon:
    """The current lists and unit names, recompiled only when a list's version or the units changed."""
    from review import terms

    lists = terms.current()
    units = tuple(db.session.scalars(select(Unit.name).order_by(Unit.id)))
    key = repr((lists["versions"], units))
    with _cache_lock:
        if _cache.get("key") != key:
            _cache["lexicon"] = Lexicon(sensitive=lists["sensitive"], allowed=lists["allowed"],
                                        leaders=lists["leaders"], units=list(units))
            _cache["key"] = key
        return _cache["lexicon"]  # type: ignore[no-any-return]


def _fold(text: str) -> str:
    """Case-folded, same length: positions found in the folded text are positions in the original."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


# --- the checks ---------------------------------------------------------------------------------------


def sensitive_terms(draft: Draft, lex: Lexicon) -> Iterator[Finding]:
    """Every listed term, unless it sits inside an allowed phrase (Aho–Corasick: one pass for all terms)."""
    if lex.automaton is None:
        return
    for name, text in draft.fields():
        hits: list[tuple[int, int, str]] = []
        # the furthest end of an allowed phrase starting at each position (-1: none starts there)
        allowed_end = [-1] * (len(text) + 1)
        for end, (kind, term) in lex.automaton.iter(_fold(text)):
            start = end - len(term) + 1
            if kind == 1 or _fold(term) in lex.allowed_set:
                allowed_end[start] = max(allowed_end[start], end + 1)
            if kind == 0:
                hits.append((start, end + 1, term))
        hits.sort()
        reach, scanned = -1, 0  # reach: the furthest end of the allowed phrases starting before `scanned`
        for start, end, term in hits:
            while scanned < start:
                reach = max(reach, allowed_end[scanned])
                scanned += 1
            # covered by a longer allowed phrase: one starting earlier reaching its end, or one at its start
            # reaching further (an allowed phrase equal to the term itself does not excuse it)
            if reach >= end or allowed_end[start] > end:
                continue
            yield Finding(Code.SENSITIVE_TERM, _("含有敏感词「%(t)s」", t=term), text[start:end], name, start, end)


_CJK = re.compile(r"^[\u3400-\u9fff]+$")
#: Titles that are often confused with one another; registered titles are added to them.
COMMON_TITLES = ("院长", "副院长", "党委书记", "书记", "副书记", "所长", "副所长", "主任", "副主任", "处长",
                 "副处长", "厅长", "副厅长", "局长", "副局长", "部长", "副部长", "主席", "副主席", "秘书长")


@functools.cache
def _reading(char: str) -> str:
    """A character's usual pinyin, toneless: two names differing in one character are homophones when the
    differing characters read alike. One lookup per distinct character, however long the text."""
    # imported on first use: pypinyin's dictionaries take ~55 MB in every process that imports it (the release
    # worker never needs them; a web worker only once a near-miss leader name turns up)
    from pypinyin import lazy_pinyin

    return lazy_pinyin(char)[0]


def _wildcard(text: str, j: int) -> str:
    return f"{text[:j]}\0{text[j + 1:]}"


class LeaderIndex:
    """Leaders' names compiled for one pass over a text: each name under every one-character wildcard, by the
    reading and by the titles of that character, so the names one substitution away from a window are found by
    lookups, however many leaders share a surname."""

    def __init__(self, leaders: list[dict[str, str]]) -> None:
        self.names = {leader["name"] for leader in leaders}
        self.titles_of: dict[str, set[str]] = {}
        for leader in leaders:
            if leader["title"]:
                self.titles_of.setdefault(leader["name"], set()).add(leader["title"])
        matched = sorted(n for n in self.names if len(n) >= 2)
        self.matched = matched
        self.lengths = sorted({len(n) for n in matched})
        self.near: set[str] = set()
        #: (wildcard key, title) → names
        self.by_title: dict[tuple[str, str], list[str]] = {}
        for name in matched:
            for j in range(len(name)):
                key = _wildcard(name, j)
                self.near.add(key)
                for title in self.titles_of.get(name, ()):
                    self.by_title.setdefault((key, title), []).append(name)
        self._by_reading: dict[tuple[str, str], list[str]] | None = None
        # a window one substitution away from a name still has the name's first or second character in place
        self.first_chars = {n[0] for n in matched}
        self.second_chars = {n[1] for n in matched}
        anchors = "".join(sorted(self.first_chars | self.second_chars))
        self.anchor = re.compile(f"[{re.escape(anchors)}]") if anchors else None
        titles = sorted(set(COMMON_TITLES) | {t for ts in self.titles_of.values() for t in ts}, key=len, reverse=True)
        # the longest title first, as a reader takes 副院长 for 副院长 and not 院长
        self.title_after = re.compile("|".join(map(re.escape, titles)))
        self.title_before = re.compile("|".join(re.escape(t[::-1]) for t in titles))

    def homophones(self, key: str, char: str) -> list[str]:
        """The names with `key`'s missing character read as `char` is (the readings are looked up on the first
        near miss only: most texts never need pypinyin)."""
        if self._by_reading is None:
            by_reading: dict[tuple[str, str], list[str]] = {}
            for name in self.matched:
                if _CJK.match(name):
                    for j in range(len(name)):
                        by_reading.setdefault((_wildcard(name, j), _reading(name[j])), []).append(name)
            self._by_reading = by_reading
        return self._by_reading.get((key, _reading(char)), [])

    def adjacent_title(self, text: str, backwards: str, start: int, end: int) -> str | None:
        """The title right after text[start:end], else right before it (`backwards` is the text reversed)."""
        after = self.title_after.match(text, end)
        if after:
            return after.group()
        before = self.title_before.match(backwards, len(text) - start)
        return before.group()[::-1] if before else None

    def candidate_starts(self, text: str) -> list[int]:
        """Where a window near or equal to a name may start: one regular-expression pass over the text."""
        if self.anchor is None:
            return []
        starts = set()
        for m in self.anchor.finditer(text):
            i, char = m.start(), m.group()
            if char in self.first_chars:
                starts.add(i)
            if char in self.second_chars and i > 0:
                starts.add(i - 1)
        return sorted(starts)


def leader_names(draft: Draft, lex: Lexicon) -> Iterator[Finding]:
    """A registered leader's name one character off (a homophone, or next to their title), or their name
    with a different title than the one registered."""
    index = lex.leader_index
    for name_field, text in draft.fields():
        backwards = text[::-1]
        seen: set[tuple[int, int]] = set()
        for start in index.candidate_starts(text):
            for n in index.lengths:
                end = start + n
                if end > len(text) or (start, end) in seen:
                    continue
                window = text[start:end]
                if window in index.names:
                    wanted = index.titles_of.get(window)
                    found = index.adjacent_title(text, backwards, start, end) if wanted else None
                    if wanted and found and found not in wanted:
                        seen.add((start, end))
                        yield Finding(Code.LEADER_NAME, _("「%(n)s」的职务登记为「%(t)s」，文中为「%(f)s」",
                                                          n=window, t="、".join(sorted(wanted)), f=found),
                                      window, name_field, start, end)
                    continue
                keys = [(j, key) for j in range(n) if (key := _wildcard(window, j)) in index.near]
                if not keys or not _CJK.match(window):
                    continue
                title = index.adjacent_title(text, backwards, start, end)
                # a sound-alike (what a pinyin keyboard produces) names the leader before a title does
                names = [*sorted(n for j, key in keys for n in index.homophones(key, window[j])),
                         *sorted(n for _j, key in keys for n in index.by_title.get((key, title or ""), ()))]
                if names:
                    seen.add((start, end))
                    yield Finding(Code.LEADER_NAME, _("「%(w)s」疑为领导姓名「%(n)s」之误", w=window, n=names[0]),
                                  window, name_field, start, end)


def _occurrences(text: str, part: str) -> Iterator[int]:
    i = text.find(part)
    while i >= 0:
        yield i
        i = text.find(part, i + 1)


def unit_names(draft: Draft, lex: Lexicon) -> Iterator[Finding]:
    """Text one edit away from a registered unit's name (and not another unit's name)."""
    units = [u for u in lex.units if len(u) >= 4]
    if not units:
        return
    registered = set(lex.units)
    for name_field, text in draft.fields():
        # positions inside a registered name, and positions already reported: an overlap test is a slice of
        # a unit name's length, not a scan of every earlier span
        exact = bytearray(len(text))
        for u in units:
            for i in _occurrences(text, u):
                exact[i:i + len(u)] = b"\1" * len(u)
        seen = bytearray(len(text))
        for unit in units:
            n, half = len(unit), len(unit) // 2
            head, tail = unit[:half], unit[half:]
            spans: set[tuple[int, int]] = set()
            for i in _occurrences(text, head):
                spans.update((i, i + m) for m in (n - 1, n, n + 1))
            for j in _occurrences(text, tail):
                end = j + len(tail)
                spans.update((end - m, end) for m in (n - 1, n, n + 1))
            candidates = []
            for start, end in spans:
                if start < 0 or end > len(text):
                    continue
                window = text[start:end]
                if window == unit or window in registered or not _CJK.match(window):
                    continue
                if any(exact[start:end]):
                    continue
                if Levenshtein.distance(window, unit, score_cutoff=1) <= 1:
                    candidates.append((abs(end - start - n), start, end))
            # one finding per place: a same-length typo over the shorter or longer windows around it
            for _diff, start, end in sorted(candidates):
                if any(seen[start:end]):
                    continue
                seen[start:end] = b"\1" * (end - start)
                window = text[start:end]
                yield Finding(Code.UNIT_NAME, _("「%(w)s」疑为单位名称「%(u)s」之误", w=window, u=unit),
                              window, name_field, start, end)


_t2s = OpenCC("t2s")


def _converted_runs(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, simplified) for each run of characters OpenCC's phrase-aware t2s conversion changes.

    OpenCC converts character for character (its t2s entries keep their length), so the runs are found by
    comparing position by position, in one pass; a line whose conversion changed its length is one run.
    Lines are converted one at a time: OpenCC never matches a phrase across white space."""
    offset = 0
    for line in text.splitlines(keepends=True):
        simplified = _t2s.convert(line)
        if len(simplified) != len(line):
            yield offset, offset + len(line), simplified
        elif simplified != line:
            start = None
            for i, (old, new) in enumerate(zip(line, simplified, strict=True)):
                if old != new and start is None:
                    start = i
                elif old == new and start is not None:
                    yield offset + start, offset + i, simplified[start:i]
                    start = None
            if start is not None:
                yield offset + start, offset + len(line), simplified[start:]
        offset += len(line)


def traditional_chars(draft: Draft) -> Iterator[Finding]:
    """Traditional characters in simplified text, by OpenCC's phrase-aware conversion, with their simplified
    forms: the first `MAX_PER_CODE` in field and text order, all that `run` keeps (a text written in
    traditional characters is not converted to its end to be told so)."""
    runs = ((name, *run) for name, text in draft.fields() for run in _converted_runs(text))
    for name, start, end, simplified in itertools.islice(runs, MAX_PER_CODE):
        text = getattr(draft, name)
        yield Finding(Code.TRADITIONAL_CHARS,
                      _("「%(t)s」为繁体字，简体应为「%(s)s」", t=text[start:end], s=simplified),
                      text[start:end], name, start, end)


_ID = re.compile(r"(?<![0-9A-Za-z])([1-8]\d{5})((?:18|19|20)\d{2})(\d{2})(\d{2})\d{3}[0-9Xx](?![0-9A-Za-z])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_shaped(match: re.Match[str]) -> bool:
    """A real region-and-birth-date structure, whatever the check digit."""
    try:
        date(int(match[2]), int(match[3]), int(match[4]))
    except ValueError:
        return False
    return True


def valid_id(number: str) -> bool:
    """GB 11643: the 18th character is the ISO 7064 MOD 11-2 check of the first 17."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


def luhn(digits: str) -> bool:
    """The Luhn check every bank card number carries."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_PHONE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?![0-9])")
_CARD = re.compile(r"(?<![0-9])(?:\d[ -]?){15,18}\d(?![0-9])")
#: UnionPay (62), Visa (4), Mastercard (5): other long Luhn-valid numbers are not cards.
_CARD_PREFIXES = ("62", "4", "5")


def personal_data(draft: Draft) -> Iterator[Finding]:
    """Resident ID numbers with a valid check digit, bank cards passing Luhn, mobile numbers."""
    for name, text in draft.fields():
        # what each position already belongs to, so each number is tested against its own span only
        taken = bytearray(len(text))  # a reported ID or card
        id_end = [0] * len(text)  # the end of the ID-shaped number covering a position (matches never overlap)
        for m in _ID.finditer(text):
            if not _id_shaped(m):
                continue
            id_end[m.start():m.end()] = [m.end()] * (m.end() - m.start())
            if valid_id(m[0]):
                taken[m.start():m.end()] = b"\1" * (m.end() - m.start())
                yield Finding(Code.PERSONAL_ID, _("含有居民身份证号码，发布前请删除或隐去"), m[0], name, *m.span())
        for m in _CARD.finditer(text):
            digits = re.sub(r"[ -]", "", m[0])
            if id_end[m.start()] >= m.end():  # inside an ID-shaped number
                continue
            if 16 <= len(digits) <= 19 and digits.startswith(_CARD_PREFIXES) and luhn(digits):
                taken[m.start():m.end()] = b"\1" * (m.end() - m.start())
                yield Finding(Code.BANK_CARD, _("含有银行卡号，发布前请删除或隐去"), m[0], name, *m.span())
        for m in _PHONE.finditer(text):
            if any(taken[m.start():m.end()]):
                continue
            yield Finding(Code.PHONE_NUMBER, _("含有手机号码，请确认可以公开"), m[0], name, *m.span())


_URL = re.compile(r"https?://[^\s<>()\[\]\"'，。；、）】]+|(?<=\]\()/[^\s)]*")
_RELEASE_PATH = re.compile(r"^/releases/(\d+)/?(?:[?#].*)?$")


@dataclass(frozen=True)
class Link:
    url: str
    start: int
    end: int
    release_id: int | None  # a link to one of our own /releases/{id} pages


def links(text: str) -> list[Link]:
    """Links in a body: absolute URLs and Markdown link targets; ours are those under PUBLIC_BASE_URL."""
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    out = []
    for m in _URL.finditer(text):
        url = m[0].rstrip(".,;:!?")
        path = url[len(base):] if base and url.startswith(base + "/") else url if url.startswith("/") else None
        found = _RELEASE_PATH.match(path) if path is not None else None
        out.append(Link(url, m.start(), m.start() + len(url), int(found[1]) if found else None))
    return out


def external_links(draft: Draft) -> Iterator[Finding]:
    """Every link leaving the site, for the reviewer to open (the server never fetches them)."""
    for link in links(draft.body):
        if link.url.startswith("http"):
            base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
            if base and link.url.startswith(base + "/"):
                continue
            yield Finding(Code.EXTERNAL_LINK, _("外部链接，请审核人逐一打开核对"), link.url, "body",
                          link.start, link.end)


def raw_html(draft: Draft) -> Iterator[Finding]:
    """HTML tags in the body: the renderer shows them as text (raw HTML is off), so the drafter should say it in
    Markdown. Older bodies that used HTML keep the rendering they were approved with (review/renderings.py)."""
    for piece in render.raw_html(draft.body):
        start = draft.body.find(piece)
        yield Finding(Code.RAW_HTML, _("正文中的 HTML 标签不再生效，会原样显示为文字：请改用 Markdown 格式"
                                       "（如 **加粗**、![说明](图片地址)、| 表格 |）"),
                      piece[:80], "body", *((start, start + len(piece)) if start >= 0 else (None, None)))


def _within_budget(draft: Draft, lex: Lexicon) -> list[Finding]:
    """Every check's findings, as long as rendering's time budget lasts; then one `checks_incomplete`.

    The checks are linear, so the budget is a backstop (a loaded machine, a check registered later): it is
    looked at between checks and between findings, and a rendering a check asks for is stopped when it ends."""
    budget = renderings.budget_seconds()
    deadline = time.monotonic() + budget
    found: list[Finding] = []
    steps: list[Callable[[], Iterable[Finding]]] = [
        lambda: sensitive_terms(draft, lex), lambda: leader_names(draft, lex), lambda: unit_names(draft, lex),
        lambda: traditional_chars(draft), lambda: personal_data(draft), lambda: external_links(draft),
        lambda: raw_html(draft),
        *(functools.partial(check, draft) for check in _REGISTERED),
    ]
    with renderings.deadline(deadline):
        for step in steps:
            if time.monotonic() >= deadline:
                break  # this step and the ones after it were not run
            for finding in step():
                found.append(finding)
                if time.monotonic() >= deadline:
                    break
            else:
                continue
            break  # this step was cut short
        else:
            return found
    found.append(Finding(Code.CHECKS_INCOMPLETE, _(
        "发布前检查未能在 %(n)s 秒内完成，未检查完的内容按不通过处理：请缩短或简化正文后再保存，或稍后重试",
        n=f"{budget:g}"), field="body"))
    return found


def run(draft: Draft, lex: Lexicon | None = None) -> list[dict[str, Any]]:
    """Every finding for this text, in text order within each field; the registered checks after."""
    lex = lex if lex is not None else lexicon()
    draft = Draft(unicodedata.normalize("NFC", draft.title), unicodedata.normalize("NFC", draft.digest),
                  unicodedata.normalize("NFC", draft.body), tuple(draft.channels))
    found = _within_budget(draft, lex)
    counts: dict[Code, int] = {}
    kept = []
    order = {name: i for i, name in enumerate(FIELDS)}
    for f in sorted(found, key=lambda f: (order.get(f.field, 9), f.start if f.start is not None else -1)):
        counts[f.code] = counts.get(f.code, 0) + 1
        if counts[f.code] <= MAX_PER_CODE:
            kept.append(f.as_json())
    return kept


def blocking(findings: Iterable[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The findings that stop submission and approval."""
    return [f for f in findings or [] if f.get("severity") == Severity.BLOCK]


def incomplete(findings: Iterable[dict[str, Any]] | None) -> bool:
    """The budget ran out when these were recorded: checking again (on submission) may pass."""
    return any(f.get("code") == Code.CHECKS_INCOMPLETE for f in findings or [])


def of_revision(rev: Any, channels: Iterable[str]) -> list[dict[str, Any]]:
    """Check a revision and store the findings on it (a revision saved before checks existed is checked now)."""
    rev.checks = run(Draft(rev.title, rev.digest, rev.body, tuple(channels)))
    return rev.checks  # type: ignore[no-any-return]


def recheck_open() -> int:
    """After the term lists changed: check again the current text of every statement still being drafted
    or reviewed. Returns how many were checked."""
    from review.models import EDITABLE, Statement

    rows = db.session.scalars(select(Statement).where(Statement.status.in_([s.value for s in EDITABLE])))
    count = 0
    for st in rows:
        if st.current_revision is not None:
            of_revision(st.current_revision, st.channels)
            count += 1
    return count
