"""The tables. SQLAlchemy 2 typed mappings; the Alembic migrations mirror them.

Place in the flow: the durable boundary (``InboundMessage`` with the raw bytes) and everything a
decision changes. Enum columns hold the ``StrEnum`` values of ``workflows.domain`` as plain
strings so SQLite and PostgreSQL store the same thing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from workflows.storage.base import Base, UTCDateTime


class Organization(Base):
    __tablename__ = "organizations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    country: Mapped[str | None] = mapped_column(String(8))
    notify: Mapped[list[str]] = mapped_column(JSON, default=list)  # distribution list
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # The business calendar (workflows.clock.calendar); NULL means the default (08:00-18:00,
    # mon-fri).
    business_hours: Mapped[str | None] = mapped_column(String(11))  # "08:00-18:00"
    workdays: Mapped[str | None] = mapped_column(String(27))  # "mon,tue,wed,thu,fri"
    closed_days: Mapped[list[str] | None] = mapped_column(JSON)  # ISO dates beyond holidays


class Contact(Base):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    designated: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # ``contact remove``: the row stays (history); a removed contact counts as a stranger.
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class CaseSequence(Base):
    """Next number per family; incremented under the case-opening transaction."""

    __tablename__ = "case_sequences"
    family: Mapped[str] = mapped_column(String(8), primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer)


class Case(Base):
    __tablename__ = "cases"
    # A contact's cases of the last hours: loop protection counts them for each new mail that
    # could open one (workflows.inbound.floods).
    __table_args__ = (Index("ix_cases_contact_created", "contact_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    family: Mapped[str] = mapped_column(String(8))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    subject: Mapped[str] = mapped_column(Text, default="")
    case_type: Mapped[str] = mapped_column(String(64), default="support")
    sub_type: Mapped[str | None] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24), index=True)
    resolution: Mapped[str | None] = mapped_column(String(16))
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    linked_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Ownership (workflows.cases.assignment): the user who owns the case, or none; ``owner_unread``
    # is set when a customer's reply lands on an owned case and cleared when the owner opens it.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("console_users.id"), index=True)
    owner_unread: Mapped[bool] = mapped_column(Boolean, default=False)
    # ``case post --cc``: addresses copied on the thread, kept for later posts (NULL: none).
    cc: Mapped[list[str] | None] = mapped_column(JSON)


class CaseStatusChange(Base):
    """Timestamp of every status change (SLA clocks and the follow-up timer read these)."""

    __tablename__ = "case_status_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    event: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class InboundRaw(Base):
    """A received mail's bytes, in a table of their own (``InboundMessage.raw`` reads them).

    Apart because SQLite rewrites a whole row, overflow pages and all, on every UPDATE: with
    the bytes in ``inbound_messages``, recording a mail's outcome wrote its 5-10 KB to the WAL
    (and to the database at the checkpoint) a second time (issue 15: 200 bench replies, 1.6 MB
    of WAL for the status UPDATEs alone). PostgreSQL keeps an unchanged TOASTed value in place,
    so there this costs one more pipelined INSERT at intake."""

    __tablename__ = "inbound_raws"
    id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id", ondelete="CASCADE"),
                                    primary_key=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class InboundMessage(Base):
    """The durable boundary: raw bytes untouched (``InboundRaw``), envelope apart from the
    headers."""

    __tablename__ = "inbound_messages"
    __table_args__ = (Index("ix_inbound_mailbox_message_id", "mailbox", "message_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(998))
    mailbox: Mapped[str] = mapped_column(String(320))
    envelope_from: Mapped[str] = mapped_column(String(998), default="")
    envelope_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    transport: Mapped[str] = mapped_column(String(16))  # smtp, lmtp, imap, cli
    source: Mapped[str | None] = mapped_column(Text)  # file path, imap uid, peer address
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    trace: Mapped[list[str]] = mapped_column(JSON, default=list)
    defects: Mapped[list[str]] = mapped_column(JSON, default=list)
    automation: Mapped[str | None] = mapped_column(String(16))
    from_address: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # When the purge cut the files out of ``raw`` (workflows.clock.purge); ``sha256`` and
    # ``size`` stay those of the bytes received, so a redelivery is still recognised.
    files_purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Read-only here: the intake (and the purge) write ``inbound_raws``. Loaded with the row,
    # as the column was, and usable in a query: ``select(InboundMessage.raw)``.
    raw: Mapped[bytes] = column_property(select(InboundRaw.raw).where(InboundRaw.id == id)
                                         .scalar_subquery())


class OutboundMessage(Base):
    """Outbox: written in the deciding transaction, sent after commit."""

    __tablename__ = "outbound_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)  # pre-generated
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    automated: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    failed_recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    bounced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Deferred (or being sent): not tried again before this (workflows.outbound.outbox, backoff).
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    files_purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # see inbound


class CaseUpdate(Base):
    __tablename__ = "case_updates"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(320), default="")
    visible_text: Mapped[str] = mapped_column(Text, default="")
    full_text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text)  # as received: clean before showing
    inbound_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id"), unique=True
    )
    outbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_messages.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    author_name: Mapped[str | None] = mapped_column(String(200))  # the sender's display name


class Attachment(Base):
    """Metadata; the bytes are a content-addressed blob under ``$HOME/blobs``."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    inbound_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id"), index=True
    )
    # A file an analyst sent with an update: linked to the mail that carried it, as an inbound
    # file is to its inbound message (the update names the same outbound message).
    outbound_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_messages.id"), index=True
    )
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str | None] = mapped_column(Text)  # the sender's name: metadata only
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # A file on an internal note (workflows.cases.notes): never mailed, so no message names it.
    case_update_id: Mapped[int | None] = mapped_column(ForeignKey("case_updates.id"),
                                                       index=True)


