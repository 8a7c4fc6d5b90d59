"""The arguments of the command groups whose handlers live in their own modules: ``notice``,
``user``, ``token``, ``config``, ``search``, ``reply``, and the ``contact`` and ``case``
subcommands beyond ``gateway.cli.main``'s.

Place in the flow: ``gateway.cli.main.build_parser`` calls ``register``, ``register_contact``
and ``register_case``. Each subcommand names its handler lazily (``gateway.cli.lazy.Lazy``), so
building the parser imports no handler module; this module imports only what the options'
choices need (``workflows.domain``, ``workflows.cases.placeholders``,
``workflows.notices.model``: no database, no parser).
"""

from __future__ import annotations

import argparse

from gateway.cli.lazy import Lazy
from workflows.cases.placeholders import PLACEHOLDERS
from workflows.domain import CaseStatus, Role, Severity
from workflows.notices.model import Cadence, NoticeKind, Window

NOTICES, USERS, CONFIG = "gateway.cli.notices", "gateway.cli.users", "gateway.cli.config_cmd"
DESK, REPLIES, CONTACTS = "gateway.cli.desk", "gateway.cli.saved_replies", "gateway.cli.contacts"
CASE_FIELDS = "gateway.cli.case_fields"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The top-level command groups, in the order ``--help`` lists them."""
    _notice(sub)
    _users(sub)
    _config(sub)
    _search(sub)
    _reply(sub)


def register_contact(contact: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``ticketgate contact list|set|remove`` (``contact add`` is in gateway.cli.main;
    handlers: ``gateway.cli.contacts``)."""
    a = contact.add_parser("list", help="an organization's contacts (warns below two "
                           "designated contacts)")
    a.add_argument("org")
    a.add_argument("--removed", action="store_true", help="include removed contacts")
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    a.set_defaults(run=Lazy(CONTACTS, "contact_list"))
    a = contact.add_parser("set", help="add a contact or change it (designation, name, "
                           "organization); brings a removed one back with --org")
    a.add_argument("email")
    g = a.add_mutually_exclusive_group()
    g.add_argument("--designated", dest="designated", action="store_true", default=None)
    g.add_argument("--no-designated", dest="designated", action="store_false")
    a.add_argument("--name", default=None)
    a.add_argument("--org", default=None, help="the contact's organization (needed for a "
                   "new address)")
    a.add_argument("--as", dest="actor", default=None, help="who acts (audit)")
    a.set_defaults(run=Lazy(CONTACTS, "contact_set"))
    a = contact.add_parser("remove", help="remove a contact (history kept; its mail then "
                           "counts as a stranger's)")
    a.add_argument("email")
    a.add_argument("--as", dest="actor", default=None, help="who acts (audit)")
    a.set_defaults(run=Lazy(CONTACTS, "contact_remove"))


