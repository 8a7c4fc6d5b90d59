"""The data a decision is made from and the data it produces.

Place in the flow: ``workflows.inbound.snapshot`` reads a ``Snapshot`` from the database;
``workflows.inbound.decide`` turns (snapshot, parsed mail) into a ``Decision``;
``workflows.inbound.apply`` carries out its ``effects`` in one transaction. Effects are values, so
the decision stays pure and testable without a database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from workflows.cases.state import CaseEvent
from workflows.domain import (
    CaseStatus,
    MailboxPolicy,
    OutboundKind,
    Outcome,
    Reason,
    Resolution,
    UpdateKind,
)
from workflows.settings import Mailbox


@dataclass(frozen=True, slots=True)
class CaseView:
    id: int
    number: str
    status: CaseStatus
    organization_id: int
    resolution: Resolution | None = None
    closed_at: dt.datetime | None = None
    subject: str = ""


@dataclass(frozen=True, slots=True)
class SenderView:
    email: str
    contact_id: int | None = None
    organization_id: int | None = None
    designated: bool = False

    def may_update(self, case: CaseView) -> bool:
        """Only designated contacts of the case's organization change a case (DOMAIN: People)."""
        return self.designated and self.organization_id == case.organization_id

    def opens_cases_in(self, mailbox: Mailbox) -> bool:
        """Whether this sender's new mail to ``mailbox`` opens a case: a mailbox of policy
        ``open_case`` and a designated contact (DOMAIN: Inbound mail)."""
        return (mailbox.policy is MailboxPolicy.OPEN_CASE and self.designated
                and self.contact_id is not None)


@dataclass(frozen=True, slots=True)
class OutboundView:
    id: int
    message_id: str
    case_number: str | None


@dataclass(frozen=True, slots=True)
class NoticeView:
    """A notice (``workflows.notices``) an inbound mail quotes."""

    id: int
    reference: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class Snapshot:
    now: dt.datetime
    mailbox: Mailbox
    sender: SenderView | None
    cases: tuple[CaseView, ...] = ()  # every case the mail's tokens, numbers or bounce name
    earlier_duplicate_id: int | None = None  # same Message-ID to the same mailbox, kept earlier
    # Same Message-ID to another of our mailboxes, kept earlier and already linked to a case.
    linked_copy_id: int | None = None
    bounced_outbound: OutboundView | None = None  # our mail a bounce reports on
    replied_outbound: OutboundView | None = None  # our mail this one answers (In-Reply-To)
    trusted_authserv_ids: tuple[str, ...] = ()
    reopen_days: int = 30
    closed_notice_recently_sent: bool = False  # we told this sender "open a new case" lately
    quoted_notice: NoticeView | None = None  # a notice reference the mail quotes
    bounced_notice_delivery: int | None = None  # the notice delivery a bounce reports on
    # New mail to an ``open_case`` mailbox from a designated contact (else left empty): the
    # cases that sender's new mail opened within ``new_cases_window_hours``, newest first (at
    # most ``new_cases_per_sender`` of them), and whether we sent that address a "case opened"
    # acknowledgement within ``new_case_ack_minutes``. Loop protection (RFC 3834 2).
    sender_new_cases: tuple[str, ...] = ()
    new_cases_per_sender: int = 10
    new_cases_window_hours: float = 24.0
    acknowledged_lately: bool = False

    def case(self, number: str | None) -> CaseView | None:
        for case in self.cases:
            if case.number == number:
                return case
        return None


# --- effects ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddUpdate:
    """Record this message on the case as an update of ``kind`` (with its attachments)."""

    case_number: str
    kind: UpdateKind


@dataclass(frozen=True, slots=True)
class ChangeStatus:
    case_number: str
    to: CaseStatus
    event: CaseEvent


@dataclass(frozen=True, slots=True)
class FlagEscalated:
    case_number: str


@dataclass(frozen=True, slots=True)
class QueueTriage:
    reason: Reason
    suggested_case: str | None


@dataclass(frozen=True, slots=True)
class OpenCase:
    """Open a case for the sender (a designated contact) and acknowledge it, unless the
    sender had an acknowledgement moments ago (``acknowledge`` false: loop protection)."""

    organization_id: int
    contact_id: int
    subject: str
    acknowledge: bool = True


@dataclass(frozen=True, slots=True)
class SendMail:
    kind: OutboundKind
    to: tuple[str, ...]
    case_number: str | None


@dataclass(frozen=True, slots=True)
class MarkBounced:
    outbound_id: int
    failed_recipients: tuple[str, ...]
    permanent: bool


@dataclass(frozen=True, slots=True)
class RecordNoticeInquiry:
    """Attach this message (and its triage item) to the notice it asks about."""

    notice_id: int


@dataclass(frozen=True, slots=True)
class MarkNoticeBounced:
    """A DSN for one of our notice deliveries: later notices skip that recipient."""

    delivery_id: int
    failed_recipients: tuple[str, ...]
    permanent: bool


@dataclass(frozen=True, slots=True)
class RecordComplaint:
    """An abuse report (ARF, RFC 5965) about our case mail or notice: recorded on it, and the
    recipient gets no more notices (suppression reason ``complaint``)."""

    outbound_id: int | None
    notice_delivery_id: int | None
    recipients: tuple[str, ...]
    feedback_type: str


Effect = (AddUpdate | ChangeStatus | FlagEscalated | QueueTriage | OpenCase | SendMail
          | MarkBounced | RecordNoticeInquiry | MarkNoticeBounced | RecordComplaint)


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    reason: Reason
    case_number: str | None = None  # the case the message is recorded on
    suggested_case: str | None = None
    effects: tuple[Effect, ...] = ()
    trace: tuple[str, ...] = ()
