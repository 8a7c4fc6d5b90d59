"""Loop protection with the database: what the snapshot counts, in and across batches, and
that a held mail is an ordinary triage item. (The whole ping-pong through ``serve``:
``tests/gateway/test_serve_ticket_pingpong.py``.)"""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from tests.support import ingest, new_mail, open_case
from workflows.domain import OutboundKind
from workflows.inbound import triage
from workflows.inbound.intake import Envelope, accept_many
from workflows.inbound.process import process_batch
from workflows.runtime import Runtime
from workflows.storage.models import OutboundMessage, TriageItem

NEW = "new@desk.example"  # policy open_case (tests.conftest.MAILBOXES)


def _limited(rt: Runtime, limit: int) -> Runtime:
    return dataclasses.replace(rt, settings=dataclasses.replace(
        rt.settings, new_cases_per_sender=limit))


def _issue(sender: str, k: int) -> bytes:
    return new_mail(sender=sender, to=NEW, subject=f"Issue {k}", body=f"Problem number {k}.",
                    message_id=f"<issue-{k}@acme.example>")


def _acks(rt: Runtime) -> int:
    with rt.db.transaction() as s:
        return len(s.scalars(select(OutboundMessage.id).where(
            OutboundMessage.kind == OutboundKind.NEW_CASE_ACK.value)).all())


def test_three_new_issues_in_an_hour_open_three_cases(rt, people, clock):
    """A customer reporting each issue separately (PureEngage 4.2) is no flood."""
    reasons = []
    for k in range(3):
        reasons.append(ingest(rt, _issue(people["alice"], k), mailbox=NEW).reason)
        clock.advance(minutes=20)
    assert reasons == ["new_case"] * 3


def test_one_acknowledgement_per_sender_per_window(rt, people, clock):
    """A second case a minute later is not acknowledged; one past the window is."""
    ingest(rt, _issue(people["alice"], 1), mailbox=NEW)
    clock.advance(minutes=1)
    assert ingest(rt, _issue(people["alice"], 2), mailbox=NEW).reason == "new_case"
    assert _acks(rt) == 1
    clock.advance(minutes=10)
    ingest(rt, _issue(people["alice"], 3), mailbox=NEW)
    assert _acks(rt) == 2


def test_past_the_limit_new_mail_waits_in_triage(rt, people):
    limited = _limited(rt, 2)
    results = [ingest(limited, _issue(people["alice"], k), mailbox=NEW) for k in range(3)]
    assert [(r.outcome, r.reason) for r in results] == [
        ("linked", "new_case"), ("linked", "new_case"), ("triaged", "new_case_flood")]


def test_another_senders_cases_do_not_count(rt, people):
    """The limit is per sender: Carol's case leaves Alice's count alone."""
    limited = _limited(rt, 1)
    ingest(limited, _issue(people["carol"], 1), mailbox=NEW)
    assert ingest(limited, _issue(people["alice"], 2), mailbox=NEW).reason == "new_case"


def test_cases_an_analyst_opened_do_not_count(rt, people):
    """Only cases the sender's own new mail opened are counted."""
    limited = _limited(rt, 1)
    open_case(limited, people["alice"])
    assert ingest(limited, _issue(people["alice"], 1), mailbox=NEW).reason == "new_case"


def test_cases_older_than_the_window_do_not_count(rt, people, clock):
    limited = _limited(rt, 1)
    ingest(limited, _issue(people["alice"], 1), mailbox=NEW)
    clock.advance(hours=24, seconds=1)
    assert ingest(limited, _issue(people["alice"], 2), mailbox=NEW).reason == "new_case"


def test_a_batch_counts_the_cases_its_own_mail_opened(rt, people):
    """One transaction for the batch (the fast path, inbound rows written at its end): the
    third mail still sees the two cases the first two opened, and only one is acknowledged."""
    limited = _limited(rt, 2)
    accepted = accept_many(rt.db, [(_issue(people["alice"], k),
                                    Envelope(mailbox=NEW, rcpt_tos=(NEW,))) for k in range(3)],
                           now=rt.now())
    results = process_batch(limited, [a.inbound_id for a in accepted])
    assert [r.reason for r in results] == ["new_case", "new_case", "new_case_flood"]
    assert _acks(rt) == 1


@pytest.fixture
def held(rt: Runtime, people: dict[str, str]) -> tuple[Runtime, int]:
    """A flood item: Alice's second new mail, past a limit of one."""
    limited = _limited(rt, 1)
    ingest(limited, _issue(people["alice"], 1), mailbox=NEW)
    ingest(limited, _issue(people["alice"], 2), mailbox=NEW)
    with rt.db.transaction() as s:
        item = s.scalars(select(TriageItem).where(TriageItem.reason == "new_case_flood")).one()
        return limited, item.id


def test_a_held_mail_can_be_opened_as_a_case(held):
    """A person did write it: the analyst opens it, as any triage item."""
    rt, item_id = held
    with rt.db.transaction() as s:
        case = triage.open_for_sender(s, rt.settings, rt.key, item_id=item_id,
                                      actor="analyst@desk.example", now=rt.now())
        assert (case.number, case.subject) == ("CASE-1002", "Issue 2")


def test_a_held_mail_can_be_linked_to_the_suggested_case(held):
    rt, item_id = held
    with rt.db.transaction() as s:
        item = s.get(TriageItem, item_id)
        assert item is not None and item.suggested_case_id is not None
        case = triage.link(s, rt.settings, rt.key, item_id=item_id, number="CASE-1001",
                           actor="analyst@desk.example", now=rt.now())
        assert case.id == item.suggested_case_id
