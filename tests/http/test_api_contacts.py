"""Contacts through the JSON API: the services of `ticketgate contact list|set|remove`."""

from __future__ import annotations

from sqlalchemy import select

from gateway.http.accounts import Role
from tests.http.conftest import USERS
from tests.support import ingest, open_case, post, reply_to
from workflows.storage.models import AuditEvent

BOB = "bob@acme.example"


def test_list_shows_designated_count_and_the_minimum(desk, client):
    """Acme: alice designated, bob not: below the guides' two."""
    got = client.get("/api/v1/organizations/Acme/contacts", headers=desk.bearer(Role.ANALYST))
    body = got.json()
    assert got.status_code == 200
    assert [(c["email"], c["designated"]) for c in body["contacts"]] == [
        ("alice@acme.example", True), (BOB, False)]
    assert body["designated"] == 1 and body["below_minimum"] is True


def test_put_designates_and_is_audited_as_the_tokens_user(desk, client):
    done = client.put(f"/api/v1/contacts/{BOB}", headers=desk.bearer(),
                      json={"designated": True})
    assert done.status_code == 200 and done.json()["contact"]["designated"] is True
    assert done.json()["warnings"] == []  # two designated now
    with desk.rt.db.transaction() as s:
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "contact.set"))
        assert event.actor == USERS[Role.ADMIN]


def test_put_warns_about_a_foreign_domain(desk, client):
    done = client.put("/api/v1/contacts/dave@contractor.example", headers=desk.bearer(),
                      json={"organization": "Acme", "name": "Dave"})
    body = done.json()
    assert done.status_code == 200 and body["created"] is True
    assert body["contact"]["foreign_domain"] is True
    assert any("contractor.example" in w for w in body["warnings"])


def test_delete_makes_the_next_reply_unauthorized(desk, client):
    """Removed over the API: alice's reply with a valid reference goes to triage."""
    number = open_case(desk.rt)
    sent = post(desk.rt, number)
    gone = client.delete("/api/v1/contacts/alice@acme.example", headers=desk.bearer())
    assert gone.status_code == 200 and gone.json()["contact"]["removed_at"]
    result = ingest(desk.rt, reply_to(sent, sender="alice@acme.example"))
    assert result.reason == "unauthorized_sender"


def test_an_analyst_may_not_change_contacts(desk, client):
    done = client.put(f"/api/v1/contacts/{BOB}", headers=desk.bearer(Role.ANALYST),
                      json={"designated": True})
    assert done.status_code == 403


def test_unknown_organization_and_bad_bodies_are_4xx(desk, client):
    missing = client.get("/api/v1/organizations/Nope/contacts", headers=desk.bearer())
    no_org = client.put("/api/v1/contacts/new@acme.example", headers=desk.bearer(), json={})
    bad = client.put(f"/api/v1/contacts/{BOB}", headers=desk.bearer(),
                     json={"designated": "perhaps"})
    malformed = client.put("/api/v1/contacts/not%20an%20address", headers=desk.bearer(),
                           json={"organization": "Acme"})
    assert (missing.status_code, no_org.status_code, bad.status_code,
            malformed.status_code) == (404, 404, 422, 422)
