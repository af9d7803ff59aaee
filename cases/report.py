"""专报: a case as the Word document Chinese offices send upward (title, 报送单位, 时间, 基本情况 …)."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from app import register
from app.extensions import db
from app.models import Unit
from app.timeutil import format_local, utcnow
from cases import labels
from cases.models import Case, EventKind

if TYPE_CHECKING:
    from docx.text.run import Run

# python-docx is imported where a document is made, not with the app: it and openpyxl cost a web or release
# worker ~23 MB of memory that only the few requests (and the daily job) writing a document need.

TITLE_FONT, BODY_FONT, HEADING_FONT = "方正小标宋简体", "仿宋_GB2312", "黑体"
#: The 公文 page of GB/T 9704 (interface §20), in millimetres: A4, and its margins.
PAGE_MM = {"page_width": 210, "page_height": 297}
MARGINS_MM = {"top_margin": 37, "bottom_margin": 35, "left_margin": 28, "right_margin": 26}
#: What XML 1.0 cannot hold (C0 controls but tab and newlines, U+FFFE/U+FFFF): a case registered with a
#: stray control character must still make a document, not a 500.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(text: str) -> str:
    """`text` without the characters a .docx or .xlsx cannot store."""
    return NOT_XML.sub("", text)


def new_document() -> Any:
    """A blank 公文 (A4, GB/T 9704 margins, 仿宋 body): every .docx the app writes starts here, so all agree."""
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Mm

    doc = Document()  # python-docx's template is US Letter with 1-inch margins
    for section in doc.sections:
        for name, mm in {**PAGE_MM, **MARGINS_MM}.items():
            setattr(section, name, Mm(mm))
    normal = doc.styles["Normal"]
    normal.font.name = BODY_FONT
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    return doc


def unit_names() -> dict[str, str]:
    """Unit code → name: events store codes, documents show the names people know."""
    return dict(db.session.execute(select(Unit.code, Unit.name)).tuples().all())


def _font(run: Run, name: str, size: float, bold: bool = False) -> None:
    """Set Latin and East-Asian fonts both: Word and WPS pick the CJK face from `w:eastAsia`."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    rpr = run._element.get_or_add_rPr()
    rfonts = rpr.get_or_add_rFonts()
    rfonts.set(qn("w:eastAsia"), name)


def _para(doc: Any, text: str, *, font: str = BODY_FONT, size: float = 16, bold: bool = False,
          center: bool = False, indent: bool = True) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    p = doc.add_paragraph()
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    elif indent:
        p.paragraph_format.first_line_indent = Pt(size * 2)
    _font(p.add_run(xml_text(text)), font, size, bold)


def _table(doc: Any, header: list[str], rows: list[list[str]]) -> None:
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = ""
        _font(cell.paragraphs[0].add_run(xml_text(text)), BODY_FONT, 12, bold=True)
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = ""
            _font(cell.paragraphs[0].add_run(xml_text(text)), BODY_FONT, 12)


def _event_text(kind: str, data: dict[str, Any], names: dict[str, str]) -> str:
    parts = []
    if kind == EventKind.ASSESSED:
        parts.append(f"{labels.LEVEL.get(data.get('level'), '')}：{data.get('rationale', '')}")
    elif kind == EventKind.ASSIGNED:
        lead = data.get("lead_unit") or ""
        assisting = "、".join(names.get(code, code) for code in data.get("assisting_units") or [])
        parts.append(f"牵头单位：{names.get(lead, lead)}" + (f"；协办单位：{assisting}" if assisting else ""))
    elif kind == EventKind.RESPONDED:
        parts.append(str(labels.FORM.get(data.get("form"), data.get("form") or "")))
    elif kind == EventKind.CLOSED:
        parts.append(data.get("outcome", ""))
    for key in ("note", "no_response_reason"):
        if data.get(key):
            parts.append(str(data[key]))
    return "；".join(p for p in parts if p)


