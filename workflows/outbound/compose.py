"""Outbound mail: render a template into a message and queue it in the outbox.

Place in the flow: ``workflows.inbound.apply`` and the case services call ``queue_mail`` inside
their transaction; ``workflows.outbound.outbox.send_queued`` sends the rows after commit.
``render_message`` is pure. Every mail that leaves a case carries its Reference ID three times: in
the Message-ID, as a subject tag and as a body marker (text and HTML), so a reply finds its way back
whatever the customer's client keeps.

Headers are written by ``workflows.outbound.headers`` (the one place that makes outside values safe
for a header, RFC 2047 decoding first); the email package builds only the MIME tree below them.
A reply carries In-Reply-To and the whole References chain of its ``Parent`` (RFC 5322 3.6.4).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import SMTP, compat32
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from parsing import headers, reference
from workflows.domain import OutboundKind, OutboundStatus
from workflows.notices import ratelimit
from workflows.outbound import headers as mailheaders
from workflows.outbound import htmltext
from workflows.outbound.files import MailFile
from workflows.outbound.headers import BadAddress
from workflows.settings import Mailbox, Settings
from workflows.storage.models import Case, InboundMessage, OutboundMessage

if TYPE_CHECKING:
    import jinja2

# templates/ beside the packages: the checkout's, or the copy a wheel installs there
# (pyproject.toml's package-data), found the same way in both.
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
DESK_NAME = "Customer Care"  # only when settings.desk_name is blank: see identity_of


# Automated mail sent in answer to inbound mail: the kinds a mail loop could drive.
RESPONSES = frozenset({OutboundKind.NEW_CASE_ACK, OutboundKind.CLOSED_TOO_LONG})


__all__ = ["BadAddress", "checked_address", "one_line"]  # re-exported from mailheaders


@dataclass(frozen=True, slots=True)
class MailIdentity:
    """Who a case mail is from, per mailbox: the From display name and the signature
    written above the footer (``display_name``/``signature`` on ``[[mailbox]]``)."""

    display_name: str
    signature: str = ""


def identity_of(settings: Settings, mailbox: Mailbox | None) -> MailIdentity:
    """The mailbox's identity; a mailbox without a display name uses ``desk_name``."""
    if mailbox is None:
        return MailIdentity(one_line(settings.desk_name) or DESK_NAME)
    return MailIdentity(one_line(mailbox.display_name) or one_line(settings.desk_name)
                        or DESK_NAME, mailbox.signature.strip())


def case_mailbox(session: Session, settings: Settings, case: Case) -> Mailbox:
    """The mailbox the case's first mail came to, else (an escalation, TSUP or PC, opened from
    another case) the one of the case it is linked to, else the first configured one (a case
    an analyst opened): its identity and choices (acknowledge, notify_closed) are the case's.
    One hop only: an original and its escalation point at each other."""
    for case_id in (case.id, case.linked_case_id):
        if case_id is None:
            continue
        address = session.scalars(select(InboundMessage.mailbox)
                                  .where(InboundMessage.case_id == case_id)
                                  .order_by(InboundMessage.id).limit(1)).first()
        box = settings.mailbox(address) if address else None
        if box is not None:
            return box
    return settings.default_mailbox


@cache
def _env(autoescape: bool) -> jinja2.Environment:
    # Imported on the first mail rendered: every case service imports this module, and a
    # command that only reads (``case list``) need not pay for Jinja2 (45-80 ms, -X importtime).
    import jinja2

    return htmltext.install(jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=True,
    ))


def render(name: str, context: dict[str, Any]) -> tuple[str, str]:
    """The (text, html) bodies of ``templates/mail/<name>``; HTML is autoescaped."""
    text = _env(False).get_template(f"mail/{name}.txt.j2").render(context)
    html = _env(True).get_template(f"mail/{name}.html.j2").render(context)
    # The wrap style around the whole mail: see htmltext.WRAP_STYLE.
    return text, f'<div style="{htmltext.WRAP_STYLE}">{html}</div>'


# The names the rest of the code base knows; the rules live in ``workflows.outbound.headers``.
one_line = mailheaders.text
checked_address = mailheaders.address


