"""The case list's columns (waiting on, next SLA deadline) and its sort orders, in the console
and the API (one query: gateway.http.queries.case_page)."""

from __future__ import annotations

import datetime as dt
import re

from tests.support import open_case, post
from workflows.domain import Severity

ROW = re.compile(r'data-number="([^"]+)"')


def _numbers(html: str) -> list[str]:
    return ROW.findall(html)


def test_waiting_on_follows_the_status(desk, client):
    ours = open_case(desk.rt, subject="Ours")
    theirs = open_case(desk.rt, subject="Theirs")
    post(desk.rt, theirs)  # request info: awaiting the customer
    items = {c["number"]: c for c in
             client.get("/api/v1/cases", headers=desk.bearer()).json()["items"]}
    assert (items[ours]["waiting_on"], items[theirs]["waiting_on"]) == ("us", "customer")


def test_the_next_deadline_is_the_running_clocks(desk, client):
    """A Critical case is due long before a Low one (24 h vs 10 business days)."""
    low = open_case(desk.rt, severity=Severity.LOW)
    critical = open_case(desk.rt, severity=Severity.CRITICAL)
    items = {c["number"]: c for c in
             client.get("/api/v1/cases", headers=desk.bearer()).json()["items"]}
    assert items[critical]["next_deadline"] < items[low]["next_deadline"]


def test_sort_by_severity_and_reverse(desk, admin):
    low = open_case(desk.rt, severity=Severity.LOW)
    high = open_case(desk.rt, severity=Severity.HIGH)
    medium = open_case(desk.rt, severity=Severity.MEDIUM)
    assert _numbers(admin.get("/cases", params={"sort": "severity"}).text) == [
        high, medium, low]
    assert _numbers(admin.get("/cases", params={"sort": "-severity"}).text) == [
        low, medium, high]


def test_the_console_shows_the_columns_and_sort_links(desk, admin):
    open_case(desk.rt)
    html = admin.get("/cases").text
    assert 'data-sort="deadline"' in html and 'class="waiting-on">us<' in html


def test_an_unknown_sort_falls_back_to_newest_activity(desk, admin, clock):
    first, second = open_case(desk.rt), open_case(desk.rt)
    clock.current += dt.timedelta(minutes=5)
    post(desk.rt, first, action=None)  # newer activity than the second case
    assert _numbers(admin.get("/cases", params={"sort": "bogus"}).text) == [first, second]


def test_the_api_refuses_a_status_or_order_it_does_not_know(desk, client):
    """A 422 naming the parameter, not a 200 with an empty list or the default order."""
    for query in ("status=nope", "sort=bogus", "sort=--number"):
        response = client.get(f"/api/v1/cases?{query}", headers=desk.bearer())
        assert response.status_code == 422, query
        assert query.split("=")[0] in response.json()["error"]["message"]
    for query in ("status=awaiting_info", "sort=-deadline", "sort="):
        assert client.get(f"/api/v1/cases?{query}", headers=desk.bearer()).status_code == 200
