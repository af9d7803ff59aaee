"""归口报送: record that a case, or a period's bulletin, was reported to a higher body (seed 二(三)).

One service: check who may, check the fields, keep the attached file under its sha256, add the row,
put the step on the case's timeline, audit, commit once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, select
from werkzeug.datastructures import FileStorage

from app import audit, params
from app.errors import Invalid, NotFound, WrongRole, WrongUnit
from app.extensions import db
from app.models import Role, User
from app.storage import write_atomically
from app.tx import begin_write
from app.validation import Errors
from cases import rules
from cases.models import Case, EventKind, case_units
from cases.timeline import add_event
from cases.validation import text, when
from reports.models import ReportMethod, UpwardReport
from reports.period import Period, parse_period

MAX_FILE_BYTES = 5 * 1024 * 1024


def file_path(sha256: str) -> Path:
    """Where an attachment is kept: by content, so the same file sent twice is stored once."""
    return Path(current_app.config["MEDIA_ROOT"]) / "upward" / sha256[:2] / sha256


def _may_record(actor: User, case: Case | None) -> None:
    if actor.has_role(Role.OFFICE):
        return
    if case is None:
        raise WrongRole(_("通报的报送情况由院办公室登记"))
    if not actor.has_role(Role.LEADER, Role.DRAFTER):
        raise WrongRole(_("需要以下角色之一：%(roles)s", roles="院办公室、领导、起草人"))
    if actor.unit_id != case.lead_unit_id:
        raise WrongUnit(_("只有牵头单位可以登记报送情况"))


def _case(actor: User, raw: Any) -> Case | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, str):
        raw = params.row_id(raw, "case_id", _("舆情编号有误"))
    if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= params.MAX_ID:
        raise Invalid(_("输入有误"), fields={"case_id": _("应为舆情编号")})
    case = db.session.get(Case, raw)
    if case is None:
        raise NotFound(_("舆情不存在"))
    if not rules.can_see(actor, case):
        raise WrongUnit(_("只能查看本单位的舆情"))
    return case


def _read(upload: FileStorage | None, errors: Errors) -> tuple[str, bytes] | None:
    if upload is None or not upload.filename:
        return None
    data = upload.stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        errors.add("file", _("附件不能超过 5 MB"))
        return None
    if not data:
        errors.add("file", _("附件是空文件"))
        return None
    name = os.path.basename(upload.filename.replace("\\", "/")).strip()[:255] or "file"
    return name, data


def record(actor: User, data: Mapping[str, Any], upload: FileStorage | None = None) -> UpwardReport:
    """Record one upward report: of `case_id`'s case, or (office) of the bulletin for `from`–`to`."""
    begin_write()
    case = _case(actor, data.get("case_id"))
    _may_record(actor, case)
    errors = Errors()
    values = dict(data)
    recipient = text(values, "recipient", errors, required=True, hi=128)
    reported_at = when(values, "reported_at", errors, required=True)
    method = values.get("method")
    if method not in {m.value for m in ReportMethod}:
        errors.add("method", _("请选择报送方式"))
    reference = text(values, "reference", errors, required=method in (ReportMethod.DOCUMENT, ReportMethod.SYSTEM),
                     hi=128)
    note = text(values, "note", errors, required=False, hi=2000)
    period: Period | None = None
    if case is None:  # a bulletin: the period it covered
        for name in ("from", "to"):
            if not values.get(name):
                errors.add(name, _("必填"))
        if values.get("from") and values.get("to"):
            try:
                period = parse_period({"from": values["from"], "to": values["to"]})
            except Invalid as err:
                for name, message in (err.fields or {}).items():
                    errors.add(name, message)
    attachment = _read(upload, errors)
    errors.raise_if_any()
    assert reported_at is not None

    row = UpwardReport(case_id=case.id if case else None, recipient=recipient, reported_at=reported_at,
                       method=str(method), reference=reference, note=note, recorded_by=actor.id,
                       period_first=period.first if period else None, period_last=period.last if period else None)
    if attachment is not None:
        name, content = attachment
        digest = hashlib.sha256(content).hexdigest()
        path = file_path(digest)
        if not path.exists():
            write_atomically(path, content)
        row.file_name, row.file_sha256, row.file_size = name, digest, len(content)
    db.session.add(row)
    db.session.flush()
    facts = {"upward_report_id": row.id, "recipient": recipient, "method": row.method, "reference": reference,
             "reported_at": reported_at.isoformat(), "note": note, "file_name": row.file_name}
    if case is not None:
        add_event(case, EventKind.REPORTED_UPWARD, actor, facts)
    audit.record(actor, "upward_report.create", row, after={**facts, "case_id": row.case_id,
                                                            "file_sha256": row.file_sha256})
    db.session.commit()
    return row


def _scoped(actor: User) -> Select[tuple[UpwardReport]]:
    """The upward reports `actor` may see: office and admin all; others those of their unit's cases (a
    bulletin's report has no case and is the office's)."""
    query = select(UpwardReport)
    if not actor.sees_all_units:
        mine = select(case_units.c.case_id).where(case_units.c.unit_id == actor.unit_id)
        query = query.where(UpwardReport.case_id.in_(mine))
    return query


def visible(actor: User, *, case_id: int | None = None, period: Period | None = None,
            limit: int = 100) -> list[UpwardReport]:
    """The upward reports `actor` may see (office: all; others: those of their unit's cases), newest first."""
    query = _scoped(actor)
    if case_id is not None:
        query = query.where(UpwardReport.case_id == case_id)
    if period is not None:
        query = query.where(UpwardReport.reported_at >= period.lo, UpwardReport.reported_at < period.hi)
    return list(db.session.scalars(query.order_by(UpwardReport.reported_at.desc(), UpwardReport.id.desc())
                                   .limit(limit)))


def in_period(period: Period, unit_id: int | None) -> list[UpwardReport]:
    """For the bulletin: what went up in the period (a unit's bulletin: its cases' reports only)."""
    query = (select(UpwardReport).where(UpwardReport.reported_at >= period.lo, UpwardReport.reported_at < period.hi)
             .order_by(UpwardReport.reported_at))
    if unit_id is not None:
        query = query.join(Case, Case.id == UpwardReport.case_id).where(Case.lead_unit_id == unit_id)
    return list(db.session.scalars(query))


def may_open(actor: User, report: UpwardReport) -> bool:
    """Whoever has the report in their list (`visible`) may open its file: the same scoping, not just its id."""
    return db.session.scalar(_scoped(actor).where(UpwardReport.id == report.id).with_only_columns(
        UpwardReport.id)) is not None
