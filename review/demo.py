"""Demo term lists: enough for the pre-publication checks to show what they catch (interface §10)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select

from app.extensions import db
from review import terms

#: Fictional leaders of the demo institution; a typo of one of these is flagged as the drafter types.
LEADERS = [{"name": "张建国", "title": "院长"}, {"name": "王立新", "title": "党委书记"},
           {"name": "刘志强", "title": "所长"}, {"name": "陈晓红", "title": "所长"}]
#: Markings that must never reach the public, and one phrase that only looks like them.
SENSITIVE = ["绝密", "机密", "秘密级", "内部资料", "不得外传"]
ALLOWED = ["保守秘密级别"]
#: Other bodies the demo's statements most often need to confirm with (the editor offers them).
AGENCIES = ["河南省农业农村厅", "河南省市场监督管理局", "河南省科学技术厅", "河南省气象局"]


def seed() -> Iterator[str]:
    """Store the demo lists when no list exists yet (the agency list on its own, for older demo databases)."""
    if db.session.get(terms.Terms, terms.Kind.AGENCIES.value) is None:
        terms.replace(None, {terms.Kind.AGENCIES: AGENCIES})
        yield f"agency list: {len(AGENCIES)} agencies"
    if db.session.scalar(select(func.count()).select_from(terms.Terms).where(
            terms.Terms.kind != terms.Kind.AGENCIES.value)):
        return
    terms.replace(None, {terms.Kind.SENSITIVE: SENSITIVE, terms.Kind.ALLOWED: ALLOWED,
                         terms.Kind.LEADERS: LEADERS})
    yield f"term lists: {len(SENSITIVE)} sensitive terms, {len(LEADERS)} leaders"
