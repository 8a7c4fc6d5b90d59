"""The vocabulary of the domain: enums shared by decisions, storage and the edges.

Place in the flow: imported by every stage after parsing. The case state machine lives in
``workflows.cases.state``; this module only names things.
"""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    OPEN = "open"
    AWAITING_INFO = "awaiting_info"
    SOLUTION_PROPOSED = "solution_proposed"
    CLOSED = "closed"


class Resolution(StrEnum):
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


class Severity(StrEnum):
    INCIDENT = "incident"
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Family(StrEnum):
    """Ticket families and their number shapes (LiveVox "Fulfillment Path")."""

    CASE = "case"  # Customer Care: CASE-1001
    TSUP = "tsup"  # Technical Support escalation: TSUP-1001
    PC = "pc"  # Project Coordination escalation: six digits, 100100


FIRST_NUMBER = {Family.CASE: 1001, Family.TSUP: 1001, Family.PC: 100100}


def format_case_number(family: Family, seq: int) -> str:
    if family is Family.PC:
        return f"{seq:06d}"
    return f"{family.value.upper()}-{seq}"


class MessageStatus(StrEnum):
    """Life of an inbound message: the durable row first, then its processing."""

    RECEIVED = "received"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"


class Outcome(StrEnum):
    LINKED = "linked"
    TRIAGED = "triaged"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class Reason(StrEnum):
    """Machine-readable reasons stored on the message and shown in triage."""

    REPLY = "reply"  # linked: a reply carrying a valid reference
    NEW_CASE = "new_case"  # linked: new mail opened a case (mailbox policy open_case)
    ESCALATION_REQUEST = "escalation_request"
    UNAUTHORIZED_SENDER = "unauthorized_sender"
    SPOOFED_SENDER = "spoofed_sender"
    INVALID_REFERENCE = "invalid_reference"
    UNKNOWN_CASE = "unknown_case"
    NO_REFERENCE = "no_reference"
    NEW_MAIL = "new_mail"
    UNKNOWN_SENDER = "unknown_sender"
    # New mail from a designated contact whose mail already opened its share of cases lately
    # (``Settings.new_cases_per_sender``): most likely another desk's autoresponder answering
    # our acknowledgements (RFC 3834 2), so it waits for a person instead of opening a case.
    NEW_CASE_FLOOD = "new_case_flood"
    REOPEN_REQUEST = "reopen_request"
    CLOSED_TOO_LONG = "closed_too_long"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    LIST_MAIL = "list_mail"
    LOOP = "loop"
    SAME_MESSAGE_ID = "same_message_id"
    SAME_BYTES = "same_bytes"
    NO_SENDER = "no_sender"
    NOTICE_INQUIRY = "notice_inquiry"  # quotes a notice reference (workflows.notices)
    COMPLAINT = "complaint"  # an abuse feedback report (ARF, RFC 5965) about our mail
    AMBIGUOUS_SENDER = "ambiguous_sender"  # several From mailboxes, or a Sender not aligned


class MailboxPolicy(StrEnum):
    """What new mail (no reference) to a mailbox does."""

    TRIAGE = "triage"
    OPEN_CASE = "open_case"


class TriageState(StrEnum):
    PENDING = "pending"
    LINKED = "linked"
    OPENED = "opened"
    REOPENED = "reopened"
    DISCARDED = "discarded"


class OutboundStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"
    DEFERRED = "deferred"  # a temporary failure (4xx): tried again at next_attempt_at
    # Never sent, on purpose: an answer to inbound mail past ``automated_per_hour`` (RFC 3834
    # 5); its reason in last_error. Not failed: never retried, and ``case resend`` refuses it.
    HELD = "held"


class OutboundKind(StrEnum):
    ANALYST_POST = "analyst_post"
    NEW_CASE_ACK = "new_case_ack"
    CLOSED_TOO_LONG = "closed_too_long"
    ESCALATION = "escalation"
    # The case lifecycle on the clock (workflows.clock):
    FOLLOW_UP_REMINDER = "follow_up_reminder"  # to the contact: reminder #1 or #2
    FOLLOW_UP_CLOSED = "follow_up_closed"  # to the contact: closed by auto follow-up
    SLA_WARNING = "sla_warning"  # to the care team: a target is close
    SLA_BREACH = "sla_breach"  # to the care team: a target was missed
    UNANSWERED_ESCALATION = "unanswered_escalation"  # to management: High/Critical unanswered
    CASE_ESCALATED = "case_escalated"  # to the contact: the linked case of another family
    TRIAGE_REPLY = "triage_reply"  # to a triage sender: an admin's answer from the console
    OWNER_REPLY = "owner_reply"  # to a case's owner who opted in: the customer replied
    CASE_CLOSED = "case_closed"  # to the contact: an analyst closed the case (notify_closed)


class UpdateKind(StrEnum):
    REPLY = "reply"  # a human reply
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    LIST = "list"
    POST = "post"  # analyst's outbound post
    NOTE = "note"  # system note: status change, escalation, link from triage
    COMPLAINT = "complaint"  # a recipient reported our mail as abuse (ARF, RFC 5965)


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class Role(StrEnum):
    """A console user's role (``gateway.http.accounts`` gives each its permissions). Named
    here, with the rest of the vocabulary, so that ``ticketgate user add --role`` offers the
    choices without importing the accounts module (SQLAlchemy and the case services)."""

    ADMIN = "admin"  # triage, users' mail, failed messages: everything
    ANALYST = "analyst"  # works cases and triage
    SCHEDULER = "scheduler"  # sends notices
