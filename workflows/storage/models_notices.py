"""Tables of outbound notices (``workflows.notices``): notices, audiences, mailings,
per-recipient deliveries, suppressions, inquiries, profiles and blackouts.

Place in the flow: outside the inbound flow, except that a bounce or an inquiry quoting a notice
reference is recorded here by ``workflows.inbound.apply``. Re-exported by
``workflows.storage.models``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from workflows.storage.base import Base, UTCDateTime

# -- Outbound notices (workflows.notices) --------------------------------------------------------


class NoticeSequence(Base):
    """Next reference number per prefix and year: MNT-2026-0042 (incremented under a lock)."""

    __tablename__ = "notice_sequences"
    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer)


class Notice(Base):
    """A maintenance, incident or advisory notice; its mailings and deliveries hang off it."""

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(Text)
    impact: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[str] = mapped_column(Text, default="")
    recommendation: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(Text)
    window: Mapped[str | None] = mapped_column(String(16))  # weekly, quarterly, annual
    starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    components: Mapped[list[str]] = mapped_column(JSON, default=list)
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # ICS SEQUENCE (RFC 5545 3.8.7.4)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    force_reason: Mapped[str | None] = mapped_column(Text)
    overridden: Mapped[list[str]] = mapped_column(JSON, default=list)  # rules forced past
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # incident all-clear
    all_clear_text: Mapped[str | None] = mapped_column(Text)
    rca_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rca_reminders: Mapped[int] = mapped_column(Integer, default=0)
    rca_delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rca_link: Mapped[str | None] = mapped_column(Text)


class NoticeAudience(Base):
    """An organization a notice concerns (and, for incidents, how many of its agents)."""

    __tablename__ = "notice_audience"
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"),
                                                 primary_key=True)
    agents_affected: Mapped[int | None] = mapped_column(Integer)


class NoticeStatusUpdate(Base):
    """An incident's status text as posted by the incident commander (latest wins)."""

    __tablename__ = "notice_status_updates"
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(320))


class NoticeReportSchedule(Base):
    """Open/closed case reports for one organization on a schedule (PureConnect reports)."""

    __tablename__ = "notice_report_schedules"
    __table_args__ = (Index("ix_notice_report_schedules_due", "active", "next_due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    cadence: Mapped[str] = mapped_column(String(16))
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: the org's list
    next_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class NoticeMailing(Base):
    """One send of a notice (alert, follow-up slot, all-clear, cancel...) or of a case report.

    ``dedupe_key`` is unique: a follow-up slot or a report period is mailed once however many
    schedulers run.
    """

    __tablename__ = "notice_mailings"
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), index=True)
    report_schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("notice_report_schedules.id"))
    purpose: Mapped[str] = mapped_column(String(24))
    slot: Mapped[int | None] = mapped_column(Integer)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    outcome: Mapped[str] = mapped_column(String(16))  # queued, superseded
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class NoticePart(Base):
    """What one organization gets from a mailing: every header but To and Message-ID, and the
    body. Rendered once per organization, so a recipient costs a string join, not a render."""

    __tablename__ = "notice_parts"
    id: Mapped[int] = mapped_column(primary_key=True)
    mailing_id: Mapped[int] = mapped_column(ForeignKey("notice_mailings.id"), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    subject: Mapped[str] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class NoticeDelivery(Base):
    """One recipient of one mailing, with its own pre-generated Message-ID (bounce matching)."""

    __tablename__ = "notice_deliveries"
    __table_args__ = (Index("ix_notice_deliveries_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    mailing_id: Mapped[int] = mapped_column(ForeignKey("notice_mailings.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("notice_parts.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    bounced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class NoticeSuppression(Base):
    """An address that bounced permanently: later notices skip it."""

    __tablename__ = "notice_suppressions"
    recipient: Mapped[str] = mapped_column(String(320), primary_key=True)
    reason: Mapped[str] = mapped_column(String(64))
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("notice_deliveries.id"))


class AutomatedMailLog(Base):
    """Automated mail per recipient, for the per-recipient hourly limit
    (``workflows.notices.ratelimit``), shared by notices and the case timers."""

    __tablename__ = "automated_mail_log"
    __table_args__ = (Index("ix_automated_mail_log_recipient_at", "recipient", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(32))


class NoticeInquiry(Base):
    """Inbound mail that quotes a notice's reference; its triage item shows the notice."""

    __tablename__ = "notice_inquiries"
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    inbound_message_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"),
                                                    unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class NoticeProfile(Base):
    """What notices need to know about an organization: its agents (availability) and the
    services/components it uses (audience)."""

    __tablename__ = "notice_profiles"
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"),
                                                 primary_key=True)
    agents: Mapped[int | None] = mapped_column(Integer)
    components: Mapped[list[str]] = mapped_column(JSON, default=list)


class NoticeBlackout(Base):
    """A blackout period agreed with one organization (or with all: NULL)."""

    __tablename__ = "notice_blackouts"
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"),
                                                        index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
