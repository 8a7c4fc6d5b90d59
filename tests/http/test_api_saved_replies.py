"""Saved replies through the JSON API and the case page's picker (the service of
`ticketgate reply …`)."""

from __future__ import annotations

from gateway.http.accounts import Role
from tests.support import open_case


def test_save_list_fill_and_remove(desk, client):
    number = open_case(desk.rt)
    saved = client.put("/api/v1/saved-replies/need model", headers=desk.bearer(Role.ANALYST),
                       json={"body": "Dear {contact_name}, which model is it ({number})?"})
    assert saved.status_code == 200
    listed = client.get("/api/v1/saved-replies", headers=desk.bearer(Role.SCHEDULER)).json()
    assert [r["name"] for r in listed] == ["need model"]
    got = client.get(f"/api/v1/cases/{number}/saved-replies/need model",
                     headers=desk.bearer(Role.ANALYST)).json()
    assert got["body"] == f"Dear alice, which model is it ({number})?"
    gone = client.delete("/api/v1/saved-replies/need model", headers=desk.bearer())
    assert gone.status_code == 204
    assert client.get("/api/v1/saved-replies", headers=desk.bearer()).json() == []


def test_bad_bodies_and_roles(desk, client):
    typo = client.put("/api/v1/saved-replies/x", headers=desk.bearer(),
                      json={"body": "Hi {contact}"})
    scheduler = client.put("/api/v1/saved-replies/x", headers=desk.bearer(Role.SCHEDULER),
                           json={"body": "Hi"})
    missing = client.get("/api/v1/cases/CASE-1001/saved-replies/nope", headers=desk.bearer())
    assert (typo.status_code, scheduler.status_code, missing.status_code) == (409, 403, 404)
    assert "{contact_name}" in typo.json()["error"]["message"]


def test_the_case_page_picker_fills_the_update_form(desk, admin):
    number = open_case(desk.rt)
    admin.put("/api/v1/saved-replies/thanks", headers=desk.bearer(),
              json={"body": "Thanks {contact_name} & co, about {subject}."})
    page = admin.get(f"/cases/{number}", params={"reply": "thanks"}).text
    assert 'class="inline saved-reply-picker"' in page
    assert "required>Thanks alice &amp; co, about Printer on fire.</textarea>" in page
