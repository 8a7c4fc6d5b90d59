"""The case page's severity/type/subject form and Cc field over HTTP (the services of
`case set` and `case post --cc`)."""

from __future__ import annotations

from sqlalchemy import select

from gateway.http.accounts import Role
from tests.http.conftest import csrf_of, sign_in
from tests.support import open_case
from workflows.storage.models import Case, OutboundMessage


def _post(client, path: str, **data: str):
    token = csrf_of(client.get("/cases").text)
    return client.post(path, data={"csrf_token": token, **data})


def test_the_fields_form_changes_severity(desk, client):
    number = open_case(desk.rt)
    sign_in(client, Role.ANALYST)
    done = _post(client, f"/cases/{number}/fields", severity="critical",
                 case_type="support", subject="Printer on fire")
    assert done.status_code == 303
    with desk.rt.db.transaction() as s:
        assert s.scalars(select(Case.severity).where(Case.number == number)).one() == "critical"
    assert "severity medium → critical" in client.get(f"/cases/{number}").text


def test_the_cc_field_copies_the_post(desk, client):
    number = open_case(desk.rt)
    sign_in(client, Role.ANALYST)
    _post(client, f"/cases/{number}/post", body="Copying you.", action="post",
          cc="finance@acme.example; boss@acme.example")
    with desk.rt.db.transaction() as s:
        (recipients,) = s.scalars(select(OutboundMessage.recipients))
    assert recipients == ["alice@acme.example", "boss@acme.example", "finance@acme.example"]
    assert "now: boss@acme.example, finance@acme.example" in client.get(f"/cases/{number}").text