def register_case(case: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The desk's subcommands of ``ticketgate case`` (handlers: ``gateway.cli.desk``) and
    ``case set`` (``gateway.cli.case_fields``)."""
    a = case.add_parser("assign", help="give a case to a user (admin or analyst), or to nobody")
    a.add_argument("number")
    g = a.add_mutually_exclusive_group(required=True)
    g.add_argument("--to", metavar="EMAIL")
    g.add_argument("--none", action="store_true", help="unassign")
    a.add_argument("--as", dest="actor", default=None, help="who acts (audit)")
    a.set_defaults(run=Lazy(DESK, "case_assign"))
    a = case.add_parser("list", help="cases, newest activity first (* : unread customer reply)")
    g = a.add_mutually_exclusive_group()
    g.add_argument("--assignee", metavar="EMAIL")
    g.add_argument("--unassigned", action="store_true")
    a.add_argument("--status", type=str.lower, choices=[c.value for c in CaseStatus])
    a.add_argument("--org", metavar="NAME")
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    a.set_defaults(run=Lazy(DESK, "case_list"))
    a = case.add_parser("note", help="add an internal note (staff only, never mailed)")
    a.add_argument("number")
    a.add_argument("--body", required=True)
    a.add_argument("--attach", action="append", default=[], metavar="FILE",
                   help="keep this file on the note (repeat)")
    a.add_argument("--as", dest="actor", default=None, help="who writes (audit)")
    a.set_defaults(run=Lazy(DESK, "case_note"))
    a = case.add_parser("search", help="full-text search: numbers, subjects, mail bodies, "
                        "senders, organizations")
    a.add_argument("query")
    a.add_argument("--page", type=int, default=1)
    a.add_argument("--per-page", type=int, default=25)
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    a.set_defaults(run=Lazy(DESK, "case_search"))
    a = case.add_parser("set", help="change a case's severity (SLA deadlines follow), type or "
                        "subject; audited")
    a.add_argument("number")
    a.add_argument("--severity", type=str.lower, choices=[s.value for s in Severity])
    a.add_argument("--type", default=None)
    a.add_argument("--subject", default=None)
    a.add_argument("--as", dest="actor", default=None, help="who acts (audit)")
    a.set_defaults(run=Lazy(CASE_FIELDS, "case_set"))


def _forceable(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="go past the rules (needs --why)")
    p.add_argument("--why", help="the justification recorded with --force")


def _ref(sub: argparse._SubParsersAction, name: str, helptext: str,  # type: ignore[type-arg]
         handler: str) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(name, help=helptext)
    p.add_argument("ref", metavar="REF", help="the notice reference, e.g. MNT-2026-0042")
    p.set_defaults(run=Lazy(NOTICES, handler))
    return p


def _notice(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``ticketgate notice …`` (handlers: ``gateway.cli.notices``)."""
    notice = sub.add_parser("notice", help="maintenance, incident and advisory notices"
                            ).add_subparsers(dest="sub", required=True)
    p = notice.add_parser("create", help="create a notice (a draft: `notice send` sends it)")
    p.add_argument("kind", type=str.lower, choices=[k.value for k in NoticeKind])
    p.add_argument("--title", required=True)
    p.add_argument("--impact", required=True, help="possible service impact")
    p.add_argument("--start", help="ISO time (maintenance: required; incident: when it began); "
                   "no offset: the desk's zone, desk_timezone")
    p.add_argument("--end", help="ISO time (no offset: desk_timezone)")
    p.add_argument("--link", help="more information (advisories: required)")
    p.add_argument("--details", default="", help="description, restoration activities")
    p.add_argument("--recommendation", default="", help="what recipients should do")
    p.add_argument("--window", type=str.lower, choices=[w.value for w in Window],
                   help="planned maintenance window (default weekly)")
    p.add_argument("--org", action="append", default=[], help="an organization (repeat); "
                   "default: all, or those using --component")
    p.add_argument("--component", action="append", default=[],
                   help="an affected service/component (repeat): its users are the audience")
    p.add_argument("--agents", action="append", default=[], metavar="ORG=N",
                   help="incident: agents affected in ORG (availability)")
    _forceable(p)
    p.set_defaults(run=Lazy(NOTICES, "create"))
    p = _ref(notice, "preview", "render exactly what an organization gets", "preview")
    p.add_argument("--org", help="one organization (default: each of the audience)")
    p = _ref(notice, "send", "send a draft to its audience now", "send")
    p.add_argument("--resend-uncertain", action="store_true",
                   help="resend deliveries left 'uncertain' (maybe sent) by a crash")
    _forceable(p)
    p = _ref(notice, "update", "incident status for the next follow-up; reschedule", "update")
    p.add_argument("--status", help="incident: the latest status text")
    p.add_argument("--start", help="maintenance: new start (with --end)")
    p.add_argument("--end", help="maintenance: new end")
    p.add_argument("--agents", action="append", default=[], metavar="ORG=N")
    _forceable(p)
    p = _ref(notice, "all-clear", "incident restored: send the restoration notice", "all_clear")
    p.add_argument("--text", required=True, help="how to return to normal operation")
    _ref(notice, "cancel", "cancel a notice (a sent one: tell its audience)", "cancel")
    notice.add_parser("list", help="every notice").set_defaults(run=Lazy(NOTICES, "list_notices"))
    _ref(notice, "show", "a notice with its deliveries and inquiries", "show")
    p = _ref(notice, "rca", "the RCA of a resolved incident is out: send its link", "rca")
    p.add_argument("--link", required=True)
    p = notice.add_parser("availability", help="monthly availability per organization")
    p.add_argument("--month", help="YYYY-MM (default: this month)")
    p.add_argument("--org", action="append", default=[])
    p.set_defaults(run=Lazy(NOTICES, "availability"))
    p = notice.add_parser("profile", help="an organization's agents and components")
    p.add_argument("org")
    p.add_argument("--agents", type=int)
    p.add_argument("--component", action="append", default=[])
    p.set_defaults(run=Lazy(NOTICES, "profile"))
    blackout = notice.add_parser("blackout", help="agreed blackout periods").add_subparsers(
        dest="blackout", required=True)
    p = blackout.add_parser("add", help="agree a blackout (30-90 days ahead)")
    p.add_argument("--org", help="the organization (default: all)")
    p.add_argument("--start", required=True)
    p.add_argument("--end", required=True)
    p.add_argument("--reason", default="")
    _forceable(p)
    p.set_defaults(run=Lazy(NOTICES, "blackout_add"))
    blackout.add_parser("list").set_defaults(run=Lazy(NOTICES, "blackout_list"))
    report = notice.add_parser("report", help="scheduled case reports").add_subparsers(
        dest="report", required=True)
    p = report.add_parser("add", help="mail ORG's open/closed cases on a schedule")
    p.add_argument("org")
    p.add_argument("--every", required=True, type=str.lower, choices=[c.value for c in Cadence])
    p.add_argument("--to", action="append", default=[], help="recipient (default: the "
                   "organization's distribution list)")
    p.add_argument("--first", help="first due time (default: one period from now)")
    p.set_defaults(run=Lazy(NOTICES, "report_add"))
    report.add_parser("list").set_defaults(run=Lazy(NOTICES, "report_list"))


def _users(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``ticketgate user …`` and ``ticketgate token …`` (handlers: ``gateway.cli.users``)."""
    user = sub.add_parser("user", help="console users").add_subparsers(dest="sub",
                                                                        required=True)
    a = user.add_parser("add", help="add a console user (argon2-hashed password)")
    a.add_argument("email")
    a.add_argument("--role", required=True, type=str.lower, choices=[r.value for r in Role])
    g = a.add_mutually_exclusive_group()
    g.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input")
    g.add_argument("--no-password", action="store_true",
                   help="API tokens only: the user cannot sign in to the console")
    a.add_argument("--notify-by-mail", action="store_true",
                   help="mail the user when a customer replies to a case they own")
    a.set_defaults(run=Lazy(USERS, "user_add"))
    a = user.add_parser("set", help="a user's preferences")
    a.add_argument("email")
    g = a.add_mutually_exclusive_group(required=True)
    g.add_argument("--notify-by-mail", dest="notify_by_mail", action="store_true",
                   default=None, help="mail them when a customer replies to a case they own")
    g.add_argument("--no-notify-by-mail", dest="notify_by_mail", action="store_false")
    a.set_defaults(run=Lazy(USERS, "user_set"))
    a = user.add_parser("passwd", help="set a user's password; signs them out everywhere "
                        "(API tokens keep working)")
    a.add_argument("email")
    a.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input")
    a.set_defaults(run=Lazy(USERS, "user_passwd"))
    user.add_parser("list", help="every user: role, disabled, created, last sign-in"
                    ).set_defaults(run=Lazy(USERS, "user_list"))
    for name, disabled, helptext in (
            ("disable", True, "the user can no longer sign in; their sessions end and their "
                              "API tokens stop working"),
            ("enable", False, "undo disable (API tokens work again; sessions do not return)")):
        a = user.add_parser(name, help=helptext)
        a.add_argument("email")
        a.set_defaults(run=Lazy(USERS, "user_disable"), disabled=disabled)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="sub",
                                                                       required=True)
    a = token.add_parser("create", help="create an API token for a user (printed once)")
    a.add_argument("email")
    a.add_argument("--name", default="", help="what the token is for")
    a.set_defaults(run=Lazy(USERS, "token_create"))
    a = token.add_parser("list", help="tokens (never their values): id, user, name, last use")
    a.add_argument("email", nargs="?", help="only this user's tokens")
    a.set_defaults(run=Lazy(USERS, "token_list"))
    a = token.add_parser("revoke", help="revoke tokens for good, by id (see token list)")
    a.add_argument("ids", nargs="+", type=int, metavar="ID")
    a.set_defaults(run=Lazy(USERS, "token_revoke"))


def _config(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``ticketgate config …`` (handlers: ``gateway.cli.config_cmd``)."""
    config = sub.add_parser("config", help="the effective configuration").add_subparsers(
        dest="sub", required=True)
    a = config.add_parser("show", help="every setting's value (secrets masked) and where it "
                          "came from")
    a.add_argument("--json", action="store_true")
    a.set_defaults(run=Lazy(CONFIG, "show"))
    config.add_parser("reference", help="the settings table of README.md, generated from the "
                      "model").set_defaults(run=Lazy(CONFIG, "reference"))


def _search(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``ticketgate search …`` (handler: ``gateway.cli.desk``)."""
    search_cmd = sub.add_parser("search", help="the full-text index").add_subparsers(
        dest="sub", required=True)
    a = search_cmd.add_parser("reindex", help="rebuild the search index from every case and "
                              "update (it is kept current on every write; this repairs it)")
    a.set_defaults(run=Lazy(DESK, "search_reindex"))


def _reply(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``ticketgate reply …`` (handlers: ``gateway.cli.saved_replies``)."""
    reply = sub.add_parser("reply", help="saved replies (canned responses) with the case's "
                           "fields as {placeholders}").add_subparsers(dest="sub", required=True)
    reply.add_parser("list").set_defaults(run=Lazy(REPLIES, "reply_list"))
    a = reply.add_parser("set", help="save or replace a reply; placeholders: " + ", ".join(
        f"{{{p}}}" for p in PLACEHOLDERS))
    a.add_argument("name")
    a.add_argument("--body", required=True, help="the text ('-': read it from stdin)")
    a.add_argument("--as", dest="actor", default=None, help="who acts (audit)")
    a.set_defaults(run=Lazy(REPLIES, "reply_set"))
    a = reply.add_parser("remove")
    a.add_argument("name")
    a.add_argument("--as", dest="actor", default=None, help="who acts (audit)")
    a.set_defaults(run=Lazy(REPLIES, "reply_remove"))
    a = reply.add_parser("render", help="a reply filled in for a case")
    a.add_argument("name")
    a.add_argument("--case", required=True)
    a.set_defaults(run=Lazy(REPLIES, "reply_render"))