def docx_bytes(case: Case) -> bytes:
    """The 专报 of `case` as .docx bytes (opens in Word and WPS)."""
    doc = new_document()
    _para(doc, "舆情专报", font=TITLE_FONT, size=22, center=True)
    _para(doc, case.title, font=TITLE_FONT, size=18, center=True)
    _para(doc, f"报送单位：{case.lead_unit.name}", indent=False)
    _para(doc, f"时间：{format_local(utcnow(), '%Y年%m月%d日 %H:%M')}", indent=False)

    _para(doc, "一、基本情况", font=HEADING_FONT, bold=True, indent=False)
    source = labels.SOURCE.get(case.source, case.source)
    _para(doc, f"{format_local(case.discovered_at, '%Y年%m月%d日 %H:%M')}，经{source}发现舆情："
               f"{case.title}。{case.summary}")
    if case.source_url:
        _para(doc, f"原始链接：{case.source_url}")
    _para(doc, "涉及单位：" + "、".join(u.name for u in case.units))

    _para(doc, "二、研判意见", font=HEADING_FONT, bold=True, indent=False)
    assessments = [e for e in case.events if e.kind == EventKind.ASSESSED]
    if assessments:
        last = assessments[-1].data
        must = "须公开回应" if last.get("must_respond") else "视情回应"
        _para(doc, f"舆情等级：{labels.LEVEL.get(last.get('level'), '')}（{last.get('level')}级），{must}。"
                   f"{last.get('rationale', '')}")
    else:
        _para(doc, "尚未研判。")

    _para(doc, "三、处置情况", font=HEADING_FONT, bold=True, indent=False)
    responsible = register.responsible(case.lead_unit)
    people = [f"{role}：{p['name']}" + (f"（{p['phone']}）" if p.get("phone") else "") for role, p in
              (("第一责任人", responsible.get("first")), ("直接责任人", responsible.get("direct"))) if p]
    _para(doc, f"牵头单位：{case.lead_unit.name}；协办单位：{'、'.join(u.name for u in case.assisting_units) or '无'}。"
               + "；".join(people) + (f"；24小时值班电话：{responsible.get('duty_phone')}"
                                      if responsible.get("duty_phone") else ""))
    for r in case.responses:
        when = format_local(r.held_at) if r.held_at else "待发布"
        _para(doc, f"{labels.FORM.get(r.form, r.form)}（{when}）{r.note}"
                   + (f" 证明材料：{r.evidence_url}" if r.evidence_url else ""))
    if not case.responses:
        _para(doc, "尚未公开回应。")
    _para(doc, "处置过程", font=HEADING_FONT, size=14, bold=True, indent=False)
    names = unit_names()
    _table(doc, ["时间", "环节", "经办人", "内容"], [
        [format_local(e.at), str(labels.EVENT.get(e.kind, e.kind)), e.actor.name if e.actor else "系统",
         _event_text(e.kind, e.data or {}, names)]
        for e in case.events
    ])
    _para(doc, "时限", font=HEADING_FONT, size=14, bold=True, indent=False)
    now = utcnow()
    _table(doc, ["时限", "到期时间", "完成时间", "状态"], [
        [str(labels.DEADLINE_KIND.get(d.kind, d.kind)), format_local(d.due_at), format_local(d.met_at) or "—",
         labels.deadline_state_text(d, case, now)]
        for d in case.deadlines
    ])

    _para(doc, "四、下一步工作", font=HEADING_FONT, bold=True, indent=False)
    if case.is_open:
        pending = [d for d in case.deadlines if d.met_at is None]
        for d in pending:
            _para(doc, f"在{format_local(d.due_at)}前完成{labels.DEADLINE_KIND.get(d.kind, d.kind)}。")
        _para(doc, "继续跟踪舆情走势，及时回应社会关切，适时报送处置进展。")
    else:
        _para(doc, f"已于{format_local(case.closed_at)}办结：{case.outcome or ''}")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
