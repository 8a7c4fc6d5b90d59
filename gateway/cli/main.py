"""Argument parsing and dispatch for ``ticketgate``.

Exit codes: 0 done; 1 refused or not found (the domain said no); 2 wrong arguments or
configuration; 3 the database (or the data directory) is not available.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from gateway.cli import groups
from gateway.cli.lazy import Lazy
from gateway.cli.output import fail
from gateway.http.reasons import REASON_TEXT
from gateway.logs import LogFormat, configure_logging

# The handlers' modules, imported by the command that runs (gateway.cli.lazy), not here.
COMMANDS, LIFECYCLE, INGEST = "gateway.cli.commands", "gateway.cli.lifecycle", "gateway.cli.ingest"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage dump
        # fail() already says "ticketgate: error:"; a subcommand's parser adds which one.
        where = "" if self.prog == "ticketgate" else f"{self.prog}: "
        fail(f"{where}{message} (see --help)")
        raise SystemExit(2)


def _lower(value: str) -> str:
    return value.strip().lower()


class _Skipped(_Parser):
    """The parser of a command that is not running, not built (``build_parser(only=...)``):
    every call that would build it does nothing and returns this one object, so the builder's
    chains (``add_parser(...).add_subparsers(...)``, groups, arguments) run unchanged."""

    def __init__(self) -> None:  # no ArgumentParser.__init__: that is the cost skipped
        pass

    def add_argument(self, *args: Any, **kwargs: Any) -> Any:
        return None

    def add_mutually_exclusive_group(self, **kwargs: Any) -> Any:
        return self

    def add_subparsers(self, **kwargs: Any) -> Any:
        return self

    def add_parser(self, *args: Any, **kwargs: Any) -> _Parser:
        return self

    def set_defaults(self, **kwargs: Any) -> None:
        pass


_SKIPPED = _Skipped()


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """The top-level subcommands. With ``only`` set, only that command's parser is built."""

    only: str | None = None

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if self.only is not None and name != self.only:
            return _SKIPPED
        return super().add_parser(name, **kwargs)


