"""Acknowledgement and "case closed" mail through the JSON API, on a desk whose triage mailbox
has `acknowledge` and `notify_closed` (the same services as the CLI and the console)."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from gateway.http.accounts import Role
from tests.support import ingest, new_mail, open_case
from workflows.settings import Mailbox
from workflows.storage.models import OutboundMessage, TriageItem


@pytest.fixture
def settings(settings):
    first = dataclasses.replace(settings.mailboxes[0], acknowledge=True, notify_closed=True)
    boxes: tuple[Mailbox, ...] = (first, *settings.mailboxes[1:])
    return dataclasses.replace(settings, mailboxes=boxes)


def _mail(desk, kind: str) -> list[OutboundMessage]:
    with desk.rt.db.transaction() as s:
        return list(s.scalars(select(OutboundMessage).where(OutboundMessage.kind == kind)))


def test_triage_open_acknowledges_and_sends(desk, client):
    ingest(desk.rt, new_mail(sender="alice@acme.example", subject="Scanner"))
    with desk.rt.db.transaction() as s:
        item_id = s.scalars(select(TriageItem.id)).one()
    opened = client.post(f"/api/v1/triage/{item_id}/open", headers=desk.bearer(Role.ANALYST))
    assert opened.status_code == 200
    (ack,) = _mail(desk, "new_case_ack")
    assert ack.status == "sent" and ack.recipients == ["alice@acme.example"]
    assert ack.subject.startswith(f"Case {opened.json()['case']} opened: Scanner [ref:")


def test_close_mails_the_contact(desk, client):
    number = open_case(desk.rt)
    closed = client.post(f"/api/v1/cases/{number}/close", headers=desk.bearer(),
                         json={"cancelled": True})
    assert closed.status_code == 200
    (mail,) = _mail(desk, "case_closed")
    assert mail.status == "sent" and b"as cancelled" in mail.raw
