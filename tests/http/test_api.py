"""The JSON API: bearer tokens scoped by role, clear errors, pagination, the same services."""

from __future__ import annotations

from gateway.http.accounts import Role
from gateway.http.reasons import REASON_TEXT
from tests.support import ingest, new_mail, open_case


def test_a_call_without_a_token_gets_a_json_401(client):
    """Scripts read the reason from the body and the scheme from WWW-Authenticate."""
    response = client.get("/api/v1/cases")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["error"]["message"]


def test_a_token_is_scoped_by_its_users_role(desk, client):
    """A scheduler's token reads cases but may not triage."""
    assert client.get("/api/v1/cases", headers=desk.bearer(Role.SCHEDULER)).status_code == 200
    refused = client.get("/api/v1/triage", headers=desk.bearer(Role.SCHEDULER))
    assert refused.status_code == 403
    assert refused.json()["error"]["message"].startswith("the role scheduler may not")


def test_cookies_do_not_authenticate_the_api(admin):
    """No CSRF surface: a browser session cannot be ridden into an API write."""
    assert admin.post("/api/v1/triage/1/discard").status_code == 401


def test_unknown_case_is_a_404_with_the_reason(desk, client):
    response = client.get("/api/v1/cases/CASE-4242", headers=desk.bearer())
    assert (response.status_code, response.json()) == (
        404, {"error": {"status": 404, "message": "no case CASE-4242"}})


def test_a_domain_refusal_is_a_409(desk, client):
    """Reopening an open case is understood and refused: the message says why."""
    number = open_case(desk.rt)
    response = client.post(f"/api/v1/cases/{number}/reopen", headers=desk.bearer())
    assert response.status_code == 409 and "is not closed" in response.json()["error"]["message"]


def test_a_malformed_body_is_a_422_naming_the_field(desk, client):
    response = client.post("/api/v1/cases/CASE-1001/updates", headers=desk.bearer(),
                           json={"body": "", "action": "shout"})
    message = response.json()["error"]["message"]
    assert response.status_code == 422 and "body" in message and "action" in message


def test_lists_are_paginated_with_a_link_to_the_next_page(desk, client):
    for i in range(3):
        open_case(desk.rt, subject=f"Case {i}")
    first = client.get("/api/v1/cases", params={"per_page": 2}, headers=desk.bearer()).json()
    second = client.get(first["pagination"]["next"], headers=desk.bearer()).json()
    assert first["pagination"]["total"] == 3 and len(first["items"]) == 2
    assert len(second["items"]) == 1 and second["pagination"]["next"] is None


def test_an_update_posted_through_the_api_moves_the_case(desk, client):
    """request_info: mail to the contact and Awaiting Info, as `case post --request-info`."""
    number = open_case(desk.rt)
    response = client.post(f"/api/v1/cases/{number}/updates", headers=desk.bearer(Role.ANALYST),
                           json={"body": "Which model?", "action": "request_info"})
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["sent"]) == ("awaiting_info", True)


def test_a_case_opened_through_the_api_is_numbered(desk, client):
    response = client.post("/api/v1/cases", headers=desk.bearer(Role.ANALYST), json={
        "organization": "Acme", "contact": "alice@acme.example", "subject": "Broken",
        "severity": "high"})
    assert (response.status_code, response.json()["number"]) == (201, "CASE-1001")


def test_triage_through_the_api(desk, client):
    """List, read and link a triaged mail with a token."""
    number = open_case(desk.rt)
    ingest(desk.rt, new_mail(sender="alice@acme.example", body="Here it is."))
    listed = client.get("/api/v1/triage", headers=desk.bearer()).json()
    assert [i["id"] for i in listed["items"]] == [1] and listed["counts"]["new_mail"] == 1
    detail = client.get("/api/v1/triage/1", headers=desk.bearer()).json()
    assert detail["visible_reply"].strip() == "Here it is."
    linked = client.post("/api/v1/triage/1/link", headers=desk.bearer(),
                         json={"case": number}).json()
    assert (linked["case"], linked["action"]) == (number, "link")


