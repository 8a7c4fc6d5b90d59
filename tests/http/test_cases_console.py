"""The case pages over HTTP: search, the timeline, and the analyst's actions."""

from __future__ import annotations

from gateway.http.accounts import Role
from tests.http.conftest import csrf_of, sign_in
from tests.support import close, open_case


def _post(client, path: str, **data: str):
    token = csrf_of(client.get("/cases").text)
    return client.post(path, data={"csrf_token": token, **data})


def test_search_finds_a_case_by_number_or_subject(desk, admin):
    open_case(desk.rt, subject="Printer on fire")
    open_case(desk.rt, subject="Phones down")
    by_subject = admin.get("/cases", params={"q": "printer"}).text
    by_number = admin.get("/cases", params={"q": "case-1002"}).text
    assert "Printer on fire" in by_subject and "Phones down" not in by_subject
    assert "Phones down" in by_number and "Printer on fire" not in by_number


def test_request_info_mails_the_contact_and_moves_the_status(desk, client):
    """An analyst's request goes through the state machine: Awaiting Info."""
    number = open_case(desk.rt)
    sign_in(client, Role.ANALYST)
    _post(client, f"/cases/{number}/post", body="Which model is it?", action="request_info")
    page = client.get(f"/cases/{number}").text
    assert 'id="case-status">awaiting_info<' in page and "Which model is it?" in page
    assert list(desk.rt.settings.outbox_dir.glob("*.eml"))


def test_close_then_reopen(desk, admin):
    number = open_case(desk.rt)
    _post(admin, f"/cases/{number}/close", resolution="resolved")
    assert 'id="case-status">closed<' in admin.get(f"/cases/{number}").text
    _post(admin, f"/cases/{number}/reopen")
    assert 'id="case-status">open<' in admin.get(f"/cases/{number}").text


def test_reopen_after_thirty_days_is_refused_with_the_reason(desk, admin, clock):
    """The 30-day rule holds in the console as in the CLI."""
    number = open_case(desk.rt)
    close(desk.rt, number)
    clock.advance(days=31)
    sign_in(admin)
    response = _post(admin, f"/cases/{number}/reopen")
    assert "more than 30 days ago" in admin.get(response.headers["location"]).text


def test_the_case_page_shows_the_sla_clocks(desk, admin):
    """Timers and clocks of the lifecycle are on the page."""
    number = open_case(desk.rt)
    page = admin.get(f"/cases/{number}").text
    assert "<td>response</td>" in page and "<td>resolution</td>" in page


def test_a_scheduler_reads_cases_but_may_not_post(desk, client):
    number = open_case(desk.rt)
    sign_in(client, Role.SCHEDULER)
    assert client.get(f"/cases/{number}").status_code == 200
    assert _post(client, f"/cases/{number}/post", body="hi").status_code == 403


def test_escalating_opens_the_linked_case(desk, admin):
    """Escalation to Technical Support opens TSUP-1001, linked both ways on the page."""
    number = open_case(desk.rt)
    response = _post(admin, f"/cases/{number}/escalate", to="tsup")
    assert response.headers["location"] == "/cases/TSUP-1001"
    assert f'href="/cases/{number}"' in admin.get("/cases/TSUP-1001").text


def test_after_escalating_to_tsup_the_page_offers_only_project_coordination(desk, admin):
    """One open escalation per family: the form no longer offers the one in progress."""
    number = open_case(desk.rt)
    _post(admin, f"/cases/{number}/escalate", to="tsup")
    page = admin.get(f"/cases/{number}").text
    assert 'href="/cases/TSUP-1001"' in page
    assert '<option value="pc">' in page and '<option value="tsup">' not in page
