"""The header property (issue 12): whatever strings reach a header -- RFC 2047 encoded-words
that decode to CR/LF, mixed line ends, NUL, bidi controls -- every outbound kind's builder writes
bytes that parse back (``email.parser`` with ``policy.default``) to exactly the headers we meant
and the body we meant. Pure: the builders are called directly, no database."""

from __future__ import annotations

import base64
import datetime as dt
import email.policy
import re
from email.parser import BytesParser
from pathlib import Path

import icalendar
import jinja2
import jinja2.meta
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.conftest import KEY, MAILBOXES
from workflows.domain import OutboundKind
from workflows.notices.mime import compose_part, for_recipient
from workflows.notices.model import NoticeKind, Purpose
from workflows.notices.render import NoticeFacts, Occasion, OrgFacts, render_notice
from workflows.outbound import headers as mailheaders
from workflows.outbound import htmltext
from workflows.outbound.compose import TEMPLATES, Parent, render, render_message
from workflows.outbound.files import MailFile, clean_filename
from workflows.settings import Settings

PROPERTY = hsettings(max_examples=60, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SETTINGS = Settings(home=Path("/nonexistent"), database_url="sqlite://", mailboxes=MAILBOXES,
                    from_address="care@desk.example", message_id_domain="desk.example",
                    trusted_authserv_ids=())


def _b(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


# The pieces of the review's vectors, mixed with arbitrary text.
ATTACKS = [
    "=?utf-8?q?Hi=0D=0AReply-To:_attacker@evil.example?=",
    _b("x\r\nBcc: victim@evil.example"),
    _b("=?utf-8?q?a=0D=0AX-Nested:_1?="),  # decodes to an encoded-word
    "=?iso-8859-1?q?=0A=0DX-Evil:_1?=", "\r\n", "\r", "\n", "\r\nBcc: victim@evil.example\r\n",
    "\x00", "\x0b", "\x1f", "\x7f", "\x85", "\u2028", "\u2029", "\u202e", "\u2066", "\u200f",
    "\ufeff", "\ud800", "é", "日本", " ", "\t", "=?", "?=", '"', "\\", "<", ">", "@", ";", ",",
    "Reply-To: attacker@evil.example", "\r\n\r\nreplaced body",
]
hostile = st.lists(st.one_of(st.sampled_from(ATTACKS), st.text(max_size=12)),
                   min_size=1, max_size=8).map("".join)
ids = st.one_of(hostile, st.from_regex(r"\A<?[a-z0-9.=?_-]{1,20}@[a-z0-9.-]{1,20}>?\Z"))
HEADERS_CASE = ["From", "To", "Subject", "Date", "Message-ID", "X-Ticketgate-Loop",
                "MIME-Version", "Content-Type"]
AUTOMATED = ["Auto-Submitted", "X-Auto-Response-Suppress"]
_EOL = re.compile(r"\r\n|\r|\n")


def _lines(text: str) -> list[str]:
    return _EOL.split(text.rstrip("\r\n"))


def _variables(kind: OutboundKind) -> set[str]:
    env = htmltext.install(jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES)))
    found: set[str] = set()
    for ext in ("txt", "html"):
        source = (TEMPLATES / "mail" / f"{kind.value}.{ext}.j2").read_text()
        found |= jinja2.meta.find_undeclared_variables(env.parse(source))
    return found - {"number", "token", "desk_name"}


def _unfolded(value: str) -> str:
    """A header value without folding whitespace: the stdlib folder may break right after
    ``Subject:`` and the parser keeps that space (RFC 5322 3.2.2: it is not content)."""
    return " ".join(value.split())


def _parse(raw: bytes) -> email.message.EmailMessage:
    return BytesParser(policy=email.policy.default).parsebytes(raw)


def _assert_body(msg: email.message.EmailMessage, text: str, html: str) -> None:
    assert _lines(msg.get_body(("plain",)).get_content()) == _lines(text)
    assert _lines(msg.get_body(("html",)).get_content()) == _lines(html)


