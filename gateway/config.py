"""Configuration loading: environment and an optional TOML file -> one ``Settings``.

Place in the flow: the first thing every entry point (CLI, ``serve``, workers) does; the
resulting frozen ``Settings`` is passed to everything else. The settings themselves, their
types, bounds and meanings are ``gateway.config_model`` (pydantic); their sources are
``gateway.config_sources``; this module reads the file, validates, explains what is wrong
(naming the setting and where its value came from) and builds ``workflows.settings.Settings``.

Precedence: environment variables over the TOML file over defaults. The TOML file is the one
named by ``--config``/``TICKETGATE_CONFIG``, else ``$TICKETGATE_HOME/config.toml`` when present.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gateway.config_model import SECTIONS, GatewayConfig
from gateway.config_sources import Key, Request, gathered
from workflows.clock.calendar import CalendarError, parse_duration
from workflows.clock.targets import DEFAULT_SLA_TARGETS, SlaTarget
from workflows.domain import MailboxPolicy, Severity
from workflows.outbound import headers as mailheaders
from workflows.settings import (
    ConfigError,
    ImapAccount,
    ImapTls,
    Mailbox,
    RelayCredentials,
    Settings,
    SmtpSettings,
)

DEFAULT_MAILBOX = Mailbox("care@localhost", MailboxPolicy.TRIAGE)
__all__ = ["ConfigError", "LoadedConfig", "load_config", "load_settings", "to_settings"]


@dataclass(frozen=True)
class LoadedConfig:
    """The validated model, where the file was, and the origin of each value given."""

    model: GatewayConfig
    path: str | None
    origins: dict[Key, str]

    def origin(self, key: Key) -> str:
        return self.origins.get(key, "default")


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
        display_name = _text(item, "display_name", 200, one_line=True)
        signature = _text(item, "signature", 2000, one_line=False)
        try:
            boxes.append(
                Mailbox(
                    address=item["address"].strip().lower(),
                    policy=MailboxPolicy(policy),
                    escalation=bool(item.get("escalation", False)),
                    auto_assign=bool(item.get("auto_assign", False)),
                    acknowledge=bool(item.get("acknowledge", False)),
                    notify_closed=bool(item.get("notify_closed", False)),
                    display_name=display_name,
                    signature=signature,
                )
            )
        except ValueError:
            choices = ", ".join(p.value for p in MailboxPolicy)
            raise ConfigError(
                f"mailbox {item['address']}: unknown policy {policy!r} (one of: {choices})"
            ) from None
    return tuple(boxes)


def _text(item: dict[str, Any], key: str, limit: int, *, one_line: bool) -> str:
    """A text key of a [[mailbox]] (``display_name``, ``signature``), checked here so a
    wrong type or a header-breaking value stops the start, not a send."""
    value = item.get(key, "")
    if not isinstance(value, str) or len(value) > limit or "\x00" in value or (
            one_line and ("\n" in value or "\r" in value)):
        shape = "one line" if one_line else "text"
        raise ConfigError(f"mailbox {item['address']}: `{key}` must be {shape} of at most "
                          f"{limit} characters")
    return value.strip()


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


def _read_file(config_path: str | os.PathLike[str] | None, env: Mapping[str, str]
               ) -> tuple[dict[str, Any], str | None]:
    home = Path(env.get("TICKETGATE_HOME") or "var").resolve()
    path = config_path or env.get("TICKETGATE_CONFIG")
    if path is None and (home / "config.toml").exists():
        path = home / "config.toml"
    if path is None:
        return {}, None
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8")), str(path)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from None


_MESSAGES = {
    "greater_than_equal": "must be at least {ge}", "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}", "less_than": "must be less than {lt}",
    "list_type": "must be a list", "tuple_type": "must be a list",
    "extra_forbidden": "is not a setting", "string_pattern_mismatch": "is not one of the values "
    "allowed", "int_parsing": "must be a whole number", "float_parsing": "must be a number",
    "bool_parsing": "must be true or false", "too_short": "has too few values",
    "too_long": "has too many values", "dict_type": "must be a table",
}


def _explain(error: Any, origins: dict[Key, str]) -> str:
    loc = tuple(str(part) for part in error["loc"])
    key: Key = loc[:2] if loc[0] in SECTIONS and len(loc) > 1 else loc[:1]
    name = f"[{key[0]}] {key[1]}" if len(key) == 2 else f"[gateway] {key[0]}"
    template = _MESSAGES.get(error["type"])
    if template is not None:
        message = template.format(**{k: v for k, v in (error.get("ctx") or {}).items()})
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    return f"{name} {message} ({origins.get(key, 'default')})"


def load_config(config_path: str | os.PathLike[str] | None = None,
                env: Mapping[str, str] | None = None) -> LoadedConfig:
    """The validated configuration, with where each value came from; ``ConfigError`` names
    every wrong setting and its source."""
    env = os.environ if env is None else env
    data, path = _read_file(config_path, env)
    request = Request(env=env, data=data, path=path)
    try:
        model = GatewayConfig.model_validate(gathered(request))
    except ValidationError as exc:
        raise ConfigError("; ".join(_explain(e, request.origins) for e in exc.errors())
                          ) from None
    return LoadedConfig(model, path, dict(request.origins))


def load_settings(
    config_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    return to_settings(load_config(config_path, env).model)


def _id_domain(value: str) -> str:
    """The mailbox's domain as the right side of our Message-IDs, when none is set: checked
    like a configured one (``GatewayConfig._id_domain``)."""
    if mailheaders.msg_id(f"x@{value}") is None:
        raise ConfigError(f"[gateway] message_id_domain {value!r} (from the first mailbox): "
                          "expected a domain like desk.example")
    return value


# Settings built here from more than one value, or renamed; every other field of ``Settings``
# that the model has under the same name is copied as it is.
_BUILT = {"home", "database_url", "mailboxes", "from_address", "message_id_domain", "smtp",
          "imap", "sla_targets", "relay", "instance_id"}


def to_settings(model: GatewayConfig) -> Settings:
    """The domain's ``Settings`` from the validated model (the tables checked here)."""
    home = Path(model.home).resolve()
    mailboxes = _mailboxes(model.mailbox)
    smtp = model.smtp.model_dump()
    smtp["auth_users"] = tuple((user, secret.get_secret_value())
                               for user, secret in model.smtp.auth_users.items())
    # [notices] keys are notice_<key> in Settings, but for the two that name no notice field.
    notices = {(k if k in ("rca_reminder_address", "automated_per_hour") else f"notice_{k}"): v
               for k, v in model.notices.model_dump().items()}
    same = {f.name: getattr(model, f.name) for f in dataclasses.fields(Settings)
            if f.name in GatewayConfig.model_fields and f.name not in _BUILT}
    relay = model.relay
    id_domain = _id_domain(model.message_id_domain
                           or mailboxes[0].address.rpartition("@")[2] or "localhost")
    return Settings(
        home=home,
        database_url=model.database_url or f"sqlite:///{home / 'ticketgate.db'}",
        mailboxes=mailboxes,
        from_address=model.from_address or mailboxes[0].address,
        message_id_domain=id_domain,
        # One value per desk unless set: a shared default made every other ticketgate desk's
        # mail, its analysts' replies included, look like our own mail come back (a loop).
        instance_id=model.instance_id or f"ticketgate.{id_domain}",
        smtp=SmtpSettings(**smtp),
        imap=_imap(model.imap, mailboxes),
        sla_targets=_sla_targets(model.sla),
        relay=RelayCredentials(
            user=relay.user,
            password=relay.password.get_secret_value() if relay.password else None,
            oauth2_token_command=relay.oauth2_token_command, ca_file=relay.ca_file),
        **same,
        **notices,
    )
