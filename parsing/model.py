"""What the parser hands to the rest of the gateway.

Place in the flow: ``parsing.parse(raw) -> ParsedMail`` is the first step a worker takes after
``intake.accept`` committed the raw bytes. Everything here is a frozen dataclass or an enum so
that the stages after parsing (threading, ``workflows.inbound.decide``) receive values, not a
mutable bag of metadata.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class AutomationClass(StrEnum):
    """Who (or what) wrote the message, as far as routing cares."""

    HUMAN = "human"
    AUTO_REPLY = "auto_reply"  # out-of-office, vacation, "we received your mail" (RFC 3834)
    BOUNCE = "bounce"  # delivery status notification (RFC 3464) or a look-alike
    LIST = "list"  # mailing list or bulk mail (RFC 2369 List-*, Precedence: bulk)
    LOOP = "loop"  # our own outbound mail came back to us
    COMPLAINT = "complaint"  # abuse feedback report (ARF, RFC 5965) about our mail


class ReferenceSource(StrEnum):
    """Where a reference token was found, in matching precedence order (RFC 5322 3.6.4 first)."""

    THREAD = "thread"  # our Message-ID in In-Reply-To / References
    SUBJECT = "subject"
    BODY = "body"


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox from a header: display name (decoded) and addr-spec (lower-cased)."""

    email: str
    name: str = ""

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]


@dataclass(frozen=True, slots=True)
class Defect:
    """Something wrong with the message that the parser worked around instead of raising."""

    where: str  # "headers", "part 2", "attachment 'x.pdf'", "tnef", ...
    description: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file carried by the message. ``filename`` is the sender's name: metadata only."""

    filename: str | None
    content_type: str
    payload: bytes
    inline: bool = False
    content_id: str | None = None
    from_tnef: bool = False  # unpacked from a winmail.dat


@dataclass(frozen=True, slots=True)
class TokenCandidate:
    """Something shaped like a reference token; ``verify`` says whether it is ours."""

    number: str  # case number, canonical upper case: CASE-1001, TSUP-1001, 100100
    mac: str  # lower-case base32 signature as found
    source: ReferenceSource
    valid: bool | None = None  # None: not checked (no key given to parse)


class DeliveryAction(StrEnum):
    """RFC 3464 2.3.3 Action of one recipient, as far as a failure report can say."""

    FAILED = "failed"  # permanent: the MTA gave up (RFC 3463 class 5)
    DELAYED = "delayed"  # transient: the MTA is still trying (class 4); never a bounce


@dataclass(frozen=True, slots=True)
class FailedRecipient:
    """One recipient a failure report names, with what it says about that recipient."""

    address: str  # lower-cased
    action: DeliveryAction
    status: str | None = None  # RFC 3463 enhanced code, e.g. "5.1.1"
    diagnostic: str = ""  # the remote server's words (Diagnostic-Code or the report's text)
    remote_mta: str | None = None

    @property
    def permanent(self) -> bool:
        return self.action is DeliveryAction.FAILED


@dataclass(frozen=True, slots=True)
class Bounce:
    """What a delivery failure report says about the mail that failed.

    ``failed_recipients`` are the addresses a reader should act on: the permanent failures
    when there is any, else the delayed ones (and then ``permanent`` is False), so that a
    consumer marking ``failed_recipients`` bounced when ``permanent`` never marks a delayed
    one. ``recipients`` has every named recipient with its own action and status.
    """

    original_message_id: str | None  # without angle brackets
    failed_recipients: tuple[str, ...]
    permanent: bool = True  # 5.x.x (RFC 3463) vs 4.x.x delayed
    format: str = "rfc3464"  # the reader that understood it: rfc3464, qmail, exim, exchange, ...
    recipients: tuple[FailedRecipient, ...] = ()
    reporting_mta: str | None = None

    @property
    def reason(self) -> str:
        """What an analyst reads: each acted-on recipient with its status and the server's
        words ("gone@x.example 5.1.1 User unknown"), at most 500 characters."""
        wanted = set(self.failed_recipients)
        parts = [" ".join(x for x in (r.address, r.status or "", r.diagnostic) if x)
                 for r in self.recipients if r.address in wanted]
        return "; ".join(parts or self.failed_recipients)[:500]


@dataclass(frozen=True, slots=True)
class Complaint:
    """An abuse feedback report (ARF, RFC 5965): a recipient called our mail unwanted."""

    feedback_type: str  # abuse, fraud, virus, not-spam, other, ... (RFC 5965 3.1 / 7.3)
    original_message_id: str | None  # of the mail complained about, without angle brackets
    recipients: tuple[str, ...] = ()  # Original-Rcpt-To, else the To of the returned mail
    reporting_mta: str | None = None  # Reporting-MTA, else User-Agent
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class AuthResult:
    """One ``Authentication-Results`` header (RFC 8601), reduced to what routing needs."""

    authserv_id: str
    dmarc: str | None  # pass, fail, none, ... (lower-case) or None when absent
    header_from: str | None  # the header.from domain the DMARC result is about


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """Everything a decision needs to know about one message. Never raised for: see defects."""

    message_id: str | None  # without angle brackets
    subject: str
    from_: Address | None
    reply_to: tuple[Address, ...] = ()
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    date: dt.datetime | None = None
    in_reply_to: tuple[str, ...] = ()  # Message-IDs without angle brackets
    references: tuple[str, ...] = ()
    text: str = ""  # the text body (text/plain, or the HTML converted to text)
    html: str | None = None  # the HTML body as sent (sanitize before showing it)
    visible_reply: str = ""  # ``text`` with quotes and signatures trimmed
    attachments: tuple[Attachment, ...] = ()
    automation: AutomationClass = AutomationClass.HUMAN
    automation_rules: tuple[str, ...] = ()  # names of the classifier rules that hit
    bounce: Bounce | None = None
    complaint: Complaint | None = None
    auth_results: tuple[AuthResult, ...] = ()
    tokens: tuple[TokenCandidate, ...] = ()  # in precedence order: thread, subject, body
    case_numbers: tuple[str, ...] = ()  # bare case numbers mentioned (suggestions, never links)
    defects: tuple[Defect, ...] = ()
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # decoded, in order
    # Who wrote it, in full (RFC 5322 3.6.2): every From mailbox over every From field (``from_``
    # is the first), how many From fields there were, and the Sender field's mailboxes.
    from_all: tuple[Address, ...] = ()
    from_fields: int = 0
    sender_field: tuple[Address, ...] = ()

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    @property
    def authors(self) -> tuple[Address, ...]:
        """Every From mailbox (``from_`` alone when only that was given)."""
        if self.from_all:
            return self.from_all
        return (self.from_,) if self.from_ is not None else ()

    @property
    def valid_tokens(self) -> tuple[TokenCandidate, ...]:
        return tuple(t for t in self.tokens if t.valid)

    @property
    def invalid_tokens(self) -> tuple[TokenCandidate, ...]:
        return tuple(t for t in self.tokens if t.valid is False)
