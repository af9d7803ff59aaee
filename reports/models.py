"""What reports keeps: upward reports (归口报送) and the documents the worker generated on schedule."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import User
from app.timeutil import UTCDateTime, utcnow
from cases.models import Case
from publishing.models import Delivery, LedgerEntry


class ReportMethod(enum.StrEnum):
    """How it went up: an official document (文号), a reporting system, by phone, or otherwise."""

    DOCUMENT = "document"
    SYSTEM = "system"
    PHONE = "phone"
    OTHER = "other"


class UpwardReport(Model):
    """归口报送: a case, or a period's bulletin, reported to a higher body — to whom, when, how, what file."""

    __tablename__ = "upward_reports"
    __table_args__ = (Index("ix_upward_reports_reported_at", "reported_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    #: The bulletin's period, when what went up was a bulletin rather than one case.
    period_first: Mapped[date | None] = mapped_column(Date)
    period_last: Mapped[date | None] = mapped_column(Date)
    recipient: Mapped[str] = mapped_column(String(128))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    method: Mapped[str] = mapped_column(String(16))
    #: The document number, the system's name or the phone number, as the method asks.
    reference: Mapped[str] = mapped_column(String(128), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_size: Mapped[int | None] = mapped_column()
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case | None] = relationship()
    recorder: Mapped[User] = relationship()


class FileKind(enum.StrEnum):
    DAILY_LOG = "daily_log"
    WEEKLY_BULLETIN = "weekly_bulletin"


class ReportFile(Model):
    """A document the worker made on schedule (the morning's 日志, Monday's 通报), kept for download."""

    __tablename__ = "report_files"
    __table_args__ = (UniqueConstraint("kind", "period_first", name="uq_report_files_kind_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    period_first: Mapped[date] = mapped_column(Date)
    period_last: Mapped[date] = mapped_column(Date)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# Indexes on other packages' tables that only the reports read; declared here, created by 0009_reports.
#: A period's figures read its cases by discovery time and group them by lead unit: one index range.
Index("ix_cases_discovered", Case.discovered_at, Case.lead_unit_id)
#: The period's ledger entries (published, retracted, corrected), whatever the size of the record.
Index("ix_ledger_entries_at", LedgerEntry.at)
#: Publications per channel in a period, and each channel's last one (freshness): an index range each.
Index("ix_deliveries_channel_published", Delivery.channel, Delivery.published_at)
