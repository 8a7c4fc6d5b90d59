"""Triage: mail that could not be linked waits here for a person's decision.

Place in the flow: ``workflows.inbound.apply`` queues items (with a machine-readable reason and a
suggested case); analysts and admins resolve them through the CLI, the console and the API:
link to a case, open a new case for the sender, reopen the closed case, or discard. Every action
is audited.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from parsing import parse
from workflows.cases import assignment
from workflows.cases import mail as case_mail
from workflows.cases.service import audit, find_case, open_case, reopen_case, set_status
from workflows.cases.state import CaseEvent, next_status
from workflows.domain import CaseStatus, TriageState, UpdateKind
from workflows.errors import NotFound, Refused
from workflows.inbound.apply import add_update
from workflows.inbound.decision import SenderView
from workflows.inbound.snapshot import case_view
from workflows.outbound.compose import parent_of_inbound
from workflows.settings import Settings
from workflows.storage.models import (
    Attachment,
    Case,
    Contact,
    InboundMessage,
    TriageItem,
)


def pending_item(session: Session, item_id: int) -> tuple[TriageItem, InboundMessage]:
    item = session.get(TriageItem, item_id)
    if item is None:
        raise NotFound(f"no triage item {item_id}")
    if item.state != TriageState.PENDING.value:
        raise Refused(f"triage item {item_id} is already {item.state}")
    row = session.get(InboundMessage, item.inbound_message_id)
    assert row is not None
    return item, row


def _resolve(session: Session, item: TriageItem, state: TriageState, case: Case | None,
             actor: str, now: dt.datetime) -> None:
    item.state = state.value
    item.resolved_at = now
    item.resolved_by = actor
    item.resolved_case_id = case.id if case else None
    audit(session, actor=actor, action=f"triage.{state.value}", now=now,
          case_id=case.id if case else None, inbound_id=item.inbound_message_id,
          item=item.id, reason=item.reason)


def _attach_message(session: Session, settings: Settings, key: bytes, row: InboundMessage,
                    case: Case, now: dt.datetime, *, flip_status: bool) -> None:
    """Add the triaged message to ``case``; a reply from an allowed contact flips Awaiting
    Info / Solution Proposed back to Open, exactly as if it had carried the reference."""
    mail = parse(row.raw, key=key)
    added = add_update(session, settings, case, row, mail, UpdateKind.REPLY, now)
    session.execute(update(Attachment).where(Attachment.inbound_message_id == row.id)
                    .values(case_id=case.id))
    row.case_id = case.id
    if flip_status and mail.from_ is not None:
        _flip_on_reply(session, case, mail.from_.email, now)
    # The owner hears of it as of any reply, with the status it left the case in; the mail (if
    # they asked for one) goes out with the next outbox pass.
    assignment.on_customer_reply(session, settings, key, case, added.author, added.visible_text,
                                 now)


def _flip_on_reply(session: Session, case: Case, sender_email: str, now: dt.datetime) -> None:
    """Awaiting Info / Solution Proposed -> Open when the sender may update the case."""
    contact = session.scalars(select(Contact).where(
        Contact.email == sender_email, Contact.removed_at.is_(None))).first()
    sender = (SenderView(contact.email, contact.id, contact.organization_id, contact.designated)
              if contact else SenderView(sender_email))
    status = CaseStatus(case.status)
    if sender.may_update(case_view(case)) and (
        next_status(status, CaseEvent.CUSTOMER_REPLIED) is not status
    ):
        set_status(session, case, CaseEvent.CUSTOMER_REPLIED, now)


def link(session: Session, settings: Settings, key: bytes, *, item_id: int, number: str,
         actor: str, now: dt.datetime, flip_status: bool = True) -> Case:
    item, row = pending_item(session, item_id)
    case = find_case(session, number)
    if case.status == CaseStatus.CLOSED.value:
        raise Refused(f"case {case.number} is closed: reopen it (`triage reopen`) or open a "
                      "new case")
    _attach_message(session, settings, key, row, case, now, flip_status=flip_status)
    _resolve(session, item, TriageState.LINKED, case, actor, now)
    return case


def reopen(session: Session, settings: Settings, key: bytes, *, item_id: int,
           number: str | None, actor: str, now: dt.datetime) -> Case:
    item, row = pending_item(session, item_id)
    target = number or (session.get(Case, item.suggested_case_id).number  # type: ignore[union-attr]
                        if item.suggested_case_id else None)
    if target is None:
        raise Refused(f"triage item {item_id} suggests no case: name the case to reopen")
    case = reopen_case(session, number=target, reopen_days=settings.reopen_days, now=now,
                       actor=actor)
    _attach_message(session, settings, key, row, case, now, flip_status=False)
    _resolve(session, item, TriageState.REOPENED, case, actor, now)
    return case


def open_for_sender(session: Session, settings: Settings, key: bytes, *, item_id: int,
                    actor: str, now: dt.datetime) -> Case:
    item, row = pending_item(session, item_id)
    mail = parse(row.raw, key=key)
    if mail.from_ is None:
        raise Refused("the message has no sender to open a case for")
    contact = session.scalars(select(Contact).where(
        Contact.email == mail.from_.email, Contact.removed_at.is_(None))).first()
    if contact is None:
        raise Refused(f"{mail.from_.email} is not a contact of any organization: add it first "
                      "(`ticketgate contact add`)")
    case = open_case(session, organization_id=contact.organization_id, contact=contact,
                     subject=mail.subject or "(no subject)", now=now, actor=actor)
    assignment.auto_assign(session, settings, case, row.mailbox, now)
    _attach_message(session, settings, key, row, case, now, flip_status=False)
    _resolve(session, item, TriageState.OPENED, case, actor, now)
    # "Case N opened", when the mailbox the mail came to asks for it (sent after commit).
    case_mail.acknowledge_if_configured(session, settings, key, case=case, now=now,
                                        mailbox=settings.mailbox(row.mailbox),
                                        parent=parent_of_inbound(row))
    return case


def discard(session: Session, *, item_id: int, actor: str, now: dt.datetime) -> None:
    item, _row = pending_item(session, item_id)
    _resolve(session, item, TriageState.DISCARDED, None, actor, now)
