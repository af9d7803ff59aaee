"""The documents the office sends: 舆情工作通报 for a period and 舆情日志 for a day, as .docx.

Same 公文 look as the case 专报 (cases/report.py): 方正小标宋 titles, 黑体 headings, 仿宋 body, with the
East-Asian font named in every run so Word and WPS both pick it (and fall back when it is missing).
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Unit, User
from app.timeutil import SHANGHAI, format_local, utcnow
from cases import labels
from cases.models import Case, CaseEvent, CaseStatus
from cases.report import HEADING_FONT, TITLE_FONT, _event_text, _para, _table, new_document, unit_names
from publishing.models import LedgerEntry, LedgerKind, Release
from reports import labels as report_labels
from reports import summary, tables, upward
from reports.period import Period
from review.models import Revision, Statement

#: The cases a bulletin names one by one: the graver ones, and every open one past a deadline.
NOTABLE_LEVELS = (1, 2)
MAX_NAMED = 50
LEDGER_KIND = {LedgerKind.PUBLISHED.value: "发布", LedgerKind.RETRACTED.value: "撤回",
               LedgerKind.CORRECTED.value: "更正", LedgerKind.DELIVERY_FAILED.value: "渠道发布失败"}


def _bytes(doc: Any) -> bytes:
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _named_cases(period: Period, unit: Unit | None, *, overdue_at: datetime | None = None) -> list[Case]:
    query = (select(Case).options(selectinload(Case.assisting_units))
             .where(Case.discovered_at >= period.lo, Case.discovered_at < period.hi))
    if unit is not None:
        query = query.where(Case.lead_unit_id == unit.id)
    if overdue_at is not None:
        query = query.where(Case.status != CaseStatus.CLOSED.value, Case.next_due_at <= overdue_at)
    else:
        query = query.where(Case.level.in_(NOTABLE_LEVELS))
    return list(db.session.scalars(query.order_by(Case.level, Case.discovered_at).limit(MAX_NAMED)))


def _case_line(case: Case) -> str:
    level = tables.level_name(str(case.level or ""))
    assisting = "、".join(u.name for u in case.assisting_units)
    found = format_local(case.discovered_at, "%m月%d日")
    return (f"{case.title}（{found}发现，{level}，牵头单位：{case.lead_unit.name}"
            + (f"，协办单位：{assisting}" if assisting else "") + f"，{labels.STATUS.get(case.status, case.status)}）")


def bulletin_docx(period: Period, unit: Unit | None, now: datetime | None = None) -> bytes:
    """舆情工作通报 for `period` (all units, or one): figures, the per-unit table, notable and overdue cases."""
    now = now or utcnow()
    data = summary.summary(period, unit, now)
    rows = summary.assessment(period, unit, now)
    c, st, fresh = data["cases"], data["statements"], data["freshness"]
    doc = new_document()
    _para(doc, "舆情工作通报", font=TITLE_FONT, size=22, center=True)
    _para(doc, f"（{_cn_date(period.first)}—{_cn_date(period.last)}）", center=True)
    _para(doc, f"院办公室　　{format_local(now, '%Y年%m月%d日')}" + (f"　　{unit.name}" if unit else ""), center=True)

    _para(doc, "一、总体情况", font=HEADING_FONT, bold=True, indent=False)
    levels = "，".join(f"{tables.level_name(k)}{n}起" for k, n in c["by_level"].items() if n)
    _para(doc, f"本期共监测收集舆情{c['total']}起" + (f"（{levels}）" if levels else "")
          + f"，已办结{c['closed']}起，未办结且已超过处置时限{c['overdue_open']}起。")
    clocks = {k: sum(f[k] for f in data["deadlines"].values())
              for k in ("total", "met", "met_late", "overdue", "waived")}
    decided = clocks["met"] + clocks["met_late"] + clocks["overdue"]
    waived = f"，办结时未到期免除{clocks['waived']}个" if clocks["waived"] else ""
    on_time = tables.rate(clocks["met"] / decided if decided else None)
    _para(doc, f"各类处置时限共{clocks['total']}个，按时完成{clocks['met']}个，超时完成{clocks['met_late']}个，"
               f"已超时{clocks['overdue']}个{waived}，按时率{on_time}。")
    _para(doc, f"通过门户网站、政务新媒体发布回应{st['published']}篇（门户网站{st['by_channel']['portal']}篇、"
               f"微信公众号{st['by_channel']['wechat']}篇），撤回{st['retracted']}篇，更正{st['corrected']}篇。")
    for name, days in (("门户网站", fresh["portal_days"]), ("微信公众号", fresh["wechat_days"])):
        if days is None:
            _para(doc, f"{name}尚未发布过信息，请尽快更新。")
        elif days >= summary.STALE_DAYS:
            mark = "已超过两周" if days >= summary.RED_DAYS else "请注意"
            _para(doc, f"{name}已连续{days}天未发布信息，{mark}（国办秘函〔2019〕19号）。")

    _para(doc, "二、各单位情况", font=HEADING_FONT, bold=True, indent=False)
    _table(doc, *_text_table(tables.assessment(rows)))

    _para(doc, "三、处置时限与回应用时", font=HEADING_FONT, bold=True, indent=False)
    _table(doc, *_text_table(tables.deadlines(data)))
    _table(doc, *_text_table(tables.levels(data)))

    _para(doc, "四、重点舆情", font=HEADING_FONT, bold=True, indent=False)
    notable = _named_cases(period, unit)
    for i, case in enumerate(notable, 1):
        _para(doc, f"{i}. {_case_line(case)}")
    if not notable:
        _para(doc, "本期无重大及以上舆情。")

    _para(doc, "五、超时未办结舆情", font=HEADING_FONT, bold=True, indent=False)
    overdue = _named_cases(period, unit, overdue_at=now)
    for i, case in enumerate(overdue, 1):
        _para(doc, f"{i}. {_case_line(case)}，最近时限{format_local(case.next_due_at)}")
    if not overdue:
        _para(doc, "本期无超时未办结舆情。")

    _para(doc, "六、归口报送情况", font=HEADING_FONT, bold=True, indent=False)
    reported = upward.in_period(period, unit.id if unit else None)
    for i, row in enumerate(reported, 1):
        what = row.case.title if row.case else f"舆情工作通报（{row.period_first}至{row.period_last}）"
        how = str(report_labels.METHOD.get(row.method, row.method)) + (f" {row.reference}" if row.reference else "")
        _para(doc, f"{i}. {format_local(row.reported_at, '%m月%d日 %H:%M')}向{row.recipient}报送：{what}（{how}）"
                   + (f"，附件：{row.file_name}" if row.file_name else ""))
    if not reported:
        _para(doc, "本期无归口报送记录。")

    _para(doc, "七、工作要求", font=HEADING_FONT, bold=True, indent=False)
    _para(doc, "各单位要严格落实舆情工作责任制，对超时未办结的舆情抓紧处置、及时回应，并将处置结果报院办公室；"
               "坚持专人采编、领导审核把关，做到信息优先发布、统一口径。")
    return _bytes(doc)


def _text_table(table: tables.Table) -> tuple[list[str], list[list[str]]]:
    head, rows = table
    return [str(h) for h in head], [[str(cell) for cell in row] for row in rows]


def log_docx(day: date, unit: Unit | None) -> bytes:
    """舆情日志 of one Asia/Shanghai day: every case event and every ledger entry of that day."""
    lo = datetime.combine(day, time(0), tzinfo=SHANGHAI)
    hi = lo + timedelta(days=1)
    events = (select(CaseEvent, Case.title, Unit.name, User)
              .join(Case, Case.id == CaseEvent.case_id).join(Unit, Unit.id == Case.lead_unit_id)
              .outerjoin(User, User.id == CaseEvent.actor_id)
              .where(CaseEvent.at >= lo, CaseEvent.at < hi).order_by(CaseEvent.at, CaseEvent.id))
    if unit is not None:
        events = events.where(Case.lead_unit_id == unit.id)
    entries = (select(LedgerEntry.at, LedgerEntry.kind, LedgerEntry.seq, LedgerEntry.statement_id, Revision.title,
                      Unit.name)
               .join(Statement, Statement.id == LedgerEntry.statement_id)
               .join(Unit, Unit.id == Statement.unit_id)
               .outerjoin(Release, Release.statement_id == Statement.id)
               .outerjoin(Revision, Revision.id == Release.revision_id)
               .where(LedgerEntry.at >= lo.astimezone(UTC).isoformat(), LedgerEntry.at < hi.astimezone(UTC).isoformat())
               .order_by(LedgerEntry.seq))
    if unit is not None:
        entries = entries.where(Statement.unit_id == unit.id)
    event_rows = db.session.execute(events).all()
    entry_rows = db.session.execute(entries).all()

    doc = new_document()
    _para(doc, "舆情日志", font=TITLE_FONT, size=22, center=True)
    _para(doc, _cn_date(day) + (f"　　{unit.name}" if unit else ""), center=True)
    _para(doc, f"当日处置记录{len(event_rows)}条，发布记录{len(entry_rows)}条。")
    _para(doc, "一、舆情处置", font=HEADING_FONT, bold=True, indent=False)
    if event_rows:
        names = unit_names()
        _table(doc, ["时间", "舆情", "牵头单位", "环节", "经办人", "内容"], [
            [format_local(e.at, "%H:%M"), title, unit_name, str(labels.EVENT.get(e.kind, e.kind)),
             actor.name if actor else "系统", _event_text(e.kind, e.data or {}, names)]
            for e, title, unit_name, actor in event_rows
        ])
    else:
        _para(doc, "当日无舆情处置记录。")
    _para(doc, "二、信息发布", font=HEADING_FONT, bold=True, indent=False)
    if entry_rows:
        _table(doc, ["时间", "类别", "标题", "单位", "记录"], [
            # the record's own number, not the statement's: 记录第 N 号 beside 回应 N (issue 27)
            [format_local(at, "%H:%M"), LEDGER_KIND.get(kind, kind), title or f"回应 {sid}", unit_name,
             f"记录第 {seq} 号"]
            for at, kind, seq, sid, title, unit_name in entry_rows
        ])
    else:
        _para(doc, "当日无信息发布记录。")
    return _bytes(doc)
