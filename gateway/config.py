"""Configuration loading: environment and an optional TOML file -> one ``Settings``.

Place in the flow: the first thing every entry point (CLI, ``serve``, workers) does; the
resulting frozen ``Settings`` is passed to everything else.

Precedence: environment variables over the TOML file over defaults. The TOML file is the one
named by ``--config``/``TICKETGATE_CONFIG``, else ``$TICKETGATE_HOME/config.toml`` when present.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workflows import mailheaders
from workflows.calendar import CalendarError, parse_duration
from workflows.domain import MailboxPolicy, Severity
from workflows.settings import (
    ImapAccount,
    ImapTls,
    Mailbox,
    RelayCredentials,
    Settings,
    SmtpSettings,
)
from workflows.timers.targets import DEFAULT_SLA_TARGETS, SlaTarget

DEFAULT_MAILBOX = Mailbox("care@localhost", MailboxPolicy.TRIAGE)


class ConfigError(ValueError):
    """The configuration is wrong; the message says where."""


def _mailboxes(raw: Any) -> tuple[Mailbox, ...]:
    if raw is None:
        return (DEFAULT_MAILBOX,)
    if not isinstance(raw, list) or not raw:
        raise ConfigError("[[mailbox]] must be a non-empty list of tables")
    boxes = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("address"), str):
            raise ConfigError(f"mailbox #{i + 1}: `address` is required")
        policy = str(item.get("policy", "triage")).lower()
        try:
            boxes.append(
                Mailbox(
                    address=item["address"].strip().lower(),
                    policy=MailboxPolicy(policy),
                    escalation=bool(item.get("escalation", False)),
                )
            )
        except ValueError:
            choices = ", ".join(p.value for p in MailboxPolicy)
            raise ConfigError(
                f"mailbox {item['address']}: unknown policy {policy!r} (one of: {choices})"
            ) from None
    return tuple(boxes)


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    return value


def _smtp(raw: dict[str, Any], env: Mapping[str, str]) -> SmtpSettings:
    known = set(SmtpSettings.__slots__)  # type: ignore[attr-defined]
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"[smtp]: unknown keys {sorted(unknown)}")
    values = dict(raw)
    if env.get("TICKETGATE_SMTP"):
        host, _, port = env["TICKETGATE_SMTP"].rpartition(":")
        values["host"], values["port"] = host or "127.0.0.1", port
    for path_key in ("tls_cert", "tls_key"):
        if values.get(path_key):
            values[path_key] = Path(values[path_key])
    if "auth_users" in values:
        values["auth_users"] = tuple((str(u), str(p)) for u, p in values["auth_users"].items())
    try:
        for int_key in ("port", "size_limit", "max_sessions"):
            if int_key in values:
                values[int_key] = int(values[int_key])
        _listener_limits(values)
        return SmtpSettings(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[smtp]: {exc}") from None


# [smtp] listener limits: key -> (type, smallest allowed). RFC 5321 4.5.3.1.8: a server must
# take at least 100 recipients per transaction.
_LIMITS: dict[str, tuple[type, float]] = {
    "max_sessions_per_ip": (int, 1), "idle_timeout": (float, 1), "session_lifetime": (float, 1),
    "max_noops": (int, 1), "max_recipients": (int, 100),
}


def _listener_limits(values: dict[str, Any]) -> None:
    """Converts and checks the listener limits in ``values`` in place (ValueError: wrong)."""
    for key, (kind, least) in _LIMITS.items():
        if key in values:
            values[key] = kind(values[key])
            if values[key] < least:
                raise ValueError(f"{key} must be at least {least:g}")


def _trusted_proxies(gw: dict[str, Any], env: Mapping[str, str]) -> tuple[str, ...]:
    """``trusted_proxies`` (``TICKETGATE_TRUSTED_PROXIES``, comma-separated): the addresses or
    networks whose ``X-Forwarded-For`` the console believes. Each must parse as one."""
    raw: Any = gw.get("trusted_proxies", [])
    if env.get("TICKETGATE_TRUSTED_PROXIES"):
        raw = env["TICKETGATE_TRUSTED_PROXIES"].split(",")
    if isinstance(raw, str) or not isinstance(raw, list):
        raise ConfigError("[gateway] trusted_proxies must be a list of addresses or networks")
    proxies = []
    for item in raw:
        text = str(item).strip()
        if not text:
            continue
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ConfigError(f"[gateway] trusted_proxies: {text!r} is not an address or "
                              "network") from None
        proxies.append(text)
    return tuple(proxies)


def _retention(gw: dict[str, Any], env: Mapping[str, str]) -> dict[str, int]:
    """``triage_attachment_retention_days``: files of mail never linked to a case."""
    key = "triage_attachment_retention_days"
    raw = env.get(f"TICKETGATE_{key.upper()}") or gw.get(key)
    if raw is None:
        return {}
    try:
        days = int(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"[gateway] {key}: expected a number of days, not {raw!r}") from None
    if days < 1:
        raise ConfigError(f"[gateway] {key} must be at least 1")
    return {key: days}


def _imap(raw: Any, mailboxes: tuple[Mailbox, ...]) -> tuple[ImapAccount, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError("[[imap]] must be a list of tables")
    accounts = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ConfigError(f"imap #{i + 1} must be a table")
        values = {"name": item.get("user", f"imap{i + 1}"),
                  "mailbox": mailboxes[0].address, **item}
        if isinstance(values.get("ca_file"), str) and values["ca_file"].strip():
            values["ca_file"] = Path(values["ca_file"].strip())
        elif "ca_file" in values:
            raise ConfigError(f"imap #{i + 1}: `ca_file` must be the path of a PEM file")
        try:
            # ``tls``: "implicit", "starttls", "none", or the old boolean (ImapAccount resolves
            # it with the port; a wrong value is a ValueError naming the accepted ones).
            account = ImapAccount(**values)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"imap #{i + 1}: {exc}") from None
        if not (account.password or account.oauth2_token_command):
            raise ConfigError(f"imap {account.name}: `password` or `oauth2_token_command` "
                              "is required")
        if account.ca_file is not None and account.tls is ImapTls.NONE:
            # Most likely a mistake (a CA given, TLS switched off): refuse rather than send
            # the password in clear text while the operator believes it is protected.
            raise ConfigError(f"imap {account.name}: `ca_file` is set but `tls` is \"none\"")
        accounts.append(account)
    return tuple(accounts)


def _sla_targets(raw: Any) -> tuple[SlaTarget, ...]:
    """``[sla.high] response = "2bh", resolution = "2bd"``: overrides per severity."""
    if not isinstance(raw, dict):
        raise ConfigError("[sla] must be a table of severities")
    targets = {t.severity: t for t in DEFAULT_SLA_TARGETS}
    for name, item in raw.items():
        try:
            severity = Severity(str(name).lower())
        except ValueError:
            raise ConfigError(f"[sla.{name}]: unknown severity (one of: "
                              f"{', '.join(s.value for s in Severity)})") from None
        if not isinstance(item, dict) or set(item) - {"response", "resolution"}:
            raise ConfigError(f"[sla.{name}]: expected `response` and/or `resolution`")
        try:
            old = targets[severity]
            targets[severity] = SlaTarget(
                severity,
                parse_duration(item["response"]) if "response" in item else old.response,
                parse_duration(item["resolution"]) if "resolution" in item else old.resolution)
        except CalendarError as exc:
            raise ConfigError(f"[sla.{name}]: {exc}") from None
    return tuple(targets[s] for s in Severity)


def _lifecycle(gw: dict[str, Any], data: dict[str, Any], env: Mapping[str, str]
               ) -> dict[str, Any]:
    """Settings of the case lifecycle on the clock (auto follow-up, SLA, purge)."""
    values: dict[str, Any] = {"sla_targets": _sla_targets(data.get("sla", {}))}
    care_team = env.get("TICKETGATE_CARE_TEAM_ADDRESS") or gw.get("care_team_address")
    if care_team:
        values["care_team_address"] = str(care_team).strip()
    try:
        if "follow_up_days" in gw:
            days = tuple(int(d) for d in gw["follow_up_days"])
            if len(days) != 3 or not 0 < days[0] < days[1] < days[2]:
                raise ValueError("expected three increasing numbers, e.g. [2, 5, 10]")
            values["follow_up_days"] = days
        for key, kind in (("sla_warning_share", float), ("escalate_unanswered_hours", float),
                          ("purge_after_days", int), ("scheduler_interval", float)):
            raw = env.get(f"TICKETGATE_{key.upper()}") or gw.get(key)
            if raw is not None:
                values[key] = kind(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[gateway] lifecycle setting: {exc}") from None
    if not 0 <= values.get("sla_warning_share", 0.25) < 1:
        raise ConfigError("[gateway] sla_warning_share must be between 0 and 1")
    retry = env.get("TICKETGATE_MAIL_RETRY_MINUTES") or gw.get("mail_retry_minutes")
    if retry is not None:
        values["mail_retry_minutes"] = _retry_minutes(retry)
    return values


def _retry_minutes(raw: object) -> tuple[int, ...]:
    """``mail_retry_minutes``: a list (TOML) or "5,15,60" (environment) of positive minutes."""
    items = raw.split(",") if isinstance(raw, str) else raw
    try:
        minutes = tuple(int(m) for m in items)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        minutes = ()
    if not minutes or min(minutes) < 1:
        raise ConfigError(f"[gateway] mail_retry_minutes {raw!r}: expected positive minutes, "
                          "e.g. [5, 15, 60, 240]")
    return minutes


# [notices] keys -> Settings fields (workflows.notices); list values become tuples.
_NOTICE_KEYS = {
    "zone": "notice_zone", "holiday_country": "notice_holiday_country",
    "lead_days": "notice_lead_days", "quarterly_days": "notice_quarterly_days",
    "annual_days": "notice_annual_days", "window_days": "notice_window_days",
    "window_hours": "notice_window_hours", "follow_up_minutes": "notice_follow_up_minutes",
    "rca_business_days": "notice_rca_business_days", "retry_minutes": "notice_retry_minutes",
    "stale_minutes": "notice_stale_minutes", "batch_size": "notice_batch_size",
    "list_id": "notice_list_id", "rca_reminder_address": "rca_reminder_address",
    "automated_per_hour": "automated_per_hour",
}


def _notices(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """``[notices]`` (and ``TICKETGATE_AUTOMATED_PER_HOUR``): outbound notice settings."""
    unknown = set(raw) - set(_NOTICE_KEYS)
    if unknown:
        raise ConfigError(f"[notices]: unknown keys {sorted(unknown)}")
    defaults = Settings(home=Path("."), database_url="", mailboxes=())
    values: dict[str, Any] = {}
    items = dict(raw)
    if env.get("TICKETGATE_AUTOMATED_PER_HOUR"):
        items["automated_per_hour"] = env["TICKETGATE_AUTOMATED_PER_HOUR"]
    for key, value in items.items():
        field = _NOTICE_KEYS[key]
        default = getattr(defaults, field)
        try:
            if isinstance(default, tuple):
                value = tuple(int(v) for v in value)
                if len(default) == 2 and len(value) != 2:
                    raise ValueError("expected two numbers, e.g. [7, 14]")
            elif isinstance(default, int):
                value = int(value)
                if value < 1:
                    raise ValueError("must be at least 1")
            else:
                value = str(value).strip()
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"[notices] {key}: {exc}") from None
        values[field] = value
    return values


def _post_limits(gw: dict[str, Any], env: Mapping[str, str]) -> dict[str, int]:
    """``post_file_max_bytes`` / ``post_files_max_bytes``: files on an analyst's update."""
    values: dict[str, int] = {}
    for key in ("post_file_max_bytes", "post_files_max_bytes"):
        raw = env.get(f"TICKETGATE_{key.upper()}") or gw.get(key)
        if raw is None:
            continue
        try:
            values[key] = int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"[gateway] {key}: expected a number of bytes, not {raw!r}"
                              ) from None
        if values[key] < 1:
            raise ConfigError(f"[gateway] {key} must be at least 1")
    return values