def command_named(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs, read as argparse reads it, or None when that is not certain
    (no command, --help, an abbreviated or unknown option before it): then every command's
    parser is built, for the full help and the "invalid choice" message."""
    values = ("--config", "--log-format")  # the top-level options that take a value
    at = 0
    while at < len(argv):
        arg = argv[at]
        if arg in values:
            at += 2
        elif arg in ("-v", "--verbose") or arg.startswith(tuple(f"{v}=" for v in values)):
            at += 1
        elif arg.startswith("-"):
            return None
        else:
            return arg
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with ``only``, one whose sole command is ``only`` (built as in
    the full parser, so it parses that command's arguments and says their errors the same), or
    the full parser when ``only`` is no command. Building all 85 parsers cost every command
    79 M instructions (argparse's gettext look-ups stat locale files for each of them): 0.26 M a
    mail of ``bench/instructions.py``'s 300-mail ``ingest`` (issue 15)."""
    p = _Parser(prog="ticketgate", description=__doc__)
    p.add_argument("--config", help="TOML configuration file")
    p.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    p.add_argument("--log-format", type=_lower, choices=[f.value for f in LogFormat],
                   default=os.environ.get("TICKETGATE_LOG_FORMAT", "auto"),
                   help="log lines as JSON or text (auto, the default: text on a terminal, "
                   "else JSON; also TICKETGATE_LOG_FORMAT)")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser,
                           action=_Commands)
    if isinstance(sub, _Commands):
        sub.only = only

    sub.add_parser("init", help="create the data directory, secret and schema").set_defaults(
        run=Lazy(COMMANDS, "init"))

    org = sub.add_parser("org", help="organizations").add_subparsers(dest="sub", required=True)
    a = org.add_parser("add", help="add an organization")
    a.add_argument("name")
    a.add_argument("--domain", action="append", default=[], required=True)
    a.add_argument("--tz", required=True, help="IANA time zone, e.g. Europe/Paris")
    a.add_argument("--country")
    a.add_argument("--notify", default="", help="distribution list: a@x,b@x")
    a.add_argument("--hours", help="business hours, local time (default 08:00-18:00)")
    a.add_argument("--workdays", help="business days (default mon-fri), e.g. sun-thu")
    a.add_argument("--closed", action="append", default=[], metavar="YYYY-MM-DD",
                   help="a closed day beyond the country's public holidays (repeat)")
    a.set_defaults(run=Lazy(LIFECYCLE, "org_add"))
    org.add_parser("list").set_defaults(run=Lazy(COMMANDS, "org_list"))
    a = org.add_parser("show", help="an organization's settings")
    a.add_argument("name")
    a.set_defaults(run=Lazy(LIFECYCLE, "org_show"))
    # The same option names and formats as org add; sets change by --add-X / --remove-X.
    a = org.add_parser("set", help="change an organization (pending timers follow a new "
                       "calendar)")
    a.add_argument("name")
    a.add_argument("--rename", metavar="NEW_NAME")
    a.add_argument("--tz", help="IANA time zone, e.g. Europe/Paris")
    a.add_argument("--country", help="public holidays of this country ('' for none)")
    a.add_argument("--hours", help="business hours, local time, e.g. 08:00-18:00")
    a.add_argument("--workdays", help="business days, e.g. mon-fri or sun-thu")
    a.add_argument("--add-closed", action="append", default=[], metavar="YYYY-MM-DD",
                   help="a closed day beyond the public holidays (repeat)")
    a.add_argument("--remove-closed", action="append", default=[], metavar="YYYY-MM-DD")
    a.add_argument("--add-domain", action="append", default=[], metavar="D")
    a.add_argument("--remove-domain", action="append", default=[], metavar="D")
    a.add_argument("--notify", help="replace the distribution list: a@x,b@x ('' for none)")
    a.add_argument("--add-notify", action="append", default=[], metavar="ADDRESS")
    a.add_argument("--remove-notify", action="append", default=[], metavar="ADDRESS")
    a.add_argument("--as", dest="actor", default=None, help="who acts (audit)")
    a.set_defaults(run=Lazy(LIFECYCLE, "org_set"))

    contact = sub.add_parser("contact", help="contacts").add_subparsers(dest="sub",
                                                                          required=True)
    a = contact.add_parser("add", help="add a contact to an organization")
    a.add_argument("org")
    a.add_argument("email")
    a.add_argument("--name", default="")
    g = a.add_mutually_exclusive_group()
    g.add_argument("--designated", dest="designated", action="store_true", default=True)
    g.add_argument("--not-designated", dest="designated", action="store_false")
    a.set_defaults(run=Lazy(COMMANDS, "contact_add"))
    groups.register_contact(contact)  # list, set, remove

    case = sub.add_parser("case", help="cases").add_subparsers(dest="sub", required=True)
    a = case.add_parser("open", help="open a case")
    a.add_argument("--org", required=True)
    a.add_argument("--contact", required=True)
    a.add_argument("--subject", required=True)
    a.add_argument("--family", type=_lower, default="case", choices=["case", "tsup", "pc"])
    a.add_argument("--severity", type=_lower, default="medium",
                   choices=["incident", "critical", "high", "medium", "low"])
    a.add_argument("--type", type=_lower, default="support")
    a.add_argument("--as", dest="actor", default=None, help="who acts (audit)")
    a.set_defaults(run=Lazy(COMMANDS, "case_open"))
    a = case.add_parser("post", help="send an analyst's update to the case contact")
    a.add_argument("number")
    a.add_argument("--body", required=True)
    a.add_argument("--attach", action="append", default=[], metavar="FILE",
                   help="send this file with the update (repeat)")
    g = a.add_mutually_exclusive_group()
    g.add_argument("--request-info", dest="action", action="store_const", const="request_info")
    g.add_argument("--propose-solution", dest="action", action="store_const",
                   const="propose_solution")
    a.add_argument("--cc", action="append", default=[], metavar="ADDRESS",
                   help="copy this address on the thread, this post and later ones (repeat)")
    a.add_argument("--as", dest="actor", default=None, help="who acts (audit; the update's author)")
    a.set_defaults(run=Lazy(COMMANDS, "case_post"), action=None)
    a = case.add_parser("close", help="close a case (resolved, or --cancelled)")
    a.add_argument("number")
    a.add_argument("--cancelled", action="store_true")
    a.add_argument("--as", dest="actor", default=None, help="who acts (audit)")
    a.set_defaults(run=Lazy(COMMANDS, "case_close"))
    a = case.add_parser("reopen", help="reopen a case closed 30 days ago or less")
    a.add_argument("number")
    a.add_argument("--as", dest="actor", default=None, help="who acts (audit)")
    a.set_defaults(run=Lazy(COMMANDS, "case_reopen"))
    a = case.add_parser("resend", help="send a failed case mail again (its Message-ID, as "
                        "`ticketgate health` lists it)")
    a.add_argument("message_id")
    a.set_defaults(run=Lazy("gateway.cli.health", "case_resend"))
    a = case.add_parser("show", help="a case with its updates and outbound mail")
    a.add_argument("number")
    a.set_defaults(run=Lazy(COMMANDS, "case_show"))
    a = case.add_parser("escalate", help="open the linked case of another family and tell "
                        "the contact its number")
    a.add_argument("number")
    a.add_argument("--to", type=_lower, required=True, choices=["tsup", "pc"],
                   help="TSUP (Technical Support) or PC (Project Coordination)")
    a.add_argument("--as", dest="actor", default=None, help="who acts (audit)")
    a.set_defaults(run=Lazy(LIFECYCLE, "case_escalate"))
    groups.register_case(case)  # assign, list, note, search, set

    timers = sub.add_parser("timers", help="the clock: follow-ups, SLA, escalations, purge, "
                            "notices, mail retries").add_subparsers(dest="sub", required=True)
    a = timers.add_parser("run", help="run the clock's pass (every job) and print, per job, "
                          "what it did")
    a.add_argument("--at", help="as of this ISO time (default now; no offset: the desk's zone, "
                   "desk_timezone)")
    a.add_argument("--dry-run", action="store_true",
                   help="change nothing: list what is due, per job")
    a.set_defaults(run=Lazy(LIFECYCLE, "timers_run"))

    sla = sub.add_parser("sla", help="service level targets").add_subparsers(dest="sub",
                                                                             required=True)
    a = sla.add_parser("report", help="share of cases resolved within target")
    a.add_argument("--org")
    a.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD",
                   help="cases closed on or after this day (UTC)")
    a.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD",
                   help="cases closed on or before this day (UTC)")
    a.set_defaults(run=Lazy(LIFECYCLE, "sla_report_cmd"))

    a = sub.add_parser("ingest", help="feed messages through intake (files, folders, -)")
    a.add_argument("paths", nargs="+", metavar="PATH")
    a.add_argument("--mailbox", type=_lower, help="mailbox the mail was sent to")
    a.set_defaults(run=Lazy(INGEST, "ingest"))
    a = sub.add_parser("parse", help="what the parser sees in messages (no database)")
    a.add_argument("paths", nargs="+", metavar="PATH")
    a.add_argument("--json", action="store_true",
                   help="one JSON object per message (the default; kept for scripts)")
    a.set_defaults(run=Lazy(INGEST, "parse_files"))

    triage = sub.add_parser("triage", help="mail waiting for an admin").add_subparsers(
        dest="sub", required=True)
    a = triage.add_parser("list")
    # The triage reasons only: a typo ("new-mail") is a usage error, not an empty queue.
    a.add_argument("--reason", type=_lower, choices=sorted(REASON_TEXT))
    a.add_argument("--all", action="store_true", help="resolved items too")
    a.set_defaults(run=Lazy(COMMANDS, "triage_list"))
    for name, helptext in (("show", "one item with its trace and mail"),
                           ("discard", "discard as noise"),
                           ("open", "open a new case for the sender")):
        a = triage.add_parser(name, help=helptext)
        a.add_argument("id", type=int)
        a.add_argument("--as", dest="actor", default=None, help="who acts (audit)")
        a.set_defaults(run=Lazy(COMMANDS, f"triage_{name}"))
    a = triage.add_parser("link", help="add the mail to a case")
    a.add_argument("id", type=int)
    a.add_argument("case")
    a.add_argument("--keep-status", action="store_true", help="do not flip the status")
    a.add_argument("--as", dest="actor", default=None)
    a.set_defaults(run=Lazy(COMMANDS, "triage_link"))
    a = triage.add_parser("reopen", help="reopen the suggested (or named) closed case")
    a.add_argument("id", type=int)
    a.add_argument("case", nargs="?")
    a.add_argument("--as", dest="actor", default=None)
    a.set_defaults(run=Lazy(COMMANDS, "triage_reopen"))

    failed = sub.add_parser("failed", help="messages whose processing failed").add_subparsers(
        dest="sub", required=True)
    failed.add_parser("list").set_defaults(run=Lazy(COMMANDS, "failed_list"))
    a = failed.add_parser("retry")
    g = a.add_mutually_exclusive_group(required=True)
    g.add_argument("id", nargs="?", type=int)
    g.add_argument("--all", action="store_true")
    a.set_defaults(run=Lazy(COMMANDS, "failed_retry"))

    a = sub.add_parser("serve", help="run the gateway: SMTP/LMTP listener, IMAP pollers, "
                       "workers and scheduler (embedded), or only the listener (--role)")
    # The defaults named, not shown: the effective values come from the configuration (file and
    # environment), and loading it would cost every command's parser pydantic's import (and a
    # bad file would break --help). `ticketgate config show` prints them.
    a.add_argument("--smtp", metavar="HOST:PORT", help="listen here instead of the [smtp] host "
                   "and port settings (TICKETGATE_SMTP_HOST, TICKETGATE_SMTP_PORT; "
                   "127.0.0.1:2525 unless set)")
    a.add_argument("--http", metavar="HOST:PORT", help="console/API address instead of the "
                   "http_host and http_port settings (TICKETGATE_HTTP_HOST, TICKETGATE_HTTP_PORT; "
                   "127.0.0.1:8080 unless set)")
    a.add_argument("--role", type=_lower, default="all",
                   choices=["all", "listener", "worker"],
                   help="all (embedded default: listener + a supervised worker process), "
                   "listener (Celery workers process) or worker (processing + scheduler only)")
    a.set_defaults(run=Lazy("gateway.cli.serve", "serve"))
    a = sub.add_parser("worker", help="run a Celery worker (needs TICKETGATE_BROKER_URL)")
    a.add_argument("celery_args", nargs=argparse.REMAINDER)
    a.set_defaults(run=Lazy("gateway.cli.workers", "worker"))
    a = sub.add_parser("beat", help="run Celery beat: the sweeper and the clock's pass")
    a.add_argument("celery_args", nargs=argparse.REMAINDER)
    a.set_defaults(run=Lazy("gateway.cli.workers", "beat"))

    groups.register(sub)  # notice, user, token, config, search, reply

    a = sub.add_parser("process-pending", help="process committed but unprocessed messages")
    a.set_defaults(run=Lazy(COMMANDS, "process_pending"))
    sub.add_parser("health", help="outbound mail: case mail and notice deliveries by status, "
                   "next retry, case mail deferred, failed or held").set_defaults(
        run=Lazy("gateway.cli.health", "health"))
    if only is not None and only not in sub.choices:
        return build_parser()
    return p


