"""Roles on triage, as the README says: analysts and admins link, open, reopen, discard and
reply, in the console and through the API; only admins block a sender; schedulers stay out."""

from __future__ import annotations

import httpx
import pytest

from gateway.http.accounts import Role
from tests.http.conftest import csrf_of, sign_in
from tests.support import close, ingest, new_mail, open_case, post, reply_to
from workflows.storage.models import BlockedSender, TriageItem

WORKERS = [Role.ADMIN, Role.ANALYST]
AFTER = {"link": "linked", "open": "opened", "reopen": "reopened", "discard": "discarded",
         "reply": "pending"}  # a reply answers the sender; the item waits on


def _pending_item(rt, action: str) -> tuple[int, dict[str, str]]:
    """A triage item that ``action`` can resolve, and the form/JSON fields it needs."""
    if action == "reopen":
        number = open_case(rt)
        sent = post(rt, number)
        close(rt, number)
        result = ingest(rt, reply_to(sent, sender="alice@acme.example"))
        return _item_of(rt, result.inbound_id), {"case": number}
    if action == "link":
        number = open_case(rt)
        result = ingest(rt, new_mail(sender="alice@acme.example", body="More detail."))
        return _item_of(rt, result.inbound_id), {"case": number}
    result = ingest(rt, new_mail(sender="alice@acme.example", subject="New problem"))
    fields = {"body": "We are on it."} if action == "reply" else {}
    return _item_of(rt, result.inbound_id), fields


def _item_of(rt, inbound_id: int) -> int:
    with rt.db.transaction() as s:
        return s.query(TriageItem).filter_by(inbound_message_id=inbound_id).one().id


def _state(rt, item_id: int) -> str:
    with rt.db.transaction() as s:
        item = s.get(TriageItem, item_id)
        assert item is not None
        return item.state


def _console_act(client: httpx.Client, item_id: int, action: str, fields: dict[str, str]):
    token = csrf_of(client.get(f"/triage/{item_id}").text)
    return client.post(f"/triage/{item_id}/{action}", data={"csrf_token": token, **fields})


def _blocked(rt) -> list[str]:
    with rt.db.transaction() as s:
        return [b.email for b in s.query(BlockedSender)]


@pytest.mark.parametrize("role", WORKERS)
@pytest.mark.parametrize("action", ["link", "open", "reopen", "discard", "reply"])
def test_console_triage_actions_are_open_to_analysts_and_admins(desk, client, role, action):
    """Each triage decision succeeds from the console for both roles that work triage."""
    item_id, fields = _pending_item(desk.rt, action)
    sign_in(client, role)
    response = _console_act(client, item_id, action, fields)
    assert response.status_code == 303
    assert "Not done" not in client.get(response.headers["location"]).text
    assert _state(desk.rt, item_id) == AFTER[action]


@pytest.mark.parametrize("role", WORKERS)
@pytest.mark.parametrize("action", ["link", "open", "reopen", "discard", "reply"])
def test_api_triage_actions_are_open_to_analysts_and_admins(desk, client, role, action):
    """The same decisions through the API with each role's token."""
    item_id, fields = _pending_item(desk.rt, action)
    response = client.post(f"/api/v1/triage/{item_id}/{action}", json=fields,
                           headers=desk.bearer(role))
    assert response.status_code == 200, response.text
    assert response.json()["action"] == action


def test_an_analyst_reads_the_queue_in_the_console_and_the_api(desk, client):
    """The list and the item page open for an analyst (they were admin-only)."""
    ingest(desk.rt, new_mail(sender="dave@else.example", subject="Who do I ask?"))
    sign_in(client, Role.ANALYST)
    assert "Who do I ask?" in client.get("/triage").text
    assert client.get("/triage/1").status_code == 200
    listed = client.get("/api/v1/triage", headers=desk.bearer(Role.ANALYST))
    assert [i["id"] for i in listed.json()["items"]] == [1]


def test_an_analyst_may_not_block_a_sender_in_the_console(desk, client):
    """Blocking is for good and hits every later mail: admins only; the form is not offered."""
    ingest(desk.rt, new_mail(sender="spam@else.example"))
    sign_in(client, Role.ANALYST)
    page = client.get("/triage/1").text
    assert "/triage/1/block" not in page and "/triage/1/discard" in page
    response = client.post("/triage/1/block", data={"csrf_token": csrf_of(page),
                                                     "reason": "spam"})
    assert response.status_code == 403
    assert (_blocked(desk.rt), _state(desk.rt, 1)) == ([], "pending")


def test_an_analyst_may_not_block_a_sender_through_the_api(desk, client):
    """The API refuses with 403 naming the permission; nothing is blocked."""
    ingest(desk.rt, new_mail(sender="spam@else.example"))
    response = client.post("/api/v1/triage/1/block", json={"reason": "spam"},
                           headers=desk.bearer(Role.ANALYST))
    assert response.status_code == 403 and "senders:block" in response.text
    assert (_blocked(desk.rt), _state(desk.rt, 1)) == ([], "pending")


def test_an_admin_blocks_a_sender_in_the_console_and_the_api(desk, client):
    """Both admin paths still block."""
    ingest(desk.rt, new_mail(sender="spam@else.example", message_id="<s1@x>"))
    ingest(desk.rt, new_mail(sender="junk@else.example", message_id="<s2@x>"))
    sign_in(client, Role.ADMIN)
    assert _console_act(client, 1, "block", {"reason": "spam"}).status_code == 303
    assert client.post("/api/v1/triage/2/block", json={"reason": "junk"},
                       headers=desk.bearer(Role.ADMIN)).status_code == 200
    assert sorted(_blocked(desk.rt)) == ["junk@else.example", "spam@else.example"]


def test_a_scheduler_stays_out_of_triage(desk, client):
    """Schedulers send notices; triage is not theirs in either surface."""
    ingest(desk.rt, new_mail(sender="dave@else.example"))
    sign_in(client, Role.SCHEDULER)
    assert client.get("/triage").status_code == 403
    assert client.post("/api/v1/triage/1/discard",
                       headers=desk.bearer(Role.SCHEDULER)).status_code == 403
