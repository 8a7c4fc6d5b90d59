"""Helpers for tests: open cases, post, build replies to our outbound mail, ingest bytes."""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Callable
from email.message import EmailMessage

from workflows.cases import directory
from workflows.cases import service as cases
from workflows.domain import Family, Severity
from workflows.inbound.intake import Envelope, accept
from workflows.inbound.process import ProcessResult, process_message
from workflows.runtime import Runtime
from workflows.storage.models import OutboundMessage

CARE = "care@desk.example"


def open_case(rt: Runtime, contact: str = "alice@acme.example", subject: str = "Printer on fire",
              severity: Severity = Severity.MEDIUM, family: Family = Family.CASE) -> str:
    with rt.db.transaction() as s:
        c = directory.find_contact(s, contact)
        from workflows.storage.models import Organization

        org = s.get(Organization, c.organization_id)
        assert org is not None
        return cases.open_case(s, organization_id=org.id, contact=c, subject=subject,
                               family=family, severity=severity, now=rt.now(),
                               actor="test").number


def post(rt: Runtime, number: str, body: str = "Which model is it?",
         action: str | None = "request_info") -> bytes:
    """An analyst's post; returns the raw mail as it left (the file transport wrote it)."""
    with rt.db.transaction() as s:
        out = cases.post_update(s, rt.settings, rt.key, number=number, body=body, action=action,
                                now=rt.now(), actor="analyst@desk.example")
        out_id = out.id
    rt.send_outbox([out_id])
    with rt.db.transaction() as s:
        row = s.get(OutboundMessage, out_id)
        assert row is not None
        return row.raw


def close(rt: Runtime, number: str) -> None:
    with rt.db.transaction() as s:
        cases.close_case(s, number=number, cancelled=False, now=rt.now(), actor="test")


def reply_to(outbound_raw: bytes, *, sender: str, body: str = "It is an HP 4000.",
             message_id: str = "<reply-1@client.example>", keep_subject: bool = True,
             keep_thread: bool = True, quote: bool = True,
             extra_headers: dict[str, str] | None = None) -> bytes:
    """A customer's reply to one of our mails, the way a mail client builds one."""
    original = email.message_from_bytes(outbound_raw, policy=email.policy.default)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = CARE
    msg["Subject"] = "Re: " + (str(original["Subject"]) if keep_subject else "your mail")
    msg["Message-ID"] = message_id
    if keep_thread:
        msg["In-Reply-To"] = str(original["Message-ID"])
        msg["References"] = str(original["Message-ID"])
    for name, value in (extra_headers or {}).items():
        msg[name] = value
    text = body
    if quote:
        part = original.get_body(("plain",))
        quoted = part.get_content() if part is not None else ""
        text += "\n\nOn Mon, Care wrote:\n" + "".join(f"> {line}\n" for line in
                                                       quoted.splitlines())
    msg.set_content(text)
    return msg.as_bytes()


def new_mail(*, sender: str, subject: str = "Help please", body: str = "Something broke.",
             message_id: str = "<new-1@client.example>", to: str = CARE,
             extra_headers: dict[str, str] | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    for name, value in (extra_headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def ingest(rt: Runtime, raw: bytes, mailbox: str = CARE) -> ProcessResult:
    accepted = accept(rt.db, raw, Envelope(mailbox=mailbox, rcpt_tos=(mailbox,)), now=rt.now())
    return process_message(rt, accepted.inbound_id)


def wait_until(condition: Callable[[], object], what: str, *, timeout: float = 30.0,
               every: float = 0.05) -> None:
    """Poll ``condition`` until it is true; fail naming ``what`` after ``timeout`` seconds.
    Tests wait for a condition, never for a fixed time: CI is faster and slower than here."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)
