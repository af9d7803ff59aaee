"""/admin/audit in words (issue 27, item 16): every action the code base records has a label in Chinese and
English, and a deactivation reads as one, not as 'user.update · user zbs_li'."""

from __future__ import annotations

import html
import re
from pathlib import Path

from flask import Flask

from app import audit_labels
from app.door import Transitions
from app.notifications.lifecycle import SEND
from cases.rules import CASE_FLOW
from publishing.lifecycle import DELIVERY
from review.lifecycle import STATEMENT
from tests.app.test_admin import Institution, sign_in
from wechat.lifecycle import MASS_ITEM, MASS_SEND

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "review", "publishing", "cases", "reports", "wechat")
#: An action written as a literal or an f-string: `audit.record(actor, "…", …)` or `action="…"`.
WRITTEN = re.compile(r'(?:audit\.record\(\s*[\w.]+,\s*|\baction=)(f?)"([a-z_{}.\[\]\w]+)"')
#: What the f-strings' placeholders stand for in the code base.
PLACEHOLDERS = {
    "d.channel": ("portal", "wechat"), "channel": ("portal", "wechat"),
    "values.stage": ("expert", "leader"), "values.decision": ("approve", "request_changes", "reject"),
    "kind.value": ("sensitive", "allowed", "leaders", "agencies"), "key": ("case_deadlines",),
}


def written_actions() -> set[str]:
    """Every action code the code base writes: its literals and f-strings, and each lifecycle event that
    `app.door` records under its table's action names."""
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for is_f, code in WRITTEN.findall(path.read_text(encoding="utf-8")):
                codes = [code]
                if is_f:
                    for name in re.findall(r"\{([^}]+)\}", code):
                        codes = [c.replace("{" + name + "}", v) for c in codes for v in PLACEHOLDERS[name]]
                found.update(codes)
    tables: tuple[Transitions, ...] = (STATEMENT, DELIVERY, CASE_FLOW, SEND, MASS_SEND, MASS_ITEM)
    for table in tables:
        for event in table.events:
            code = table.action_template(event)
            found.update(code.replace("{obj.channel}", c) for c in ("portal", "wechat"))
    return found


def test_every_action_the_code_base_records_has_words_in_both_languages(app: Flask) -> None:
    actions = written_actions()
    assert {"user.update", "delivery.wechat.takedown", "review.leader.approve", "case.assess"} <= actions
    for lang in ("zh_Hans_CN", "en"):
        with app.test_request_context(f"/?lang={lang}"):
            unlabelled = sorted(a for a in actions if audit_labels.action_label(a) == a)
            assert unlabelled == [], lang
    with app.test_request_context("/?lang=zh_Hans_CN"):
        chinese = {a: audit_labels.action_label(a) for a in actions}
    with app.test_request_context("/?lang=en"):
        english = {a: audit_labels.action_label(a) for a in actions}
    assert all(re.search(r"[\u4e00-\u9fff]", label) for label in chinese.values())
    assert [a for a in actions if re.search(r"[\u4e00-\u9fff]", english[a])] == []


def test_the_audit_page_names_actions_and_objects_in_words(app: Flask) -> None:
    inst = Institution(app)
    name = inst.drafter.user.username
    st = inst.draft()  # before the deactivation, which revokes the drafter's token for good
    assert inst.admin.put(f"/users/{name}", {"active": False}).status_code == 200
    assert inst.admin.put(f"/users/{name}", {"active": True}).status_code == 200
    assert inst.admin.put(f"/users/{name}", {"phone": "0371-65711111"}).status_code == 200
    web = sign_in(app, inst.office.user.username)
    page = html.unescape(web.get(f"/admin/audit?object_type=user&object_id={name}").get_data(as_text=True))
    titles = [re.sub(r"<[^>]+>|\s+", " ", t).strip()
              for t in re.findall(r'<span class="item-title">(.*?)</span>\s*<span class="item-meta">', page, re.S)]
    assert titles == [f"修改用户信息 · 用户 {name}", f"启用用户 · 用户 {name}", f"停用用户 · 用户 {name}",
                      f"新建用户 · 用户 {name}"]
    assert "user.update" in page  # the code stays beside the words, for the 操作 filter
    page = html.unescape(web.get("/admin/audit?object_type=statement").get_data(as_text=True))
    assert f"新建回应 · 回应 {st['id']}" in re.sub(r"<[^>]+>|\s+", " ", page)
    options = re.findall(r'<option value="([a-z]+)"[^>]*>([^<]+)</option>', page)
    assert ("statement", "回应") in options and ("user", "用户") in options and ("token", "API 令牌") in options

    english = html.unescape(web.get(f"/admin/audit?object_type=user&object_id={name}&lang=en").get_data(as_text=True))
    assert f"Deactivated user · User {name}" in re.sub(r"<[^>]+>|\s+", " ", english)
    # the API keeps the contract's codes: filters and integrations are unchanged
    items = inst.office.get(f"/audit?object_type=user&object_id={name}&action=user").get_json()["items"]
    assert [e["action"] for e in items] == ["user.update", "user.update", "user.update", "user.create"]
