"""One sample of every kind of mail that leaves ticketgate, as the customer's client gets it.

Shared by ``tests/workflows/test_mail_html.py`` (an HTML parser reads the text/html part) and
``tests/http/test_mail_browser.py`` (Chromium opens it). Each sample is built through the code
that builds the real MIME message: ``outbound.render_message`` for case mail (what
``queue_mail`` stores in the outbox), ``render_notice`` + ``mime.compose_part`` +
``for_recipient`` for notices (what a delivery sends), ``reports.render_report`` for case
reports. Every free text carries ``&``, ``>``, quotes and line breaks, so a text escaped twice
(``&amp;amp;``) or a break turned into visible ``<br>`` shows.

``KIND_NAMES`` lists every kind; ``test_every_template_has_a_sample`` fails when a template is
added under ``templates/mail`` or ``templates/notices`` without a sample here.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from workflows.clock.calendar import BusinessCalendar
from workflows.domain import OutboundKind
from workflows.notices.mime import compose_part, for_recipient
from workflows.notices.model import NoticeKind, Purpose, Window
from workflows.notices.reference import make_message_id
from workflows.notices.render import NoticeFacts, Occasion, OrgFacts, render_notice
from workflows.outbound.compose import render_message
from workflows.settings import Mailbox, Settings

KEY = b"k" * 32
NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
BERLIN = "Europe/Berlin"
# What people type: an ampersand, a ">", quotes, two lines, then a second paragraph.
TYPED = 'Tom & Jerry\'s "printer" says 5 > 3\nSecond line\n\nNew paragraph'
FIRST, SECOND, THIRD = 'Tom & Jerry\'s "printer" says 5 > 3', "Second line", "New paragraph"
SETTINGS = Settings(home=Path("."), database_url="", mailboxes=(Mailbox("care@desk.example"),),
                    from_address="care@desk.example", message_id_domain="desk.example")
URL = "https://desk.example/cases/CASE-1001"


@dataclass(frozen=True)
class MailSample:
    name: str
    raw: bytes
    typed: bool  # carries TYPED: its three lines must read as three lines

    def html(self) -> str:
        return html_part(self.raw)


def html_part(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    part = msg.get_body(("html",))
    assert part is not None, "no text/html part"
    return part.get_content()


_CASE_CONTEXTS: dict[OutboundKind, dict[str, object]] = {
    OutboundKind.ANALYST_POST: {"body": TYPED, "request_info": True, "propose_solution": False,
                                "closes_after_days": 10},
    OutboundKind.NEW_CASE_ACK: {"contact_name": "Alice & Bob", "contact_email": "a@acme.example",
                                "subject": "Printer & fire"},
    OutboundKind.CLOSED_TOO_LONG: {"closed_on": "2026-01-02 (Europe/Berlin)", "reopen_days": 30},
    OutboundKind.ESCALATION: {"severity": "high", "status": "open", "subject": "A & B",
                              "organization": "Acme & Co", "requester": "alice@acme.example",
                              "body": TYPED, "case_url": URL},
    OutboundKind.FOLLOW_UP_REMINDER: {"reminder": 1, "contact_name": "Alice", "asked": TYPED,
                                      "days": 2, "status": "awaiting_info",
                                      "closes_on": "2026-03-16 18:00 CET (Europe/Berlin)",
                                      "case_url": URL},
    OutboundKind.FOLLOW_UP_CLOSED: {"contact_name": "Alice", "asked": TYPED, "days": 10,
                                    "reopen_days": 30, "case_url": URL},
    OutboundKind.SLA_WARNING: {"severity": "high", "status": "open", "subject": "A & B",
                               "organization": "Acme", "clock": "response", "target": "2bh",
                               "due_at": "2026-03-02 18:00 CET (Europe/Berlin)",
                               "due_at_utc": "2026-03-02 17:00 UTC", "share_left": 25,
                               "case_url": URL},
    OutboundKind.SLA_BREACH: {"severity": "high", "status": "open", "subject": "A & B",
                              "organization": "Acme", "clock": "resolution", "target": "2bd",
                              "due_at": "2026-03-02 18:00 CET (Europe/Berlin)",
                              "due_at_utc": "2026-03-02 17:00 UTC", "case_url": URL},
    OutboundKind.UNANSWERED_ESCALATION: {"subject": "A & B", "severity": "high",
                                         "organization": "Acme", "waited": "1 business hour",
                                         "opened_at": "2026-03-02 09:00 CET (Europe/Berlin)",
                                         "case_url": URL},
    OutboundKind.CASE_ESCALATED: {"contact_name": "Alice", "original": "CASE-1001",
                                  "subject": "A & B", "family": "Technical Support",
                                  "case_url": URL},
    OutboundKind.TRIAGE_REPLY: {"body": TYPED},
    OutboundKind.OWNER_REPLY: {"subject": "A & B", "status": "open",
                               "requester": "alice@acme.example", "body": TYPED,
                               "case_url": URL},
    OutboundKind.CASE_CLOSED: {"contact_name": "Alice & Bob", "subject": "Printer & fire",
                               "resolution": "resolved", "reopen_days": 30},
}
# Mail to the care team or a triage sender carries no case reference.
_NO_REFERENCE = {OutboundKind.ESCALATION, OutboundKind.SLA_WARNING, OutboundKind.SLA_BREACH,
                 OutboundKind.UNANSWERED_ESCALATION, OutboundKind.TRIAGE_REPLY,
                 OutboundKind.OWNER_REPLY}


def case_samples() -> Iterator[MailSample]:
    for kind in OutboundKind:
        context = dict(_CASE_CONTEXTS[kind])
        number = None if kind in _NO_REFERENCE else "CASE-1001"
        if number is None and kind is not OutboundKind.TRIAGE_REPLY:
            context["number"] = "CASE-1001"  # named in the text, as the producers do
        mail = render_message(settings=SETTINGS, key=KEY, template=kind.value, context=context,
                              subject=f"{kind.value} & more", to=("alice@acme.example",),
                              case_number=number, automated=True, now=NOW)
        yield MailSample(kind.value, mail.raw, typed="body" in context or "asked" in context)


_START = dt.datetime(2026, 3, 10, 6, 0, tzinfo=dt.UTC)
_ACME = OrgFacts(1, "Acme & Co", BERLIN, ("ops@acme.example",),
                 BusinessCalendar(BERLIN, country="DE"))

# (sample name, kind, purpose, facts beyond the common ones, occasion beyond purpose)
_NOTICES: list[tuple[str, NoticeKind, Purpose, dict[str, object], dict[str, object]]] = [
    ("planned", NoticeKind.PLANNED, Purpose.ANNOUNCE, {"window": Window.WEEKLY}, {}),
    ("emergency", NoticeKind.EMERGENCY, Purpose.ANNOUNCE, {"recommendation": TYPED}, {}),
    ("incident", NoticeKind.INCIDENT, Purpose.ANNOUNCE, {"recommendation": TYPED},
     {"next_update_at": NOW + dt.timedelta(minutes=30)}),
    ("advisory", NoticeKind.ADVISORY, Purpose.ANNOUNCE, {"recommendation": TYPED}, {}),
    ("reschedule", NoticeKind.PLANNED, Purpose.RESCHEDULE, {"window": Window.WEEKLY}, {}),
    ("cancel", NoticeKind.PLANNED, Purpose.CANCEL, {"window": Window.WEEKLY}, {}),
    ("follow_up", NoticeKind.INCIDENT, Purpose.FOLLOW_UP, {},
     {"slot": 1, "status_text": TYPED, "next_update_at": NOW + dt.timedelta(minutes=30)}),
    ("all_clear", NoticeKind.INCIDENT, Purpose.ALL_CLEAR,
     {"resolved_at": NOW, "all_clear_text": TYPED, "rca_business_days": 5,
      "rca_due_at": NOW + dt.timedelta(days=7)}, {}),
    ("rca", NoticeKind.INCIDENT, Purpose.RCA,
     {"resolved_at": NOW, "rca_link": "https://status.desk.example/rca?a=1&b=2"}, {}),
    ("rca_reminder", NoticeKind.INCIDENT, Purpose.RCA_REMINDER,
     {"resolved_at": NOW, "rca_due_at": NOW + dt.timedelta(days=7)}, {}),
]


def notice_samples() -> Iterator[MailSample]:
    for name, kind, purpose, extra, occasion_extra in _NOTICES:
        maintenance = kind.maintenance
        facts = NoticeFacts(
            reference=f"{kind.prefix}-2026-0001", kind=kind, title="Switch & router upgrade",
            impact=TYPED, details=TYPED, link="https://status.desk.example/?a=1&b=2",
            starts_at=_START if maintenance else NOW - dt.timedelta(minutes=20),
            ends_at=_START + dt.timedelta(hours=4) if maintenance else None,
            sent_at=NOW - dt.timedelta(minutes=10), **extra)  # type: ignore[arg-type]
        occasion = Occasion(purpose, NOW, **occasion_extra)  # type: ignore[arg-type]
        rendered = render_notice(facts, _ACME, occasion, organizer="care@desk.example")
        part = compose_part(rendered, from_address="care@desk.example",
                            list_id="notices.desk.example", loop_id="ticketgate",
                            reference=facts.reference, at=NOW)
        raw = for_recipient(part, "ops@acme.example",
                            make_message_id(facts.reference, "desk.example"))
        yield MailSample(f"notice_{name}", raw, typed=name not in ("cancel", "rca_reminder"))


def every_sample() -> list[MailSample]:
    """Every kind but the case report (it reads the database: ``report_sample``)."""
    return [*case_samples(), *notice_samples()]


KIND_NAMES = [*(k.value for k in OutboundKind), *(f"notice_{n}" for n, *_ in _NOTICES),
              "notice_case_report"]


class VisibleText(HTMLParser):
    """What a reader sees: text outside head/style/script, a newline where a block or a
    ``<br>`` breaks the line."""

    BLOCKS = frozenset({"p", "div", "blockquote", "br", "tr", "h1", "h2", "h3", "h4", "li",
                        "hr", "table", "ul", "ol", "pre"})
    HIDDEN = frozenset({"head", "title", "style", "script"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(self.hidden - 1, 0)
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:  # HTML collapses white space: a newline in text breaks nothing
            self.parts.append(re.sub(r"\s+", " ", data))

    def lines(self) -> list[str]:
        text = "".join(self.parts)
        return [" ".join(line.split()) for line in text.split("\n") if line.strip()]


def visible_lines(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser.lines()
