"""PATCH /api/v1/organizations/{name}: the same service as ``org set``, admins only."""

from __future__ import annotations

from sqlalchemy import select

from gateway.http.accounts import Role
from workflows.storage.models import AuditEvent


def _patch(desk, client, name: str, role: Role = Role.ADMIN, **body):
    return client.patch(f"/api/v1/organizations/{name}", headers=desk.bearer(role), json=body)


def test_an_admin_changes_the_zone_and_the_list(desk, client):
    response = _patch(desk, client, "Acme", timezone="America/New_York",
                      add_notify=["watch@acme.example"])
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["organization"]["timezone"], result["organization"]["notify"][-1]) == (
        "America/New_York", "watch@acme.example")
    assert {c["field"] for c in result["changes"]} == {"timezone", "notify"}


def test_the_change_is_audited_under_the_token_owner(desk, client):
    _patch(desk, client, "Acme", hours="09:00-17:00")
    with desk.rt.db.transaction() as s:
        actors = list(s.scalars(select(AuditEvent.actor)
                                .where(AuditEvent.action == "org.update")))
    assert actors == ["admin@desk.example"]


def test_an_unknown_zone_is_422_and_changes_nothing(desk, client):
    response = _patch(desk, client, "Acme", timezone="Mars/Olympus", hours="09:00-17:00")
    assert response.status_code == 422
    assert "Mars/Olympus" in response.json()["error"]["message"]
    listing = client.get("/api/v1/organizations", headers=desk.bearer()).json()
    assert next(o for o in listing["items"] if o["name"] == "Acme")["timezone"] == \
        "Europe/Berlin"


def test_an_unknown_organization_is_404(desk, client):
    assert _patch(desk, client, "Initech", hours="09:00-17:00").status_code == 404


def test_an_analyst_may_read_but_not_change_organizations(desk, client):
    response = _patch(desk, client, "Acme", Role.ANALYST, hours="09:00-17:00")
    assert response.status_code == 403
    assert "directory:write" in response.json()["error"]["message"]
