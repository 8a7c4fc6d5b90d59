"""The configuration's typed model: every setting, its type, default, bounds and meaning.

Place in the flow: read by ``gateway.config.load_settings`` (which feeds it the TOML file and
the environment through ``gateway.config_sources`` and turns the result into
``workflows.settings``), by ``ticketgate config show`` and by
``gateway.cli.config_cmd.reference_table`` (the README's table is generated from the
descriptions here, and a test fails when they differ).

Naming: a ``[gateway]`` key ``k`` is ``TICKETGATE_K`` in the environment; a key ``k`` of the
table ``[t]`` is ``TICKETGATE_T_K``. A few older names stay (``env=`` below). Lists are TOML
arrays, or comma-separated in the environment. The tables ``[[mailbox]]``, ``[[imap]]`` and
``[sla.*]`` come from the file only and are checked by ``gateway.config``.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from workflows.outbound import headers as mailheaders


def setting(default: Any, description: str, *, env: str | None = None, secret: bool = False,
            **bounds: Any) -> Any:
    """A field with its README line; ``env`` names an older variable kept for it."""
    extra: dict[str, Any] = {"secret": secret}
    if env:
        extra["env"] = env
    return Field(default, description=description, json_schema_extra=extra, **bounds)


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SmtpSection(Section):
    """[smtp]: the SMTP/LMTP listener."""

    host: str = setting("127.0.0.1", "listen address (`TICKETGATE_SMTP=host:port` sets both)")
    port: int = setting(2525, "listen port", ge=0, le=65535)
    hostname: str = setting("localhost", "name announced in the greeting")
    lmtp: bool = setting(False, "speak LMTP (RFC 2033) instead of SMTP, e.g. behind Postfix")
    tls_cert: Path | None = setting(None, "PEM certificate: with `tls_key`, offer STARTTLS")
    tls_key: Path | None = setting(None, "PEM private key of `tls_cert`")
    require_tls: bool = setting(False, "refuse MAIL before STARTTLS")
    auth_required: bool = setting(False, "refuse MAIL before AUTH")
    auth_users: dict[str, SecretStr] = setting({}, "AUTH PLAIN/LOGIN users: `{ user = \"pw\" }`",
                                               secret=True)
    size_limit: int = setting(25 * 1024 * 1024, "largest message in bytes (552 5.3.4 past it)",
                              ge=1)
    max_sessions: int = setting(200, "sessions at once; past it 421 4.3.2", ge=1)
    group_commit_ms: float = setting(2.0, "at most how long DATA waits to share a commit "
                                   "(less once no other session is sending)", ge=0)
    max_sessions_per_ip: int = setting(20, "sessions from one client address; past it 421 4.7.0",
                                       ge=1)
    idle_timeout: float = setting(300.0, "seconds without a command (RFC 5321 4.5.3.2.7)", ge=1)
    session_lifetime: float = setting(900.0, "seconds a session may last, whatever it sends",
                                      ge=1)
    max_noops: int = setting(20, "NOOP/RSET/VRFY/HELP between two accepted messages; then 421",
                             ge=1)
    max_recipients: int = setting(100, "recipients per transaction (RFC 5321 4.5.3.1.8: at "
                                  "least 100); then 452 4.5.3", ge=100)


class NoticesSection(Section):
    """[notices]: outbound maintenance, incident and advisory notices."""

    zone: str = setting("America/Denver", "maintenance windows, blackouts and the RCA clock")
    holiday_country: str = setting("US", "holiday blackouts and RCA business days")
    lead_days: tuple[int, int] = setting((7, 14), "planned maintenance notice range, in days")
    quarterly_days: int = setting(30, "quarterly maintenance: least days of notice", ge=1)
    annual_days: int = setting(90, "annual maintenance: least days of notice", ge=1)
    window_days: str = setting("tue,thu,sat", "weekly maintenance windows start on these days")
    window_hours: str = setting("23:00-04:00", "weekly maintenance window hours (`zone`)")
    follow_up_minutes: int = setting(30, "incident follow-up cadence", ge=1)
    rca_business_days: int = setting(5, "RCA due this many business days after the all-clear",
                                     ge=1)
    retry_minutes: tuple[int, ...] = setting((5, 15, 60, 240),
                                             "backoff after a 4xx, then failed")
    stale_minutes: int = setting(15, "a `sending` claim older than this is `uncertain`", ge=1)
    batch_size: int = setting(500, "deliveries claimed, sent and recorded together", ge=1)
    list_id: str | None = setting(None, "List-Id (RFC 2919); unset: notices.<message_id_domain>")
    rca_reminder_address: str | None = setting(None, "RCA reminders; unset: care_team_address")
    automated_per_hour: int = setting(20, "automated mails per recipient per hour (all kinds)",
                                      ge=1, env="TICKETGATE_AUTOMATED_PER_HOUR")

    @field_validator("retry_minutes")
    @classmethod
    def _positive(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or min(value) < 1:
            raise ValueError("must be one or more numbers of at least 1")
        return value


class RelaySection(Section):
    """[relay]: who we are to the outbound relay (the scheme of `transport` sets TLS)."""

    user: str | None = setting(None, "relay user (AUTH PLAIN, else LOGIN, or XOAUTH2)")
    password: SecretStr | None = setting(None, "relay password", secret=True)
    oauth2_token_command: str | None = setting(None, "prints an OAuth2 access token (XOAUTH2)",
                                               secret=True)
    ca_file: Path | None = setting(None, "PEM bundle trusted instead of the system store")


class GatewayConfig(BaseModel):
    """[gateway] and the tables: the whole configuration as the file and environment give it
    (``gateway.config_sources.gathered``).

    Defaults are validated too, as pydantic-settings' ``BaseSettings`` (which this was) does.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    home: Path = setting(Path("var"), "data directory: database, `secret.key`, `blobs/`, "
                         "`outbox/` (environment only)")
    database_url: str | None = setting(None, "SQLAlchemy URL; unset: "
                                       "`sqlite:///$TICKETGATE_HOME/ticketgate.db`", secret=True)
    transport: str = setting("file", "outbound: `file` (`$TICKETGATE_HOME/outbox/*.eml`), "
                             "`smtp://h:25`, `smtp+starttls://h:587` or `smtps://h:465`")
    broker_url: str | None = setting(None, "`redis://…` or `amqp://…` to process on Celery "
                                     "workers; unset: embedded workers", secret=True)
    from_address: str | None = setting(None, "From of outbound mail; unset: the first mailbox",
                                       env="TICKETGATE_FROM")
    message_id_domain: str | None = setting(None, "right side of our Message-IDs; unset: the "
                                            "first mailbox's domain")
    instance_id: str | None = setting(None, "value of X-Ticketgate-Loop on all we send; "
                                      "unset: ticketgate.<message_id_domain>")
    escalation_address: str | None = setting(None, "where escalation requests are mailed")
    trusted_authserv_ids: tuple[str, ...] = setting(
        (), "`authserv-id`s whose Authentication-Results are believed")
    trusted_proxies: tuple[str, ...] = setting(
        (), "addresses or networks whose X-Forwarded-For the console believes")
    public_url: str = setting("http://127.0.0.1:8080", "the console's address as people type it")
    customer_case_url: str | None = setting(
        None, "customers' link to their case in reminders and escalation mail: your portal's "
        "page, `{number}` for the case (`https://support.example/cases/{number}`); unset: no "
        "link (the console is for staff)")
    http_host: str = setting("127.0.0.1", "console and API listen address (`serve --http`)")
    http_port: int = setting(8080, "console and API listen port", ge=0, le=65535)
    reopen_days: int = setting(30, "how long a closed case may be reopened", ge=0)
    new_cases_per_sender: int = setting(
        10, "cases one designated contact's new mail may open within `new_cases_window_hours` "
        "(mailbox policy `open_case`); past it their new mail waits in triage as "
        "`new_case_flood`, unacknowledged (a mail loop with another desk's autoresponder)",
        ge=1)
    new_cases_window_hours: float = setting(24.0, "the window `new_cases_per_sender` counts in",
                                            gt=0)
    new_case_ack_minutes: float = setting(
        10.0, "one \"case opened\" acknowledgement per sender this often: a case their new mail "
        "opens sooner is opened unacknowledged (0: acknowledge every case)", ge=0)
    sqlite_synchronous: str = setting("FULL", "SQLite durability: `FULL` survives power loss, "
                                      "`NORMAL` only crashes", pattern="(?i)^(full|normal)$")
    care_team_address: str | None = setting(None, "SLA warnings and breaches; unset: recorded")
    follow_up_days: tuple[int, int, int] = setting(
        (2, 5, 10), "business days to reminder 1, reminder 2 and auto-close")
    sla_warning_share: float = setting(0.25, "warn when this share of an SLA target is left",
                                       ge=0, lt=1)
    escalate_unanswered_hours: float = setting(1.0, "High/Critical unanswered this long: "
                                               "escalated", gt=0)
    purge_after_days: int = setting(30, "attachments of cases closed longer are purged", ge=1)
    triage_attachment_retention_days: int = setting(
        30, "files of mail never linked to a case are kept this long", ge=1)
    scheduler_interval: float = setting(60.0, "seconds between embedded scheduler passes", gt=0)
    process_max_attempts: int = setting(3, "tries before a message that keeps failing is "
                                        "`failed` (then `ticketgate failed retry`)", ge=1)
    # Celery's hard limit on a processing task is the soft one plus 30 s, within the 240 s that
    # workflows.tasks.TASK_TIME_LIMIT allows any task (the sweeper's STUCK_AFTER relies on it).
    process_time_limit: float = setting(60.0, "seconds one message may take to process; an "
                                        "overrun is a failed try", gt=0, le=210)
    mail_retry_minutes: tuple[int, ...] = setting(
        (5, 15, 60, 240), "case mail after a 4xx: minutes before each retry, then failed")
    post_file_max_bytes: int = setting(10 * 1024 * 1024, "largest file on an analyst's update",
                                       ge=1)
    post_files_max_bytes: int = setting(20 * 1024 * 1024, "all files of one update", ge=1)
    desk_timezone: str = setting("UTC", "the zone a time typed without an offset is read in, "
                                 "in the CLI, the API and the console (IANA name)")
    desk_name: str = setting("Customer Care", "From display name of notices, and of case mail "
                             "from a mailbox "
                             "without its own `display_name`", min_length=1, max_length=200,
                             pattern=r"^[^\r\n\x00]*$")
    smtp: SmtpSection = Field(default_factory=SmtpSection)
    notices: NoticesSection = Field(default_factory=NoticesSection)
    relay: RelaySection = Field(default_factory=RelaySection)
    # File-only tables, checked by gateway.config with messages of their own:
    mailbox: list[dict[str, Any]] | None = None
    imap: list[dict[str, Any]] | None = None
    sla: dict[str, Any] = Field(default_factory=dict)

    @field_validator("mail_retry_minutes")
    @classmethod
    def _retries(cls, minutes: tuple[int, ...]) -> tuple[int, ...]:
        if not minutes or min(minutes) < 1:
            raise ValueError("expected positive minutes, e.g. [5, 15, 60, 240]")
        return minutes

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, url: str | None) -> str | None:
        # SQLAlchemy's own first check (``dialect[+driver]://``), made here so that a typo stops
        # the start with this line, not a traceback from create_engine. The URL may hold a
        # password: the message does not repeat it.
        if url is not None and not re.match(r"[\w+]+://", url):
            raise ValueError("is not a database URL: expected e.g. "
                             "postgresql+psycopg://user@host/db or sqlite:////path/ticketgate.db")
        return url

    @field_validator("broker_url")
    @classmethod
    def _broker_url(cls, url: str | None) -> str | None:
        # Checked here, not by kombu: a wrong scheme let the listener take mail it could never
        # publish, and `ticketgate worker` died in a traceback (KeyError: No such transport).
        # The URL may hold a password: the message does not repeat it.
        if url is not None and not re.match(r"(redis|rediss|sentinel|amqp|amqps|pyamqp)://",
                                            url, re.IGNORECASE):
            raise ValueError("is not a broker URL: expected redis://host:6379/0 or "
                             "amqp://user:password@host:5672//")
        return url

    @field_validator("customer_case_url")
    @classmethod
    def _customer_case_url(cls, url: str | None) -> str | None:
        if url is not None and not (re.match(r"https?://[^/\s]+", url) and "{number}" in url
                                    and url.count("{") == 1 and url.count("}") == 1):
            raise ValueError("must be an http(s) URL with {number} where the case number goes, "
                             "e.g. https://support.example/cases/{number}")
        return url

    @field_validator("message_id_domain")
    @classmethod
    def _id_domain(cls, value: str | None) -> str | None:
        # The right side of our Message-IDs: a dot-atom (RFC 5322 3.6.4), checked at start
        # rather than refused by workflows.outbound.headers on every mail.
        if value is not None and mailheaders.msg_id(f"x@{value}") is None:
            raise ValueError(f"{value!r}: expected a domain like desk.example")
        return value

    @field_validator("follow_up_days")
    @classmethod
    def _increasing(cls, days: tuple[int, int, int]) -> tuple[int, int, int]:
        if not 0 < days[0] < days[1] < days[2]:
            raise ValueError("expected three increasing numbers, e.g. [2, 5, 10]")
        return days

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, proxies: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(p.strip() for p in proxies if p.strip())
        for text in cleaned:
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise ValueError(f"{text!r} is not an address or network") from None
        return cleaned

    @field_validator("desk_timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        try:
            return ZoneInfo(name.strip()).key
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r}: expected an IANA zone like Europe/Berlin or UTC"
                             ) from None

    @field_validator("trusted_authserv_ids")
    @classmethod
    def _lower(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(i.strip().lower() for i in ids if i.strip())


SECTIONS: dict[str, type[Section]] = {"smtp": SmtpSection, "notices": NoticesSection,
                                      "relay": RelaySection}
FILE_ONLY = ("mailbox", "imap", "sla")