PASSTHROUGH = ("worker", "beat")  # everything after these goes to Celery untouched
SERVICES = ("serve", "worker", "beat", "timers")  # log at INFO by default

# The failures a command ends with, as exit codes; checked in this order, by the module that
# defines each class (its ``__module__``). Importing them up front pulled pydantic and
# SQLAlchemy into every start-up; looking them up in sys.modules when a command fails needs
# no import: an exception can only be an instance of a class whose module has been imported,
# so a class whose module is not loaded has nothing to match.
EXIT_CODES: tuple[tuple[str, str, int], ...] = (
    ("workflows.settings", "ConfigError", 2),  # as gateway.config exports it
    ("workflows.outbound.headers", "BadAddress", 2),  # as workflows.outbound.compose does
    ("workflows.errors", "DomainError", 1),
    ("workflows.storage.db", "DatabaseUnavailable", 3),
    ("workflows.secret", "SecretMissing", 3),
)


def exit_code(exc: Exception) -> int | None:
    """The exit code ``main`` gives ``exc`` (said in one line), or None: not ours, raise it."""
    for module, name, code in EXIT_CODES:
        loaded = sys.modules.get(module)
        if loaded is not None and isinstance(exc, getattr(loaded, name)):
            return code
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=command_named(argv))
    command = next((a for a in argv if not a.startswith("-")), None)
    if command in PASSTHROUGH:
        # argparse would take Celery's own options (--pool=solo) for ours.
        args, extra = parser.parse_known_args(argv)
        args.celery_args = [*extra, *args.celery_args]
    else:
        args = parser.parse_args(argv)
    if args.log_format not in {f.value for f in LogFormat}:
        # Only the environment's default gets here (argparse checks the option's choices, not
        # its default): a wrong setting is exit 2 and one line, not a ValueError traceback.
        fail(f"log format must be auto, json or text, not {args.log_format!r} "
             "(environment TICKETGATE_LOG_FORMAT)")
        return 2
    # The long-running commands log each mail, decision, send and clock job at INFO; the
    # one-shot ones print their result and log only what went wrong.
    quiet = logging.INFO if args.command in SERVICES else logging.WARNING
    configure_logging(logging.DEBUG if args.verbose else quiet, args.log_format)
    run: Lazy = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `ticketgate ... | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        code = exit_code(exc)
        if code is None:
            raise
        fail(str(exc))
        return code
    finally:
        # Runtimes are opened by gateway.cli.commands._runtime: none if it was not imported.
        commands = sys.modules.get("gateway.cli.commands")
        if commands is not None:
            commands.close_runtimes()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
