"""`/admin/terms` (admin): the term lists the checks read, edited one entry a line.

The page shapes the form like `PUT /api/v1/terms` and calls the same services (`terms.parse`, then
`terms.replace`, which audits each changed list with what went and what came, and re-checks open drafts).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.errors import HuiyingError
from app.extensions import db
from app.models import Role, User
from review import rules, terms

bp = Blueprint("terms_admin", __name__, url_prefix="/admin", template_folder="templates")

#: What each list is for, as the page explains it.
LISTS = {
    terms.Kind.SENSITIVE: (_l("敏感词"),
                           _l("不得出现在对外发布内容中的词语（如密级标志），每行一个。出现即阻止提交。")),
    terms.Kind.ALLOWED: (_l("允许的例外"), _l("含有敏感词但无妨的说法，每行一个，例如“保守秘密级别”。")),
    terms.Kind.LEADERS: (_l("领导姓名与职务"),
                         _l("每行一位：姓名 职务（以空格分隔），例如“张建国 院长”。写错时会提醒。")),
    terms.Kind.AGENCIES: (_l("常用需确认机构"), _l("起草时可选的其他机构名称，每行一个。")),
}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def _leader_lines(items: list[Any]) -> str:
    return "\n".join(f"{item['name']} {item['title']}".strip() for item in items)


def _texts(stored: dict[str, Any]) -> dict[str, str]:
    """The stored lists as the textareas show them."""
    return {kind.value: _leader_lines(stored.get(kind.value, [])) if kind == terms.Kind.LEADERS
            else "\n".join(stored.get(kind.value, [])) for kind in LISTS}


def _body(texts: dict[str, str]) -> dict[str, Any]:
    """The textareas as a `PUT /terms` body: every list, a leader line being `姓名 职务`."""
    body: dict[str, Any] = {}
    for kind in LISTS:
        lines = _lines(texts[kind.value])
        if kind == terms.Kind.LEADERS:
            pairs = (line.replace("\t", " ").replace("\u3000", " ").partition(" ") for line in lines)
            body[kind.value] = [{"name": name.strip(), "title": title.strip()} for name, _sep, title in pairs]
        else:
            body[kind.value] = lines
    return body


def _page(texts: dict[str, str], error: HuiyingError | None = None, status: int = 200) -> tuple[str, int]:
    rows = {row.kind: row for row in db.session.scalars(select(terms.Terms))}
    people = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_([r.updated_by_id for r in rows.values() if r.updated_by_id])))}
    fields: dict[str, str] = {}
    for name, message in ((error.fields or {}) if error else {}).items():
        fields.setdefault(name.split(".")[0], message)  # "leaders.2.name" is the leaders list's problem
    return render_template("review/terms_admin.html", lists=LISTS, texts=texts, rows=rows, people=people, error=error,
                           fields=fields), status


@bp.route("/terms", methods=["GET", "POST"])
@login_required
def page() -> Response | tuple[str, int]:
    """词表: the four lists; saving replaces those that changed (audited) and re-checks open drafts."""
    admin: User = current_user._get_current_object()  # type: ignore[assignment]
    rules.require_role(admin, Role.ADMIN)
    if request.method == "GET":
        return _page(_texts(terms.current()))
    texts = {kind.value: request.form.get(kind.value, "") for kind in LISTS}
    try:
        rechecked = terms.replace(admin, terms.parse(_body(texts)))
    except HuiyingError as error:
        db.session.rollback()
        return _page(texts, error, error.status)
    flash(_("词表已保存；已重新检查 %(n)d 份未发布的稿件", n=rechecked), "success")
    return redirect(url_for(".page"))