def _relay(table: dict[str, Any], env: Mapping[str, str]) -> RelayCredentials:
    """[relay]: credentials for the outbound relay; each key also TICKETGATE_RELAY_<KEY>."""
    values: dict[str, Any] = {}
    for key in ("user", "password", "oauth2_token_command", "ca_file"):
        value = env.get(f"TICKETGATE_RELAY_{key.upper()}") or table.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"[relay] {key} must be a string")
        values[key] = value or None
    if values["ca_file"] is not None:
        values["ca_file"] = Path(values["ca_file"])
    return RelayCredentials(**values)


def load_settings(
    config_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    env = os.environ if env is None else env
    home = Path(env.get("TICKETGATE_HOME", "var")).resolve()
    path = config_path or env.get("TICKETGATE_CONFIG")
    if path is None and (home / "config.toml").exists():
        path = home / "config.toml"
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
    gw = data.get("gateway", {})
    if not isinstance(gw, dict):
        raise ConfigError("[gateway] must be a table")
    mailboxes = _mailboxes(data.get("mailbox"))

    def pick(env_name: str, key: str, default: Any) -> Any:
        return env.get(env_name) or gw.get(key) or default

    database_url = pick(
        "TICKETGATE_DATABASE_URL", "database_url", f"sqlite:///{home / 'ticketgate.db'}"
    )
    trusted = gw.get("trusted_authserv_ids", [])
    if env.get("TICKETGATE_TRUSTED_AUTHSERV_IDS"):
        trusted = env["TICKETGATE_TRUSTED_AUTHSERV_IDS"].split(",")
    return Settings(
        home=home,
        database_url=database_url,
        mailboxes=mailboxes,
        transport=pick("TICKETGATE_TRANSPORT", "transport", "file"),
        from_address=pick("TICKETGATE_FROM", "from_address", mailboxes[0].address),
        message_id_domain=_id_domain(pick("TICKETGATE_MESSAGE_ID_DOMAIN", "message_id_domain",
                               mailboxes[0].address.rpartition("@")[2] or "localhost")),
        instance_id=pick("TICKETGATE_INSTANCE_ID", "instance_id", "ticketgate"),
        escalation_address=pick("TICKETGATE_ESCALATION_ADDRESS", "escalation_address", None),
        trusted_authserv_ids=tuple(t.strip().lower() for t in trusted if t.strip()),
        public_url=pick("TICKETGATE_PUBLIC_URL", "public_url", "http://127.0.0.1:8080"),
        reopen_days=int(pick("TICKETGATE_REOPEN_DAYS", "reopen_days", 30)),
        sqlite_synchronous=pick("TICKETGATE_SQLITE_SYNCHRONOUS", "sqlite_synchronous", "FULL"),
        smtp=_smtp(_table(data, "smtp"), env),
        imap=_imap(data.get("imap"), mailboxes),
        broker_url=pick("TICKETGATE_BROKER_URL", "broker_url", None),
        http_host=gw.get("http_host", "127.0.0.1"),
        http_port=int(gw.get("http_port", 8080)),
        **_lifecycle(gw, data, env),
        **_notices(_table(data, "notices"), env),
        **_post_limits(gw, env),
        **_desk_timezone(gw, env),
        relay=_relay(_table(data, "relay"), env),
        **_retention(gw, env),
        trusted_proxies=_trusted_proxies(gw, env),
    )


def _desk_timezone(gw: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """``desk_timezone`` (``TICKETGATE_DESK_TIMEZONE``): the zone of a time given without an
    offset, on every surface; an IANA name, checked here so a typo stops the start."""
    raw = env.get("TICKETGATE_DESK_TIMEZONE") or gw.get("desk_timezone")
    if raw is None:
        return {}
    try:
        zone = ZoneInfo(str(raw).strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"[gateway] desk_timezone {raw!r}: expected an IANA zone like "
                          "Europe/Berlin or UTC") from None
    return {"desk_timezone": zone.key}


def _id_domain(value: str) -> str:
    """The right side of our Message-IDs: a dot-atom (RFC 5322 3.6.4), checked at start rather
    than refused by ``workflows.mailheaders`` on every mail."""
    if mailheaders.msg_id(f"x@{value}") is None:
        raise ConfigError(f"message_id_domain {value!r}: expected a domain like desk.example")
    return value
