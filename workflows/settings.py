"""The one typed settings object, built once at start by ``gateway.config`` and passed in.

Place in the flow: every stage that needs configuration receives a ``Settings`` (or the parts
of it it needs); nothing reads environment variables or files behind its back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from workflows.clock.targets import DEFAULT_SLA_TARGETS, SlaTarget
from workflows.domain import MailboxPolicy


class ConfigError(ValueError):
    """The configuration is wrong; the message says which setting and where it came from.

    Defined here, beside the settings, so the domain can refuse a configuration without
    importing the edge that reads it (``gateway.config`` re-exports it)."""


@dataclass(frozen=True, slots=True)
class Mailbox:
    address: str  # lower-case
    policy: MailboxPolicy = MailboxPolicy.TRIAGE
    escalation: bool = False  # the escalation alias: valid replies also flag the case
    auto_assign: bool = False  # cases opened from its mail go round robin to the analysts
    acknowledge: bool = False  # a case opened from triage or by an analyst: "case N opened"
    notify_closed: bool = False  # an analyst closing one of its cases: "case N closed"
    # Its identity on case mail (workflows.outbound.compose.identity_of): the From display name
    # ("" : the desk's ``desk_name``) and a signature above every mail's footer.
    display_name: str = ""
    signature: str = ""


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """The SMTP/LMTP listener ([smtp] in the TOML file)."""

    host: str = "127.0.0.1"
    port: int = 2525
    hostname: str = "localhost"  # announced in the greeting; passed so aiosmtpd never resolves
    lmtp: bool = False
    tls_cert: Path | None = None  # with tls_key: offer STARTTLS
    tls_key: Path | None = None
    require_tls: bool = False
    auth_required: bool = False
    auth_users: tuple[tuple[str, str], ...] = ()  # (user, password) pairs for AUTH PLAIN/LOGIN
    size_limit: int = 25 * 1024 * 1024
    max_sessions: int = 200
    group_commit_ms: float = 2.0  # how long DATA waits to share a commit with other sessions
    # Listener limits (gateway.smtp.limits): one client cannot hold every session, nor one
    # session for ever. A relay in front (Postfix: 20 connections per destination by default)
    # fits under the per-address cap; raise it if the relay is configured for more.
    max_sessions_per_ip: int = 20  # sessions from one client address; past it 421 4.7.0
    idle_timeout: float = 300.0  # seconds without a command (RFC 5321 4.5.3.2.7: 5 minutes)
    session_lifetime: float = 900.0  # seconds a session may last, whatever it sends
    max_noops: int = 20  # NOOP/RSET/VRFY/HELP between two accepted messages; past it 421
    max_recipients: int = 100  # per transaction (RFC 5321 4.5.3.1.8: at least 100); then 452


class ImapTls(StrEnum):
    """How an IMAP connection is protected (``tls`` of an [[imap]] account)."""

    IMPLICIT = "implicit"  # TLS from the first byte, port 993: preferred (RFC 8314 3.3)
    STARTTLS = "starttls"  # plain connect, then STARTTLS before any login (RFC 3501 6.2.1)
    NONE = "none"  # clear text, password included: only for loopback or a tunnel


IMAPS_PORT = 993  # RFC 8314 7.2
IMAP_PORT = 143  # RFC 3501 2.1


def resolve_imap_tls(tls: ImapTls | str | bool, port: int) -> tuple[ImapTls, int]:
    """The TLS mode and port of an account from ``tls`` and ``port`` as configured (0: unset).

    The old boolean keeps its old meaning so existing configurations connect as before: ``true``
    is implicit TLS, or STARTTLS on port 143; ``false`` is clear text; the port defaults to 993
    either way. A mode name picks its own standard port. Raises ``ValueError`` for another value.
    """
    if isinstance(tls, bool):
        port = port or IMAPS_PORT
        if not tls:
            return ImapTls.NONE, port
        return (ImapTls.STARTTLS if port == IMAP_PORT else ImapTls.IMPLICIT), port
    choices = ", ".join(f'"{m.value}"' for m in ImapTls)
    if not isinstance(tls, str) or tls.strip().lower() not in set(ImapTls):
        raise ValueError(f"tls must be {choices}, true or false, not {tls!r}")
    mode = ImapTls(tls.strip().lower())
    return mode, port or (IMAPS_PORT if mode is ImapTls.IMPLICIT else IMAP_PORT)


@dataclass(frozen=True, slots=True)
class ImapAccount:
    """One polled mailbox ([[imap]] in the TOML file)."""

    name: str
    host: str
    user: str
    mailbox: str  # the declared mailbox address this account's mail counts as delivered to
    port: int = 0  # 0: the standard port of the TLS mode (993 implicit, 143 otherwise)
    # Given as a mode, its name, or the old boolean; always an ``ImapTls`` once constructed
    # (``__post_init__``), so readers never see the old forms.
    tls: ImapTls = ImapTls.IMPLICIT
    # PEM bundle trusted *instead of* the system store (an internal CA, or a self-signed server
    # certificate itself); None: the system store. The host name is checked either way.
    ca_file: Path | None = None
    password: str | None = None
    oauth2_token_command: str | None = None  # prints an access token (XOAUTH2)
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    batch_size: int = 100
    poll_interval: float = 60.0  # fallback poll when IDLE is unavailable or hangs
    idle: bool = True
    timeout: float = 60.0

    def __post_init__(self) -> None:
        tls, port = resolve_imap_tls(self.tls, self.port)
        object.__setattr__(self, "tls", tls)  # frozen: normalizing at construction is the
        object.__setattr__(self, "port", port)  # one time a field may be set
        if self.ca_file is not None and not isinstance(self.ca_file, Path):
            object.__setattr__(self, "ca_file", Path(self.ca_file))


@dataclass(frozen=True, slots=True)
class RelayCredentials:
    """Who we are to the outbound relay ([relay] in the TOML file); the TLS mode is the
    transport's scheme (``smtps://``, ``smtp+starttls://``, ``smtp://``)."""

    user: str | None = None
    password: str | None = None
    oauth2_token_command: str | None = None  # prints an access token (XOAUTH2)
    ca_file: Path | None = None  # PEM bundle trusted instead of the system store


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path
    database_url: str
    mailboxes: tuple[Mailbox, ...]
    transport: str = "file"  # "file" (home/outbox/*.eml) or "smtp://host:port"
    from_address: str = "care@localhost"
    message_id_domain: str = "ticketgate.localhost"
    instance_id: str = "ticketgate"  # value of X-Ticketgate-Loop on everything we send
    escalation_address: str | None = None
    trusted_authserv_ids: tuple[str, ...] = ()
    public_url: str = "http://127.0.0.1:8080"
    # Where a customer sees a case (the desk's portal), "{number}" for the number; None: mail to
    # customers carries no link, since the console (public_url) needs a staff login.
    customer_case_url: str | None = None
    reopen_days: int = 30
    # Mail loops with another help desk (workflows.inbound.decide, NewCaseFlood and NewMail): new
    # mail from one designated contact opens at most this many cases within the window (a day,
    # so that a slow autoresponder cannot keep a loop going under an hourly count either); past
    # it the mail waits in triage, unacknowledged. And one "case opened" acknowledgement per
    # sender per ``new_case_ack_minutes`` (0: every case), so a loop cannot run at mail speed.
    new_cases_per_sender: int = 10
    new_cases_window_hours: float = 24.0
    new_case_ack_minutes: float = 10.0
    sqlite_synchronous: str = "FULL"
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    imap: tuple[ImapAccount, ...] = ()
    broker_url: str | None = None  # None: embedded (in-process) workers
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # The case lifecycle on the clock (workflows.clock, workflows.clock.scheduler):
    care_team_address: str | None = None  # SLA warnings and breaches; None: recorded only
    follow_up_days: tuple[int, int, int] = (2, 5, 10)  # reminder #1, #2, auto-close
    sla_targets: tuple[SlaTarget, ...] = DEFAULT_SLA_TARGETS
    sla_warning_share: float = 0.25  # warn when this share of a target is left
    escalate_unanswered_hours: float = 1.0  # High/Critical with no analyst answer
    purge_after_days: int = 30  # attachments of cases closed longer are purged
    scheduler_interval: float = 60.0  # seconds between embedded scheduler passes
    # Outbound notices (workflows.notices):
    notice_zone: str = "America/Denver"  # maintenance windows, blackouts and the RCA clock
    notice_holiday_country: str = "US"  # holiday blackouts and RCA business days
    notice_lead_days: tuple[int, int] = (7, 14)  # planned (weekly) maintenance notice range
    notice_quarterly_days: int = 30  # quarterly maintenance: at least this many days' notice
    notice_annual_days: int = 90  # annual maintenance: at least this many days' notice
    notice_window_days: str = "tue,thu,sat"  # weekly maintenance windows start on these days
    notice_window_hours: str = "23:00-04:00"  # ... and run these hours (notice_zone)
    notice_follow_up_minutes: int = 30  # incident follow-up cadence
    notice_rca_business_days: int = 5  # RCA due after the all-clear
    notice_retry_minutes: tuple[int, ...] = (5, 15, 60, 240)  # backoff on 4xx; then failed
    notice_stale_minutes: int = 15  # a "sending" claim older than this is "maybe sent"
    notice_batch_size: int = 500  # deliveries claimed, sent and recorded together
    notice_list_id: str | None = None  # List-Id (RFC 2919); None: notices.<message_id_domain>
    rca_reminder_address: str | None = None  # None: care_team_address; neither: recorded only
    automated_per_hour: int = 20  # automated mails per recipient per hour (all kinds)
    # Files an analyst attaches to one case update (workflows.outbound.files). Base64 adds a
    # third on the wire: 20 MB of files make a mail of about 27 MB.
    post_file_max_bytes: int = 10 * 1024 * 1024  # per file
    post_files_max_bytes: int = 20 * 1024 * 1024  # all files of one update
    # A poison message cannot loop (workflows.inbound.process): attempts per message before it is
    # ``failed``, and the time one attempt may take (embedded: checked between stages;
    # Celery: the task's soft limit, the hard limit 30 s later).
    process_max_attempts: int = 3
    process_time_limit: float = 60.0  # seconds
    # The zone a time typed without an offset is read in, the same on every surface (CLI,
    # API, console): gateway.timeinput.read_time. An IANA name.
    desk_timezone: str = "UTC"
    # Case mail hit by a temporary failure (SMTP 4xx): minutes before each retry, then failed;
    # the same backoff rule as notices (workflows.outbound.backoff), run by the clock's case-mail
    # job.
    mail_retry_minutes: tuple[int, ...] = (5, 15, 60, 240)
    relay: RelayCredentials = field(default_factory=RelayCredentials)
    # Mail never linked to a case (triage, ignored, discarded) keeps its files this long after
    # it arrived or its triage item was resolved; a pending item keeps them (purge.py).
    triage_attachment_retention_days: int = 30
    # HTTP: peers whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or CIDRs);
    # none by default, so the per-address login limit counts the real peer.
    trusted_proxies: tuple[str, ...] = ()
    # The From display name of case mail from a mailbox without its own ``display_name``.
    desk_name: str = "Customer Care"

    def customer_link(self, number: str) -> str | None:
        """The customer's link to case ``number``, if the desk has a portal page for it."""
        return self.customer_case_url.replace("{number}", number) if self.customer_case_url \
            else None

    def console_link(self, number: str) -> str:
        """Staff's link to case ``number`` in the console (owner, escalation and SLA mail). One
        slash before ``cases`` whether or not ``public_url`` was written with a trailing one."""
        return f"{self.public_url.rstrip('/')}/cases/{number}"

    @property
    def secret_path(self) -> Path:
        return self.home / "secret.key"

    @property
    def blob_dir(self) -> Path:
        return self.home / "blobs"

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    @property
    def default_mailbox(self) -> Mailbox:
        return self.mailboxes[0]

    def postmaster(self, address: str) -> Mailbox | None:
        """``postmaster@`` one of our mailbox domains (or the bare ``postmaster``) as a triage
        mailbox: RFC 5321 4.5.1 requires every domain that takes mail to accept it, and its
        local part is matched case-insensitively there."""
        local, at, domain = address.strip().lower().rpartition("@")
        if not at:
            local, domain = domain, self.default_mailbox.address.rpartition("@")[2]
        if local != "postmaster":
            return None
        if domain not in {box.address.rpartition("@")[2] for box in self.mailboxes}:
            return None
        return Mailbox(f"postmaster@{domain}", MailboxPolicy.TRIAGE)

    def mailbox(self, address: str) -> Mailbox | None:
        address = address.strip().lower()
        for box in self.mailboxes:
            if box.address == address:
                return box
        return None
