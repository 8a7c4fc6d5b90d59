"""`PATCH /api/v1/cases/{number}` and Cc on the thread, through the JSON API (the services
of `case set` and `case post --cc`)."""

from __future__ import annotations

import email
import email.policy

from sqlalchemy import select

from gateway.http.accounts import Role
from tests.http.conftest import USERS
from tests.support import ingest, open_case, reply_to
from workflows.storage.models import AuditEvent, OutboundMessage

ACCOUNTANT = "accountant@partner.example"


def _post(desk, client, number, **body):
    return client.post(f"/api/v1/cases/{number}/updates", headers=desk.bearer(Role.ANALYST),
                       json={"body": "Which model is it?", **body})


def _sent(desk, message_id):
    with desk.rt.db.transaction() as s:
        row = s.scalars(select(OutboundMessage).where(
            OutboundMessage.message_id == message_id)).one()
        return row.recipients, email.message_from_bytes(row.raw, policy=email.policy.default)


def test_patch_changes_severity_and_is_audited(desk, client):
    number = open_case(desk.rt)
    done = client.patch(f"/api/v1/cases/{number}", headers=desk.bearer(Role.ANALYST),
                        json={"severity": "high", "subject": "Printer on fire, again"})
    assert done.status_code == 200
    assert [(c["field"], c["new"]) for c in done.json()["changes"]] == [
        ("severity", "high"), ("subject", "Printer on fire, again")]
    with desk.rt.db.transaction() as s:
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "case.set"))
        assert event.actor == USERS[Role.ANALYST]


def test_patch_refuses_bad_values(desk, client):
    number = open_case(desk.rt)
    bad = client.patch(f"/api/v1/cases/{number}", headers=desk.bearer(),
                       json={"severity": "urgent"})
    blank = client.patch(f"/api/v1/cases/{number}", headers=desk.bearer(),
                         json={"subject": "   "})
    missing = client.patch("/api/v1/cases/CASE-9999", headers=desk.bearer(),
                           json={"severity": "low"})
    scheduler = client.patch(f"/api/v1/cases/{number}", headers=desk.bearer(Role.SCHEDULER),
                             json={"severity": "low"})
    assert (bad.status_code, blank.status_code, missing.status_code,
            scheduler.status_code) == (422, 422, 404, 403)


def test_cc_is_on_the_sent_mail_and_in_the_envelope(desk, client):
    number = open_case(desk.rt)
    posted = _post(desk, client, number, cc=[ACCOUNTANT])
    assert posted.status_code == 201
    recipients, mail = _sent(desk, posted.json()["message_id"])
    assert str(mail["To"]) == "alice@acme.example" and str(mail["Cc"]) == ACCOUNTANT
    assert recipients == ["alice@acme.example", ACCOUNTANT]


def test_a_later_post_keeps_the_cc(desk, client):
    number = open_case(desk.rt)
    _post(desk, client, number, cc=[ACCOUNTANT])
    later = _post(desk, client, number, body="Any news?")
    _, mail = _sent(desk, later.json()["message_id"])
    assert str(mail["Cc"]) == ACCOUNTANT


def test_a_ccd_stranger_can_reply_only_through_triage(desk, client):
    """The accountant is no contact: their reply with the reference goes to triage."""
    number = open_case(desk.rt)
    posted = _post(desk, client, number, cc=[ACCOUNTANT])
    with desk.rt.db.transaction() as s:
        raw = s.scalars(select(OutboundMessage.raw).where(
            OutboundMessage.message_id == posted.json()["message_id"])).one()
    result = ingest(desk.rt, reply_to(raw, sender=ACCOUNTANT))
    assert (result.outcome, result.reason) == ("triaged", "unauthorized_sender")


def test_a_malformed_cc_is_422_and_sends_nothing(desk, client):
    number = open_case(desk.rt)
    bad = _post(desk, client, number, cc=["not an address"])
    with desk.rt.db.transaction() as s:
        assert s.scalars(select(OutboundMessage)).all() == []
    assert bad.status_code == 422
