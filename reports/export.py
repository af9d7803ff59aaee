"""舆情台账 as a spreadsheet: the register's filters, one row per case, times as real Excel dates."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import User
from app.spreadsheet import xlsx_text
from app.timeutil import SHANGHAI, utcnow
from cases import labels, queries
from cases.models import Case, CaseResponse
from cases.report import xml_text
from reports.period import parse_period

HEADER = ["编号", "标题", "来源", "发现时间", "等级", "状态", "牵头单位", "协办单位", "涉及单位", "须公开回应",
          "首次回应时间", "时限情况", "最近到期时间", "办结时间", "办结情况", "原始链接", "登记时间"]
WIDTHS = [8, 40, 10, 18, 8, 8, 20, 24, 24, 10, 18, 30, 18, 18, 30, 30, 18]
DATE_FORMAT = "yyyy-mm-dd hh:mm"
BATCH = 500


def _excel_time(value: datetime | None) -> datetime | None:
    """Excel has no time zones: the wall time in Asia/Shanghai, as the register's pages show it."""
    return None if value is None else value.astimezone(SHANGHAI).replace(tzinfo=None)


def export_query(user: User, args: Mapping[str, str]) -> Select:
    """The register's filters (status, level, unit, source, overdue, q) and, optionally, `from`/`to`."""
    filters = queries.parse_filters({k: v for k, v in args.items()
                                     if k in ("status", "level", "unit", "source", "overdue", "q") and v})
    query = queries.register_query(user, filters)
    if args.get("from") or args.get("to"):
        period = parse_period(args)
        query = query.where(Case.discovered_at >= period.lo, Case.discovered_at < period.hi)
    return query.order_by(Case.discovered_at.desc(), Case.id.desc())


def xlsx_bytes(user: User, args: Mapping[str, str]) -> bytes:
    """The visible cases matching `args` as an .xlsx workbook (write-only: memory stays flat)."""
    # openpyxl is imported when a workbook is made, not with the app (see cases/report.py)
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    query = export_query(user, args)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("舆情台账"))
    for i, width in enumerate(WIDTHS):
        sheet.column_dimensions[chr(ord("A") + i)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for text in HEADER:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    now = utcnow()
    offset = 0
    while True:
        batch = list(db.session.scalars(query.options(
            selectinload(Case.units), selectinload(Case.assisting_units), selectinload(Case.deadlines),
        ).limit(BATCH).offset(offset)))
        if not batch:
            break
        firsts = dict(db.session.execute(
            select(CaseResponse.case_id, func.min(CaseResponse.held_at))
            .where(CaseResponse.case_id.in_([c.id for c in batch]), CaseResponse.counted.is_(True))
            .group_by(CaseResponse.case_id)).all())
        for case in batch:
            sheet.append(_row(sheet, case, firsts.get(case.id), now))
            db.session.expunge(case)  # a year of cases need not stay in the identity map
        offset += BATCH
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _clocks(case: Case, now: datetime) -> str:
    return "；".join(f"{labels.DEADLINE_KIND.get(d.kind, d.kind)}：{labels.deadline_state_text(d, case, now)}"
                    for d in case.deadlines)


def _row(sheet: object, case: Case, first: datetime | None, now: datetime) -> list[object]:
    from openpyxl.cell import WriteOnlyCell

    values: list[object] = [
        case.id, case.title, str(labels.SOURCE.get(case.source, case.source)), _excel_time(case.discovered_at),
        str(labels.LEVEL.get(case.level, "")) if case.level else "", str(labels.STATUS.get(case.status, case.status)),
        case.lead_unit.name, "、".join(u.name for u in case.assisting_units), "、".join(u.name for u in case.units),
        "是" if case.must_respond else "否", _excel_time(first), _clocks(case, now),
        _excel_time(case.next_due_at), _excel_time(case.closed_at), case.outcome or "", case.source_url or "",
        _excel_time(case.created_at),
    ]
    cells = []
    for value in values:
        if isinstance(value, str):  # typed by people: a string cell, never a formula (issue 28 #3)
            cells.append(xlsx_text(sheet, xml_text(value)))
            continue
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, datetime):
            cell.number_format = DATE_FORMAT
        cells.append(cell)
    return cells