@pytest.mark.parametrize("kind", list(OutboundKind))
@PROPERTY
@given(value=hostile, parent_id=ids, references=st.lists(ids, max_size=4))
def test_every_case_mail_kind_keeps_exactly_its_headers(kind, value, parent_id, references):
    """Subject, context and thread ids from outside never add, lose or split a header."""
    context = dict.fromkeys(_variables(kind), value)
    number = "CASE-1001" if kind is not OutboundKind.TRIAGE_REPLY else None
    automated = kind not in (OutboundKind.ANALYST_POST, OutboundKind.TRIAGE_REPLY)
    mail = render_message(settings=SETTINGS, key=KEY, template=kind.value, context=context,
                          subject=value, to=("alice@acme.example",), case_number=number,
                          automated=automated, now=NOW,
                          parent=Parent(parent_id, tuple(references)))
    msg = _parse(mail.raw)
    thread = mailheaders.references(parent_id, references)
    expected = HEADERS_CASE + (AUTOMATED if automated else []) + (
        ["In-Reply-To", "References"] if thread else [])
    assert sorted(msg.keys()) == sorted(expected)
    assert not msg.defects
    assert _unfolded(msg["Subject"]) == mail.subject
    assert mail.subject.startswith(mailheaders.text(value))
    if thread:
        assert msg["References"].split() == [f"<{i}>" for i in thread]
        assert msg["In-Reply-To"] == f"<{mailheaders.msg_id(parent_id)}>"
    ctx = {"number": number, "token": mail.subject.rsplit(" ", 1)[-1] if number else "",
           "desk_name": "Customer Care", **context}
    _assert_body(msg, *(mailheaders.encodable(p) for p in render(kind.value, ctx)))


@PROPERTY
@given(name=hostile, data=st.binary(min_size=1, max_size=40),
       ext=st.sampled_from([".txt", ".log", ".pdf", "", ".txt\r\n"]))
def test_an_attachment_name_stays_a_parameter(name, data, ext):
    """A hostile file name ends neither Content-Disposition nor Content-Type."""
    filename = clean_filename(name + ext, 0)
    f = MailFile(filename, "text/plain", "text/plain", data)
    mail = render_message(settings=SETTINGS, key=KEY, template="triage_reply",
                          context={"body": "see file"}, subject="Files",
                          to=("alice@acme.example",), case_number=None, automated=False,
                          now=NOW, files=(f,))
    msg = _parse(mail.raw)
    assert sorted(msg.keys()) == sorted(HEADERS_CASE)
    [attachment] = list(msg.iter_attachments())
    assert sorted(attachment.keys()) == ["Content-Disposition", "Content-Transfer-Encoding",
                                         "Content-Type", "MIME-Version"]
    assert attachment.get_filename() == filename
    assert attachment.get_content_type() == "text/plain"
    assert attachment.get_payload(decode=True) == data


NOTICE_HEADERS = ["To", "Message-ID", "From", "Subject", "Date", "Auto-Submitted", "Precedence",
                  "X-Auto-Response-Suppress", "List-Id", "X-Ticketgate-Loop", "MIME-Version",
                  "Content-Type", "X-Ticketgate-Notice"]


@PROPERTY
@given(title=hostile, impact=hostile, org=hostile,
       purpose=st.sampled_from([Purpose.ANNOUNCE, Purpose.RESCHEDULE, Purpose.CANCEL]))
def test_a_notice_and_its_calendar_keep_their_fields(title, impact, org, purpose):
    """Notice subjects and ICS SUMMARY/DESCRIPTION from a hostile title stay one field each."""
    notice = NoticeFacts(reference="PM-1001", kind=NoticeKind.PLANNED, title=title,
                         impact=impact, details=title, starts_at=NOW + dt.timedelta(days=8),
                         ends_at=NOW + dt.timedelta(days=8, hours=2), sent_at=NOW)
    rendered = render_notice(notice, OrgFacts(1, org, "Europe/Berlin", ("ops@acme.example",)),
                             Occasion(purpose, NOW), organizer="care@desk.example")
    part = compose_part(rendered, from_address="care@desk.example", list_id="notices.desk",
                        loop_id="desk-1", reference="PM-1001", at=NOW)
    msg = _parse(for_recipient(part, "ops@acme.example", "PM-1001.x@desk.example"))
    assert sorted(msg.keys()) == sorted(NOTICE_HEADERS)
    assert _unfolded(msg["Subject"]) == mailheaders.text(rendered.subject)
    _assert_body(msg, mailheaders.encodable(rendered.text), mailheaders.encodable(rendered.html))
    [ics] = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    event = icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == mailheaders.text(f"[PM-1001] Planned maintenance: {title}")
    assert sorted(event.keys()) == sorted(
        ["UID", "SEQUENCE", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION", "STATUS",
         "TRANSP", "ORGANIZER", *(["ATTENDEE"] if purpose is Purpose.CANCEL else [])])