def test_directory_lists_organizations_and_contacts(desk, client):
    orgs = client.get("/api/v1/organizations", headers=desk.bearer(Role.SCHEDULER)).json()
    people = client.get("/api/v1/contacts", params={"organization": "Acme"},
                        headers=desk.bearer()).json()
    assert [o["name"] for o in orgs["items"]] == ["Acme", "Globex"]
    assert [c["email"] for c in people["items"]] == ["alice@acme.example", "bob@acme.example"]


def test_the_openapi_document_describes_the_api_only(desk, client):
    """The schema lists /api/v1 routes and the bearer scheme, not the console's pages."""
    schema = client.get("/api/openapi.json", headers=desk.bearer()).json()
    assert all(path.startswith("/api/v1/") for path in schema["paths"])
    assert "/api/v1/triage/{item_id}/link" in schema["paths"]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_a_notice_is_created_and_sent_through_the_api(desk, client):
    """A scheduler's script: create a planned maintenance, read the per-org preview, send."""
    made = client.post("/api/v1/notices", headers=desk.bearer(Role.SCHEDULER), json={
        "kind": "planned", "title": "Dialer upgrade", "impact": "Dialer down",
        "window": "weekly", "starts_at": "2026-03-13T05:00:00Z",
        "ends_at": "2026-03-13T07:00:00Z", "organizations": ["Acme"]})
    reference = made.json()["reference"]
    preview = client.get(f"/api/v1/notices/{reference}/preview",
                         headers=desk.bearer(Role.SCHEDULER)).json()
    sent = client.post(f"/api/v1/notices/{reference}/send", json={},
                       headers=desk.bearer(Role.SCHEDULER)).json()
    assert made.status_code == 201 and [p["organization"] for p in preview] == ["Acme"]
    assert "06:00 CET" in preview[0]["subject"]
    assert (sent["state"], sent["sent"]) == ("active", 1)


def test_a_notice_breaking_a_rule_is_a_409_with_every_reason(desk, client):
    response = client.post("/api/v1/notices", headers=desk.bearer(Role.SCHEDULER), json={
        "kind": "planned", "title": "Too soon", "impact": "x", "window": "weekly",
        "starts_at": "2026-03-03T05:00:00Z", "ends_at": "2026-03-03T07:00:00Z"})
    assert response.status_code == 409 and "lead_time" in response.json()["error"]["message"]


def test_every_triage_reason_is_counted_and_explained(desk, client):
    """An ambiguous sender waits in triage like any other reason: in the counts (0 included)
    and with a why, not a bare reason name."""
    assert client.get("/api/v1/triage", headers=desk.bearer()).json()["counts"] == {
        reason: 0 for reason in REASON_TEXT}
    ingest(desk.rt, new_mail(sender="alice@acme.example, eve@elsewhere.example"))
    listed = client.get("/api/v1/triage", headers=desk.bearer()).json()
    assert listed["counts"]["ambiguous_sender"] == 1
    assert listed["items"][0]["why"] == REASON_TEXT["ambiguous_sender"]


def test_an_unknown_triage_reason_is_a_422_naming_the_reasons(desk, client):
    """?reason=new-mail (a typo) is refused like an unknown case status, not answered with
    an empty queue that reads as "nothing waits"."""
    got = client.get("/api/v1/triage?reason=new-mail", headers=desk.bearer())
    assert got.status_code == 422
    assert "new_mail" in got.json()["error"]["message"]
    assert client.get("/api/v1/triage?reason=new_mail", headers=desk.bearer()).status_code == 200


def test_cases_of_an_unknown_organization_are_a_404(desk, client):
    """?organization=acme (for "Acme") is an error offering the name, as an unknown assignee
    is and as `case list --org` is, not an empty list that reads as "no cases"."""
    got = client.get("/api/v1/cases?organization=acme", headers=desk.bearer())
    assert got.status_code == 404
    assert got.json()["error"]["message"] == "no organization named 'acme' (did you mean 'Acme'?)"
    assert client.get("/api/v1/cases?organization=Acme", headers=desk.bearer()).status_code == 200