@dataclass(frozen=True, slots=True)
class Parent:
    """The mail a reply answers: its Message-ID and its own References (RFC 5322 3.6.4)."""

    message_id: str | None
    references: tuple[str, ...] = ()

    @classmethod
    def of_raw(cls, message_id: str | None, raw: bytes | None) -> Parent:
        """The parent as stored: its id, its References read from its header block."""
        return cls(message_id, references_in(raw) if raw else ())


def references_in(raw: bytes) -> tuple[str, ...]:
    """The msg-ids of a stored mail's References header (the header block only)."""
    # compat32: the raw text, nothing decoded; ``mailheaders.references`` validates each id.
    head = BytesHeaderParser(policy=compat32).parsebytes(raw)
    return headers.id_list([str(v) for v in head.get_all("References", [])])


def parent_of_inbound(row: InboundMessage | None) -> Parent | None:
    return Parent.of_raw(row.message_id, row.raw) if row is not None else None


def parent_of_outbound(row: OutboundMessage | None) -> Parent | None:
    return Parent.of_raw(row.message_id, row.raw) if row is not None else None


@dataclass(frozen=True, slots=True)
class RenderedMail:
    message_id: str
    subject: str
    recipients: tuple[str, ...]
    raw: bytes


def render_message(
    *,
    settings: Settings,
    key: bytes,
    template: str,
    context: dict[str, Any],
    subject: str,
    to: tuple[str, ...],
    case_number: str | None,
    automated: bool,
    now: dt.datetime,
    parent: Parent | None = None,
    files: Sequence[MailFile] = (),
    cc: tuple[str, ...] = (),
    identity: MailIdentity | None = None,
    responding: bool = False,
) -> RenderedMail:
    """The whole mail, every header value through ``workflows.outbound.headers``; the bytes are
    re-read before they are returned (``verify_header_names``)."""
    who = identity or identity_of(settings, None)
    primary = tuple(checked_address(a) for a in to)
    if not primary:
        raise BadAddress("a mail needs at least one recipient")
    copied = tuple(a for a in (checked_address(c) for c in cc) if a not in primary)
    recipients = primary + copied  # the envelope: Cc'd people get the mail too
    domain = settings.message_id_domain
    subject = mailheaders.text(subject)
    if case_number:
        token = reference.format_token(case_number, key)
        message_id = reference.make_message_id(case_number, key, domain)
        subject = f"{subject} {token}".lstrip()
    else:
        token = ""
        message_id = reference.make_message_id("000000", key, domain)
    text, html = (mailheaders.encodable(part) for part in render(
        template, {"number": case_number, "token": token, "desk_name": who.display_name,
                   "signature": who.signature, **context}))
    thread = mailheaders.references(parent.message_id, parent.references) if parent else ()
    head = [
        mailheaders.mailbox_line("From", who.display_name, settings.from_address),
        mailheaders.addresses_line("To", primary),
    ]
    if copied:  # RFC 5322 3.6.3: further recipients, shown to all (a case thread is shared)
        head.append(mailheaders.addresses_line("Cc", copied))
    head += [
        mailheaders.header_line("Subject", subject),
        f"Date: {format_datetime(now)}\r\n",
        mailheaders.ids_line("Message-ID", [message_id]),
    ]
    if thread:
        # RFC 5322 3.6.4: In-Reply-To names the parent, References the chain ending with it.
        head += [mailheaders.ids_line("In-Reply-To", thread[-1:]),
                 mailheaders.ids_line("References", thread)]
    # Marks every mail we send so that if it ever comes back in, it is recognised as a loop.
    head.append(mailheaders.header_line("X-Ticketgate-Loop", settings.instance_id))
    if automated:
        # RFC 3834 5.1: automatic responders must not answer this; Microsoft's equivalent too.
        # Written in answer to a mail that came in (``responding``: a RESPONSES kind with the
        # mail as its parent), it is "auto-replied" (RFC 3834 3.1.7, 5.2); written by the clock
        # or for an analyst's act (a case opened by hand), "auto-generated".
        value = "auto-replied" if responding else "auto-generated"
        head += [f"Auto-Submitted: {value}\r\n", "X-Auto-Response-Suppress: All\r\n"]
    # The MIME tree (text, HTML, files) from the email package: it writes only MIME headers
    # (MIME-Version, Content-Type, Content-Transfer-Encoding, Content-Disposition).
    body = EmailMessage(policy=SMTP)
    body.set_content(text)
    body.add_alternative(html, subtype="html")
    for f in files:
        _attach(body, f)
    raw = "".join(head).encode("utf-8") + body.as_bytes()
    names = [line.split(":", 1)[0] for line in head]
    mailheaders.verify_header_names(raw, [*names, "MIME-Version", "Content-Type"])
    return RenderedMail(message_id, subject, recipients, raw)


