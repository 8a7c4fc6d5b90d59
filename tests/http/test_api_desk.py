"""Owners, notes and search through the JSON API (the same services as the CLI)."""

from __future__ import annotations

import base64

from sqlalchemy import func, select

from gateway.http.accounts import Role
from tests.http.conftest import USERS
from tests.support import ingest, open_case, post, reply_to
from workflows.storage.models import AuditEvent, OutboundMessage

ANALYST = USERS[Role.ANALYST]


def _outbox_count(desk) -> int:
    with desk.rt.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(OutboundMessage)) or 0


def test_owner_set_and_filters(desk, client):
    """POST …/owner gives the case away; GET /cases?assignee= and ?unassigned=true split the
    queue."""
    mine, free = open_case(desk.rt), open_case(desk.rt, subject="Fax jammed")
    response = client.post(f"/api/v1/cases/{mine}/owner", headers=desk.bearer(),
                           json={"owner": ANALYST})
    assert response.status_code == 200 and response.json() == {"number": mine, "owner": ANALYST}
    listed = client.get("/api/v1/cases", params={"assignee": ANALYST},
                        headers=desk.bearer(Role.ANALYST)).json()["items"]
    waiting = client.get("/api/v1/cases", params={"unassigned": "true"},
                         headers=desk.bearer()).json()["items"]
    assert [(c["number"], c["owner"]) for c in listed] == [(mine, ANALYST)]
    assert [c["number"] for c in waiting] == [free]


def test_unassigning_is_audited_as_the_tokens_user(desk, client):
    """null unassigns; the audit log names who did it."""
    number = open_case(desk.rt)
    client.post(f"/api/v1/cases/{number}/owner", headers=desk.bearer(), json={"owner": ANALYST})
    response = client.post(f"/api/v1/cases/{number}/owner", headers=desk.bearer(Role.ANALYST),
                           json={"owner": None})
    assert response.json()["owner"] is None
    with desk.rt.db.transaction() as s:
        actors = list(s.scalars(select(AuditEvent.actor).where(
            AuditEvent.action == "case.assign").order_by(AuditEvent.id)))
    assert actors == [USERS[Role.ADMIN], ANALYST]


def test_a_scheduler_may_not_own_or_assign(desk, client):
    """Scheduler tokens read cases only; schedulers are not owners (409 says why)."""
    number = open_case(desk.rt)
    as_scheduler = client.post(f"/api/v1/cases/{number}/owner",
                               headers=desk.bearer(Role.SCHEDULER), json={"owner": ANALYST})
    to_scheduler = client.post(f"/api/v1/cases/{number}/owner", headers=desk.bearer(),
                               json={"owner": USERS[Role.SCHEDULER]})
    assert as_scheduler.status_code == 403 and to_scheduler.status_code == 409


def test_an_unknown_assignee_filter_is_a_404(desk, client):
    response = client.get("/api/v1/cases", params={"assignee": "ghost@desk.example"},
                          headers=desk.bearer())
    assert response.status_code == 404


def test_a_note_with_a_file_never_reaches_the_outbox(desk, client):
    """The note is on the case, marked note/internal, its file kept; no mail is queued."""
    number = open_case(desk.rt)
    before = _outbox_count(desk)
    response = client.post(
        f"/api/v1/cases/{number}/notes", headers=desk.bearer(Role.ANALYST),
        json={"body": "Called them; they will send logs.",
              "attachments": [{"filename": "call.txt",
                               "content_base64": base64.b64encode(b"notes").decode()}]})
    assert response.status_code == 201 and response.json()["attachments"] == ["call.txt"]
    assert _outbox_count(desk) == before
    updates = client.get(f"/api/v1/cases/{number}/updates", headers=desk.bearer()).json()
    assert [(u["kind"], u["direction"], u["author"]) for u in updates] == [
        ("note", "internal", ANALYST)]


def test_search_finds_a_word_only_in_a_customer_reply(desk, client):
    """A word of the customer's reply body, and nothing else, finds the case, highlighted."""
    number = open_case(desk.rt)
    sent = post(desk.rt, number)
    ingest(desk.rt, reply_to(sent, sender="alice@acme.example",
                             body="The gearbox is making a xylophone noise."))
    found = client.get("/api/v1/search", params={"q": "xylophone"},
                       headers=desk.bearer(Role.SCHEDULER)).json()
    assert [(h["number"], h["source"]) for h in found["items"]] == [(number, "inbound")]
    assert [f["text"] for f in found["items"][0]["snippet"] if f["hit"]] == ["xylophone"]
    assert found["pagination"]["total"] == 1


def test_search_is_paginated(desk, client):
    """per_page bounds the page; the next page's link is given."""
    for i in range(3):
        open_case(desk.rt, subject=f"Router {i} down")
    first = client.get("/api/v1/search", params={"q": "router", "per_page": 2},
                       headers=desk.bearer()).json()
    assert len(first["items"]) == 2 and first["pagination"]["total"] == 3
    assert first["pagination"]["next"] is not None
    second = client.get(first["pagination"]["next"], headers=desk.bearer()).json()
    assert len(second["items"]) == 1


def test_a_reply_flags_the_owners_case_unread(desk, client):
    """The owner's queue shows which case has a customer reply they have not opened."""
    number = open_case(desk.rt)
    client.post(f"/api/v1/cases/{number}/owner", headers=desk.bearer(), json={"owner": ANALYST})
    ingest(desk.rt, reply_to(post(desk.rt, number), sender="alice@acme.example"))
    listed = client.get("/api/v1/cases", params={"assignee": ANALYST},
                        headers=desk.bearer()).json()["items"]
    assert listed[0]["unread"] is True
