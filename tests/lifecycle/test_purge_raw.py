"""Data we promise to delete is deleted: after the purge no stored row holds a file's bytes
(issue 12). The blobs went already; the raw MIME kept of every mail, in and out, held the same
bytes until now.

Each test reads what is stored — every ``raw`` column, decoded part by part, and every blob
file — for a distinctive byte string, before (it is there) and after the scheduler pass.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
from pathlib import Path

from sqlalchemy import select

from tests.lifecycle.conftest import local, run
from tests.support import close, ingest, new_mail, open_case, post, reply_to
from workflows.cases import service as cases
from workflows.inbound import triage
from workflows.outbound.files import Upload
from workflows.storage.models import InboundMessage, OutboundMessage, TriageItem

CLOSED_AT = local(2026, 3, 2, 12)
FROM_CUSTOMER = b"CUSTOMER-FILE-XYZZY-7f3a9c" * 8
FROM_ANALYST = b"ANALYST-FILE-PLUGH-41d2e0" * 8


def _with_file(raw: bytes, payload: bytes, name: str) -> bytes:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    msg.add_attachment(payload, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


def _decoded(raw: bytes) -> bytes:
    """The raw bytes plus every part's payload with its transfer encoding undone."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return raw + b"".join(p.get_payload(decode=True) or b"" for p in msg.walk()
                          if not p.is_multipart())


def _stored(rt) -> bytes:
    """Everything the gateway keeps of mail: raw columns (decoded) and blob files."""
    with rt.db.transaction() as s:
        raws = [*s.scalars(select(InboundMessage.raw)), *s.scalars(select(OutboundMessage.raw))]
    blobs = [p.read_bytes() for p in Path(rt.settings.blob_dir).rglob("*") if p.is_file()]
    return b"".join(_decoded(bytes(r)) for r in raws) + b"".join(blobs)


def _case_with_files(rt, people) -> str:
    number = open_case(rt)
    sent = post(rt, number)
    reply = _with_file(reply_to(sent, sender=people["alice"]), FROM_CUSTOMER, "dump.bin")
    assert ingest(rt, reply).outcome == "linked"
    with rt.db.transaction() as s:
        out = cases.post_update(s, rt.settings, rt.key, number=number, body="Patched build.",
                                action="propose_solution", now=rt.now(),
                                actor="analyst@desk.example",
                                attachments=[Upload("patch.bin", FROM_ANALYST)])
        out_id = out.id
    rt.send_outbox([out_id])
    return number


def test_a_closed_cases_files_leave_every_stored_row(rt, people, clock):
    """30 days after closing, neither the customer's file (inbound raw) nor the analyst's
    (outbound raw) is stored anywhere; the text of both mails is."""
    number = _case_with_files(rt, people)
    clock.current = CLOSED_AT
    close(rt, number)
    assert FROM_CUSTOMER in _stored(rt) and FROM_ANALYST in _stored(rt)
    report = run(rt, CLOSED_AT + dt.timedelta(days=30, minutes=1))
    stored = _stored(rt)
    assert FROM_CUSTOMER not in stored and FROM_ANALYST not in stored
    assert report.mails_rewritten == 2
    assert b"It is an HP 4000." in stored and b"Patched build." in stored


def test_the_purge_is_recorded_on_the_rows_and_in_the_mail(rt, people, clock):
    """Each mail says its files were removed and when; the row records the purge."""
    number = _case_with_files(rt, people)
    clock.current = CLOSED_AT
    close(rt, number)
    at = CLOSED_AT + dt.timedelta(days=31)
    run(rt, at)
    with rt.db.transaction() as s:
        (inbound,) = [r for r in s.scalars(select(InboundMessage)) if b"dump.bin" in r.raw]
        assert inbound.files_purged_at == at
        assert b"X-Ticketgate-Purged: 1 file(s) removed on 2026-04-02" in inbound.raw
        assert b"dump.bin.purged.txt" in inbound.raw


def test_files_stay_until_the_case_has_been_closed_long_enough(rt, people, clock):
    """Day 29 after closing: the mail is still whole."""
    number = _case_with_files(rt, people)
    clock.current = CLOSED_AT
    close(rt, number)
    run(rt, CLOSED_AT + dt.timedelta(days=29))
    assert FROM_CUSTOMER in _stored(rt) and FROM_ANALYST in _stored(rt)


def test_triage_only_files_follow_their_retention_after_the_item_is_resolved(rt, clock):
    """A stranger's mail never linked to a case: kept while its triage item is pending,
    purged triage_attachment_retention_days after it was discarded."""
    raw = _with_file(new_mail(sender="stranger@nowhere.example"), FROM_CUSTOMER, "x.bin")
    assert ingest(rt, raw).outcome == "triaged"
    run(rt, rt.now() + dt.timedelta(days=40))
    assert FROM_CUSTOMER in _stored(rt)  # pending: an analyst may still link it
    clock.advance(days=40)
    with rt.db.transaction() as s:
        item_id = s.scalars(select(TriageItem.id)).one()
        triage.discard(s, item_id=item_id, actor="analyst@desk.example", now=rt.now())
    run(rt, rt.now() + dt.timedelta(days=29))
    assert FROM_CUSTOMER in _stored(rt)
    run(rt, rt.now() + dt.timedelta(days=30, minutes=1))
    assert FROM_CUSTOMER not in _stored(rt)


def test_triage_retention_is_a_setting(rt, clock):
    """A desk keeping unlinked mail 60 days still has the file on day 31."""
    rt = dataclasses.replace(rt, settings=dataclasses.replace(
        rt.settings, triage_attachment_retention_days=60))
    raw = _with_file(new_mail(sender="stranger@nowhere.example"), FROM_CUSTOMER, "x.bin")
    ingest(rt, raw)
    with rt.db.transaction() as s:
        item_id = s.scalars(select(TriageItem.id)).one()
        triage.discard(s, item_id=item_id, actor="analyst@desk.example", now=rt.now())
    run(rt, rt.now() + dt.timedelta(days=31))
    assert FROM_CUSTOMER in _stored(rt)
    run(rt, rt.now() + dt.timedelta(days=61))
    assert FROM_CUSTOMER not in _stored(rt)
