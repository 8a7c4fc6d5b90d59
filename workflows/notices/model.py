"""The vocabulary of notices: kinds, states, purposes, delivery statuses, and what a request is.

Place in the flow: imported by every module of ``workflows.notices`` and by the CLI; values are
stored as plain strings in the ``notices``/``notice_*`` tables (``workflows.storage.models``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class NoticeKind(StrEnum):
    PLANNED = "planned"
    EMERGENCY = "emergency"
    INCIDENT = "incident"
    ADVISORY = "advisory"

    @property
    def prefix(self) -> str:
        """The reference prefix recipients quote: MNT-2026-0042."""
        return _PREFIX[self]

    @property
    def label(self) -> str:
        return _LABEL[self]

    @property
    def maintenance(self) -> bool:
        """Maintenance notices carry start and end times and an ICS attachment."""
        return self in (NoticeKind.PLANNED, NoticeKind.EMERGENCY)


_PREFIX = {NoticeKind.PLANNED: "MNT", NoticeKind.EMERGENCY: "EMG", NoticeKind.INCIDENT: "INC",
           NoticeKind.ADVISORY: "ADV"}
_LABEL = {NoticeKind.PLANNED: "Planned maintenance", NoticeKind.EMERGENCY: "Emergency maintenance",
          NoticeKind.INCIDENT: "Incident alert", NoticeKind.ADVISORY: "Advisory"}


class NoticeState(StrEnum):
    DRAFT = "draft"  # created, not sent
    ACTIVE = "active"  # sent; an incident is ongoing, a maintenance is announced
    RESOLVED = "resolved"  # incident: all-clear given
    CANCELLED = "cancelled"


class Window(StrEnum):
    """Echopass maintenance windows (Table 1): how much notice each needs."""

    WEEKLY = "weekly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"


class Purpose(StrEnum):
    """Why a mailing went out; each has its template in ``templates/notices/``."""

    ANNOUNCE = "announce"
    RESCHEDULE = "reschedule"
    FOLLOW_UP = "follow_up"
    ALL_CLEAR = "all_clear"
    CANCEL = "cancel"
    RCA = "rca"
    RCA_REMINDER = "rca_reminder"
    CASE_REPORT = "case_report"


class MailingOutcome(StrEnum):
    QUEUED = "queued"  # its deliveries were written
    SUPERSEDED = "superseded"  # a follow-up slot overtaken by a later one in the same pass


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a worker (compare-and-set) and handed to the transport
    SENT = "sent"
    DEFERRED = "deferred"  # a 4xx or the rate limit: tried again at next_attempt_at
    FAILED = "failed"  # a 5xx, or 4xx until the retries ran out
    BOUNCED = "bounced"  # accepted, then a DSN came back (parsed by the inbound core)
    SKIPPED = "skipped"  # never sent: the address bounced before
    UNCERTAIN = "uncertain"  # "maybe sent": a claim that never reported back; not resent


PENDING = (DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED)


class Cadence(StrEnum):
    """Case report schedules (PureConnect "Customer Reports")."""

    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


@dataclass(frozen=True, slots=True)
class Refusal:
    """One rule a notice breaks, with the words an operator reads."""

    rule: str
    reason: str


@dataclass(frozen=True, slots=True)
class NoticeRequest:
    """What an operator asks for (``notice create``); checked by ``rules`` before it is stored."""

    kind: NoticeKind
    title: str
    impact: str
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    link: str | None = None
    details: str = ""
    recommendation: str = ""
    window: Window | None = None
    organizations: tuple[str, ...] = ()  # names; empty (and no components): all organizations
    components: tuple[str, ...] = ()  # or: the organizations that use these
    agents: tuple[tuple[str, int], ...] = ()  # (organization, agents affected), incidents
    force_reason: str | None = None  # forced past the rules, with this justification
