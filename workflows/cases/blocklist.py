"""Blocked senders: addresses an admin never wants to see in triage again.

Place in the flow: the console's "block sender" action writes here (audited);
``workflows.inbound.apply`` reads it when a decision queues a message for triage, and a message from
a blocked sender is then discarded on arrival instead of waiting for an admin. Blocking only
touches triage: a reply carrying a valid reference from a designated contact still reaches its
case, because the reference (not the address) is what links it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.service import audit
from workflows.errors import Refused
from workflows.outbound.compose import checked_address
from workflows.storage.models import BlockedSender

BLOCKLIST_ACTOR = "system:blocklist"


def is_blocked(session: Session, email: str | None) -> bool:
    if not email:
        return False
    return session.scalar(select(BlockedSender.id).where(
        BlockedSender.email == email.strip().lower())) is not None


def block_sender(session: Session, *, email: str, reason: str, actor: str,
                 now: dt.datetime) -> BlockedSender:
    email = checked_address(email).lower()
    if is_blocked(session, email):
        raise Refused(f"{email} is already blocked")
    row = BlockedSender(email=email, reason=reason.strip()[:2000], blocked_by=actor,
                        created_at=now)
    session.add(row)
    session.flush()
    audit(session, actor=actor, action="sender.block", now=now, email=email, reason=reason)
    return row


def unblock_sender(session: Session, *, email: str, actor: str, now: dt.datetime) -> None:
    row = session.scalars(select(BlockedSender).where(
        BlockedSender.email == email.strip().lower())).first()
    if row is None:
        raise Refused(f"{email} is not blocked")
    session.delete(row)
    audit(session, actor=actor, action="sender.unblock", now=now, email=row.email)