def _attach(msg: EmailMessage, f: MailFile) -> None:
    """One file after the text+HTML alternative: the first ``add_attachment`` turns the mail
    into multipart/mixed with the alternative as its first part (RFC 2046 5.1.3).

    Base64 whatever the type, so the bytes arrive exact (line ends of a text file included).
    The name goes in Content-Disposition ``filename`` (RFC 2183 2.3) and, for clients that
    still read only that, Content-Type ``name``; the email package writes a non-ASCII name in
    RFC 2231 encoding (``filename*=utf-8''...``, continued over lines when long). The name is
    ``mailheaders.filename`` again here (``outgoing_files.clean_filename`` made it so; a
    ``MailFile`` built elsewhere gets the same), so it decodes to itself and has no control
    character: the header registry, which decodes encoded-words in parameters, cannot turn it
    into a line break."""
    name = mailheaders.filename(f.filename) or "attachment"
    maintype, _, subtype = f.header_type.partition("/")
    params = {"name": name}
    if maintype == "text" and _is_utf8(f.data):
        params["charset"] = "utf-8"
    msg.add_attachment(f.data, maintype=maintype, subtype=subtype, filename=name,
                       params=params)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def queue_mail(
    session: Session,
    settings: Settings,
    key: bytes,
    *,
    kind: OutboundKind,
    case: Case | None,
    to: tuple[str, ...],
    subject: str,
    context: dict[str, Any],
    automated: bool,
    now: dt.datetime,
    parent: Parent | None = None,
    files: Sequence[MailFile] = (),
    cc: tuple[str, ...] = (),
    mailbox: Mailbox | None = None,
) -> OutboundMessage:
    """Render and add an outbox row (status queued) to the caller's transaction. The row
    keeps the whole rendered mail, files included: a retry resends exactly these bytes, even
    after the files' blobs were purged. ``parent``: the mail this one answers (its id and
    References continue the thread)."""
    mail = render_message(
        settings=settings,
        key=key,
        template=kind.value,
        context=context,
        subject=subject,
        to=to,
        case_number=case.number if case else None,
        automated=automated,
        now=now,
        parent=parent,
        files=files,
        cc=cc,
        responding=kind in RESPONSES and parent is not None,
        # The identity of the mailbox the mail speaks for: given, else the case's.
        identity=identity_of(settings, mailbox or (
            case_mailbox(session, settings, case) if case else None)),
    )
    status, error = OutboundStatus.QUEUED, None
    if automated:
        # One hourly budget per recipient, shared with notices. Mail that answers inbound mail
        # is held back past it (RFC 3834 5): an autoresponder that ignores Auto-Submitted
        # cannot make us answer it without end. Scheduled mail (reminders) only counts.
        over = [r for r in mail.recipients
                if kind in RESPONSES
                and not ratelimit.allow(session, r, now, per_hour=settings.automated_per_hour)]
        if over:  # held, not failed: nothing went wrong, and it must never go out late
            status = OutboundStatus.HELD
            error = (f"held: {', '.join(over)} already got {settings.automated_per_hour} "
                     "automated mails in the last hour (automated_per_hour)")
        else:
            ratelimit.record(session, mail.recipients, now, source=kind.value)
    row = OutboundMessage(
        message_id=mail.message_id,
        case_id=case.id if case else None,
        kind=kind.value,
        recipients=list(mail.recipients),
        subject=mail.subject,
        raw=mail.raw,
        automated=automated,
        status=status.value,
        last_error=error,
        attempts=0,
        failed_recipients=[],
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row
