"""Who owns a case: assigning by hand, round robin per mailbox, and telling the owner when the
customer replies.

Place in the flow: ``assign`` is called by the CLI (``case assign``), the console's owner picker
and the API, each through one transaction; ``auto_assign`` by ``workflows.inbound.apply`` and
``workflows.inbound.triage`` when mail to a mailbox with ``auto_assign`` opens a case;
``on_customer_reply`` by the same two when a customer's reply lands on a case: the owner's unread
flag is set and, if they opted in (``notify_by_mail``), a mail to them is queued in the same
transaction (sent after commit, like all mail). Every change of owner leaves a ``case.assign`` audit
event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.cases.service import audit, find_case
from workflows.domain import OutboundKind
from workflows.errors import NotFound, Refused
from workflows.outbound.compose import queue_mail
from workflows.settings import Settings
from workflows.storage.models import (
    Case,
    ConsoleUser,
    MailboxRotation,
    OutboundMessage,
)

# Roles (``gateway.http.accounts.Role`` values) that work cases and so may own one; the
# automatic rotation takes analysts only, admins are assigned by hand.
OWNER_ROLES = frozenset({"admin", "analyst"})
ROTATION_ROLE = "analyst"
SYSTEM = "system"


def find_user(session: Session, email: str) -> ConsoleUser:
    """The user ``email`` (a disabled one too: their cases are still theirs to list)."""
    user = session.scalars(select(ConsoleUser).where(
        ConsoleUser.email == email.strip().lower())).first()
    if user is None:
        raise NotFound(f"no user {email}")
    return user


def find_owner(session: Session, email: str) -> ConsoleUser:
    """The user ``email`` if they may be given cases (enabled, admin or analyst)."""
    user = find_user(session, email)
    if user.disabled:
        raise Refused(f"user {user.email} is disabled")
    if user.role not in OWNER_ROLES:
        raise Refused(f"user {user.email} is a {user.role}: only admins and analysts own cases")
    return user


def owner_email(session: Session, case: Case) -> str | None:
    user = session.get(ConsoleUser, case.assignee_id) if case.assignee_id else None
    return user.email if user else None


def _set_owner(session: Session, case: Case, user: ConsoleUser | None, *, actor: str,
               now: dt.datetime, **why: Any) -> bool:
    new_id = user.id if user else None
    if case.assignee_id == new_id:
        return False
    before = owner_email(session, case)
    case.assignee_id = new_id
    case.owner_unread = False  # a new owner starts from what is on the case now
    audit(session, actor=actor, action="case.assign", now=now, case_id=case.id,
          number=case.number, owner=user.email if user else None, previous=before, **why)
    return True


def assign(session: Session, *, number: str, owner: str | None, actor: str,
           now: dt.datetime) -> Case:
    """Give the case to ``owner`` (an email), or to nobody (None). Audited when it changes."""
    case = find_case(session, number)
    user = find_owner(session, owner) if owner is not None else None
    _set_owner(session, case, user, actor=actor, now=now)
    return case


def auto_assign(session: Session, settings: Settings, case: Case, mailbox: str,
                now: dt.datetime) -> ConsoleUser | None:
    """Round robin over the enabled analysts, when the mailbox asks for it (``auto_assign``).

    The rotation row is locked (``FOR UPDATE`` on PostgreSQL; SQLite writes one at a time), so
    two workers opening cases at once hand them to two different analysts."""
    box = settings.mailbox(mailbox)
    if box is None or not box.auto_assign or case.assignee_id is not None:
        return None
    analysts = list(session.scalars(
        select(ConsoleUser).where(ConsoleUser.role == ROTATION_ROLE,
                                  ConsoleUser.disabled.is_(False)).order_by(ConsoleUser.id)))
    if not analysts:
        return None
    rotation = session.scalars(select(MailboxRotation).where(
        MailboxRotation.mailbox == box.address).with_for_update()).first()
    if rotation is None:
        rotation = MailboxRotation(mailbox=box.address, last_user_id=None, updated_at=now)
        session.add(rotation)
    last = rotation.last_user_id or 0
    chosen = next((u for u in analysts if u.id > last), analysts[0])
    rotation.last_user_id = chosen.id
    rotation.updated_at = now
    _set_owner(session, case, chosen, actor=SYSTEM, now=now, auto=True, mailbox=box.address)
    return chosen


def on_customer_reply(session: Session, settings: Settings, key: bytes, case: Case,
                      requester: str, body: str, now: dt.datetime) -> OutboundMessage | None:
    """A customer's mail (``requester`` wrote ``body``, its visible text) was added to
    ``case``: flag it unread for its owner, and queue a mail to the owner if they asked for
    one. Returns that mail's row (to send after commit)."""
    owner = session.get(ConsoleUser, case.assignee_id) if case.assignee_id else None
    if owner is None:
        return None
    case.owner_unread = True
    if not owner.notify_by_mail or owner.disabled:
        return None
    # No case reference on this mail (case=None): the owner's answer to it must not land on
    # the case as if the customer had written it.
    return queue_mail(
        session, settings, key, kind=OutboundKind.OWNER_REPLY, case=None, to=(owner.email,),
        subject=f"Reply on {case.number}: {case.subject}", automated=True, now=now,
        context={"number": case.number, "subject": case.subject, "status": case.status,
                 "requester": requester, "body": body,
                 "case_url": settings.console_link(case.number)})


def mark_read(session: Session, case: Case, user_id: int) -> None:
    """The owner opened the case: its customer replies are read."""
    if case.assignee_id == user_id and case.owner_unread:
        case.owner_unread = False


def unread_count(session: Session, user_id: int) -> int:
    """How many of the user's cases have a customer reply they have not opened."""
    return session.scalar(select(func.count()).select_from(Case).where(
        Case.assignee_id == user_id, Case.owner_unread.is_(True))) or 0


def set_notify_by_mail(session: Session, *, email: str, enabled: bool, actor: str,
                       now: dt.datetime) -> ConsoleUser:
    """The user's preference: mail me when a customer replies to a case I own."""
    user = find_user(session, email)
    if user.notify_by_mail != enabled:
        user.notify_by_mail = enabled
        audit(session, actor=actor, action="user.set", now=now, user=user.email,
              notify_by_mail=enabled)
    return user
