"""Closed cases: reopen within 30 days only (also from triage); attachments purged after 30."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy

import pytest
from sqlalchemy import select

from tests.lifecycle.conftest import case_row, local, run
from tests.support import close, ingest, open_case, post, reply_to
from workflows.cases import service as cases
from workflows.errors import Refused
from workflows.inbound import triage
from workflows.storage.blobs import blob_path
from workflows.storage.models import Attachment, CaseUpdate, TriageItem

CLOSED_AT = local(2026, 3, 2, 12)


def with_attachment(raw: bytes, payload: bytes, name: str = "printer.log") -> bytes:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    msg.add_attachment(payload, maintype="text", subtype="plain", filename=name)
    return msg.as_bytes()


def attach(rt, people, number: str, payload: bytes, sender: str = "alice",
           message_id: str = "<reply-att@client.example>") -> None:
    sent = post(rt, number)
    raw = with_attachment(reply_to(sent, sender=people[sender], message_id=message_id), payload)
    assert ingest(rt, raw).outcome == "linked"


def attachment_rows(rt) -> list[Attachment]:
    with rt.db.transaction() as s:
        return list(s.scalars(select(Attachment).order_by(Attachment.id)))


def test_triage_reopen_within_30_days_reopens(rt, people, clock):
    """A reopen request from triage inside the window reopens the case."""
    number = open_case(rt)
    sent = post(rt, number, action=None)
    clock.current = CLOSED_AT
    close(rt, number)
    clock.current = CLOSED_AT + dt.timedelta(days=29)
    result = ingest(rt, reply_to(sent, sender=people["alice"], body="Still broken."))
    assert result.reason == "reopen_request"
    with rt.db.transaction() as s:
        item = s.scalars(select(TriageItem)).one()
        case = triage.reopen(s, rt.settings, rt.key, item_id=item.id, number=None,
                             actor="admin", now=rt.now())
        assert case.status == "open"


def test_triage_reopen_after_30_days_is_refused(rt, people, clock):
    """After 30 days a new case is needed: the admin's reopen says so and changes nothing."""
    number = open_case(rt)
    sent = post(rt, number, action=None)
    clock.current = CLOSED_AT
    close(rt, number)
    clock.current = CLOSED_AT + dt.timedelta(days=31)
    assert ingest(rt, reply_to(sent, sender=people["alice"])).reason == "closed_too_long"
    with rt.db.transaction() as s:
        item_id = s.scalars(select(TriageItem.id)).one()
    with rt.db.transaction() as s, pytest.raises(Refused, match="more than 30 days ago"):
        triage.reopen(s, rt.settings, rt.key, item_id=item_id, number=number, actor="admin",
                      now=rt.now())
    assert case_row(rt, number).status == "closed"


def test_case_reopen_after_30_days_is_refused(rt, people, clock):
    """`case reopen` gives the same answer as triage."""
    number = open_case(rt)
    clock.current = CLOSED_AT
    close(rt, number)
    clock.current = CLOSED_AT + dt.timedelta(days=30, minutes=1)
    with rt.db.transaction() as s, pytest.raises(Refused, match="open a new case"):
        cases.reopen_case(s, number=number, reopen_days=30, now=rt.now(), actor="test")


def test_attachments_are_purged_30_days_after_closing(rt, people, clock):
    """The blob goes, the row stays (marked purged, with when); the updates stay too."""
    number = open_case(rt)
    attach(rt, people, number, b"paper jam at 10:02\n")
    clock.current = CLOSED_AT
    close(rt, number)
    (row,) = attachment_rows(rt)
    blob = blob_path(rt.settings.blob_dir, row.sha256)
    assert blob.exists()
    run(rt, CLOSED_AT + dt.timedelta(days=30, minutes=-1))
    assert blob.exists() and attachment_rows(rt)[0].purged_at is None
    report = run(rt, CLOSED_AT + dt.timedelta(days=30, minutes=1))
    (row,) = attachment_rows(rt)
    assert not blob.exists()
    assert row.purged_at == CLOSED_AT + dt.timedelta(days=30, minutes=1)
    assert (row.filename, row.size) == ("printer.log", len(b"paper jam at 10:02\n"))
    assert [p.case_number for p in report.purged] == [number]
    with rt.db.transaction() as s:
        texts = [u.visible_text for u in s.scalars(select(CaseUpdate))]
    assert any("HP 4000" in t for t in texts)


def test_a_blob_another_case_still_needs_is_kept(rt, people, clock):
    """The same file on an open case keeps the shared blob; only the closed case's row is
    marked purged."""
    first = open_case(rt)
    attach(rt, people, first, b"same bytes\n")
    second = open_case(rt, subject="Second")
    attach(rt, people, second, b"same bytes\n", message_id="<reply-att-2@client.example>")
    clock.current = CLOSED_AT
    close(rt, first)
    run(rt, CLOSED_AT + dt.timedelta(days=31))
    rows = attachment_rows(rt)
    assert [r.purged_at is not None for r in rows] == [True, False]
    assert blob_path(rt.settings.blob_dir, rows[0].sha256).exists()


def test_purge_waits_for_the_configured_days(rt, people, clock):
    """purge_after_days is a setting: a desk keeping files 60 days keeps them on day 31."""
    rt = dataclasses.replace(rt, settings=dataclasses.replace(rt.settings,
                                                              purge_after_days=60))
    number = open_case(rt)
    attach(rt, people, number, b"kept longer\n")
    clock.current = CLOSED_AT
    close(rt, number)
    run(rt, CLOSED_AT + dt.timedelta(days=31))
    assert attachment_rows(rt)[0].purged_at is None


def test_the_closed_too_long_reply_names_the_closing_day_in_the_organizations_zone(
        rt, people, clock):
    """Closed at 00:30 in Berlin (23:30 UTC the day before): Acme reads its own date."""
    from tests.lifecycle.conftest import body, mails

    number = open_case(rt)
    sent = post(rt, number)
    clock.current = local(2026, 3, 3, 0, 30)
    close(rt, number)
    clock.current += dt.timedelta(days=31)
    ingest(rt, reply_to(sent, sender=people["alice"]))
    [told] = mails(rt, "closed_too_long")
    assert "was closed on 2026-03-03 (Europe/Berlin)" in body(told.raw)
