"""Console lists read in the desk's zone (``desk_timezone``): the zone a time typed in the
console is read in, so a list shows a notice typed for 09:00 as 09:00 and a case updated at
12:00 UTC as 13:00 CET, with UTC on hover. A case page keeps its organization's zone."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from gateway.http.accounts import Role
from tests.http.conftest import sign_in
from tests.support import open_case
from workflows.notices import service
from workflows.notices.model import NoticeKind, NoticeRequest
from workflows.settings import Settings

_TIME = re.compile(r'<time datetime="[^"]+" title="([^"]+)">([^<]+)</time>')


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, desk_timezone="Asia/Tokyo")


def test_the_case_list_shows_times_in_the_desks_zone_with_utc_on_hover(desk, client):
    open_case(desk.rt)
    sign_in(client, Role.ANALYST)
    page = client.get("/cases").text
    utc = f"{desk.rt.now():%Y-%m-%d %H:%M} UTC"
    times = _TIME.findall(page)
    assert times and all(shown.endswith(" JST") for _title, shown in times)
    assert (utc, f"{desk.rt.now() + dt.timedelta(hours=9):%Y-%m-%d %H:%M} JST") in times


def test_the_notice_list_reads_a_window_in_the_desks_zone_and_says_so(desk, client):
    """An incident that started at 11:50 UTC lists as 20:50 JST under "Window (Asia/Tokyo)"."""
    started = desk.rt.now() - dt.timedelta(minutes=10)
    with desk.rt.db.transaction() as s:
        service.create_notice(s, desk.rt.settings, NoticeRequest(
            NoticeKind.INCIDENT, title="Calls failing", impact="Inbound calls fail",
            starts_at=started), now=desk.rt.now(), actor="test")
    sign_in(client, Role.SCHEDULER)
    page = client.get("/notices").text
    assert "<th>Window (Asia/Tokyo)</th>" in page
    assert (f"{started:%Y-%m-%d %H:%M} UTC",
            f"{started + dt.timedelta(hours=9):%Y-%m-%d %H:%M} JST") in _TIME.findall(page)


def test_a_case_page_keeps_its_organizations_zone(desk, client):
    """Acme is in Berlin: its case page reads CET/CEST whatever the desk's zone."""
    number = open_case(desk.rt)
    sign_in(client, Role.ANALYST)
    shown = [s for _title, s in _TIME.findall(client.get(f"/cases/{number}").text)]
    assert shown and all(s.endswith(("CET", "CEST")) for s in shown)
