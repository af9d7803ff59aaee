"""The main navigation is contributed by the packages (app.nav): each person sees the entries of their roles,
the current page is marked, and the kernel's base template names no endpoint of a package above it."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

from tests.app.test_admin import Institution, sign_in

NAV = re.compile(r'<nav class="wrap nav" id="main-nav".*?</nav>', re.DOTALL)


def entries(html: str) -> list[tuple[str, bool]]:
    nav = NAV.search(html)
    assert nav, html[:500]
    return [(re.sub(r"<[^>]+>|\d+", "", label).strip(), "aria-current" in attrs)
            for attrs, label in re.findall(r"<a ([^>]*)>(.*?)</a>", nav.group(0))]


def test_each_role_sees_its_entries_in_order(app: Flask) -> None:
    inst = Institution(app)
    drafter = [label for label, _ in entries(sign_in(app, inst.drafter.user.username).get("/").get_data(as_text=True))]
    assert drafter[:5] == ["我的工作", "舆情台账", "回应列表", "新建回应", "权威发布"], drafter
    assert "发布台" not in drafter and "词表" not in drafter and "审计记录" not in drafter
    admin = [label for label, _ in entries(sign_in(app, inst.admin.user.username).get("/").get_data(as_text=True))]
    for wanted in ("发布台", "单位与责任人", "用户", "词表", "处置时限", "审计记录"):
        assert wanted in admin, admin
    assert admin.index("单位与责任人") < admin.index("用户") < admin.index("词表") < admin.index("审计记录")
    office = [label for label, _ in entries(sign_in(app, inst.office.user.username).get("/").get_data(as_text=True))]
    assert "督查与考核" in office and "审计记录" in office and "词表" not in office
    assert "工作日历" in office and "工作日历" not in admin  # the admin reaches the calendar through 处置时限


def test_the_current_page_is_marked(app: Flask) -> None:
    inst = Institution(app)
    web = sign_in(app, inst.admin.user.username)
    for path, label in (("/", "我的工作"), ("/cases", "舆情台账"), ("/admin/units", "单位与责任人"),
                        ("/admin/terms", "词表"), ("/admin/deadlines", "处置时限")):
        current = [name for name, marked in entries(web.get(path).get_data(as_text=True)) if marked]
        assert current == [label], (path, current)


def test_the_kernel_template_names_only_kernel_endpoints() -> None:
    base = (Path(__file__).resolve().parents[2] / "app" / "templates" / "base.html").read_text(encoding="utf-8")
    named = set(re.findall(r"url_for\('([\w.]+)'", base))
    assert {n.split(".")[0] for n in named} <= {"pages", "auth", "account", "notifications", "static"}, named
