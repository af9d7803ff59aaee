"""The names people read for reports' stored values, in the request's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from reports.models import FileKind, ReportMethod

METHOD = {
    ReportMethod.DOCUMENT: _l("公文（文号）"),
    ReportMethod.SYSTEM: _l("报送系统"),
    ReportMethod.PHONE: _l("电话"),
    ReportMethod.OTHER: _l("其他"),
}

FILE_KIND = {FileKind.DAILY_LOG: _l("舆情日志"), FileKind.WEEKLY_BULLETIN: _l("舆情工作通报（周）")}