class TriageItem(Base):
    __tablename__ = "triage_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    inbound_message_id: Mapped[int] = mapped_column(
        ForeignKey("inbound_messages.id"), unique=True
    )
    reason: Mapped[str] = mapped_column(String(32), index=True)
    suggested_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(320))
    resolved_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))


class AuditEvent(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(320))  # "system", "cli:root", a user's email
    action: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    inbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ImapFolderState(Base):
    """How far an IMAP poller has committed one folder: (account, folder) -> UIDVALIDITY, UID.

    UIDs only mean something with their UIDVALIDITY (RFC 3501 2.3.1.1), so both are kept; a new
    UIDVALIDITY makes the poller read the folder again from UID 1. Both are 32-bit unsigned
    numbers, hence BigInteger (PostgreSQL's INTEGER is signed 32-bit).
    """

    __tablename__ = "imap_folder_state"
    account: Mapped[str] = mapped_column(String(200), primary_key=True)
    folder: Mapped[str] = mapped_column(String(1000), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)  # every UID <= this one is committed
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DueTimer(Base):
    """One timer of a case's lifecycle, swept by ``workflows.clock.scheduler`` (never a Celery ETA).

    Written when a clock starts (``started_at``); ``due_at`` is filled in by the scheduler, which
    knows the settings and the organization's calendar; ``fired_at`` is set by the
    compare-and-set claim (``... WHERE id = ? AND fired_at IS NULL``) in the transaction that
    acts on it, so a timer fires once however many schedulers run. A timer whose clock has
    since stopped fires with outcome ``stale`` and does nothing.
    """

    __tablename__ = "due_timers"
    # Pending rows first (fired_at IS NULL), by due time, then id: both the arming query (due_at
    # IS NULL, by id) and the firing query (due_at <= now, by due_at, id) are index range scans.
    __table_args__ = (Index("ix_due_timers_pending", "fired_at", "due_at", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    fired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(24))
    outbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_messages.id"))


# The notices' and the console's tables live in their own modules (a seam, and a size); importing
# them here registers them on ``Base.metadata`` and keeps ``from workflows.storage.models import``
# working for every table.
from workflows.storage.models_console import *  # noqa: E402, F403
from workflows.storage.models_desk import *  # noqa: E402, F403
from workflows.storage.models_notices import *  # noqa: E402, F403
from workflows.storage.models_replies import *  # noqa: E402, F403
