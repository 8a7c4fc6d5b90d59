"""Time in the console (issue 11 §3): a case's times in its organization's zone with UTC on
hover; a notice's start typed in the zone picked (the desk's by default, labelled); the preview
flags a maintenance window inside an organization's business hours."""

from __future__ import annotations

import re

from gateway.http.accounts import Role
from tests.http.conftest import csrf_of, sign_in
from tests.support import open_case

FORM = {"kind": "planned", "title": "Dialer upgrade", "impact": "Dialer down",
        "window": "weekly", "organizations": "Acme"}


def _preview(client, **fields: str) -> str:
    token = csrf_of(client.get("/notices/new").text)
    return client.post("/notices/preview", data={"csrf_token": token, **FORM, **fields},
                       headers={"X-Fragment": "1"}).text


def test_a_case_page_shows_times_in_the_organizations_zone_with_utc_on_hover(desk, client):
    """Acme is in Berlin: opened 12:00 UTC reads 13:00 CET, and the title carries UTC."""
    number = open_case(desk.rt)
    sign_in(client, Role.ANALYST)
    page = client.get(f"/cases/{number}").text
    opened = desk.rt.now()
    utc = f"{opened:%Y-%m-%d %H:%M} UTC"
    match = re.search(r'<time datetime="[^"]+" title="([^"]+)">([^<]+)</time>', page)
    assert match and match.group(1) == utc
    assert match.group(2).endswith(("CET", "CEST"))
    assert "times in Europe/Berlin" in page


def test_the_start_is_labelled_with_the_desks_zone_and_a_zone_can_be_picked(desk, client):
    """Default UTC (desk_timezone), named on the field; the select offers every zone."""
    sign_in(client, Role.SCHEDULER)
    page = client.get("/notices/new").text
    assert 'Starts (<span class="tz-label">UTC</span>)' in page  # the field names its zone
    assert '<option value="Europe/Berlin"' in page and '<option value="Asia/Tokyo"' in page


def test_a_start_typed_in_a_picked_zone_means_that_zone(desk, client):
    """06:00 picked as Europe/Berlin is 05:00 UTC: the preview says so and the draft keeps it."""
    sign_in(client, Role.SCHEDULER)
    fragment = _preview(client, starts_at="2026-03-13T06:00", ends_at="2026-03-13T08:00",
                        time_zone="Europe/Berlin")
    assert "Fri 13 Mar 2026 06:00 CET (Europe/Berlin) = 2026-03-13 05:00 UTC" in fragment
    token = csrf_of(client.get("/notices/new").text)
    saved = client.post("/notices", data={"csrf_token": token, **FORM,
                                          "starts_at": "2026-03-13T06:00",
                                          "ends_at": "2026-03-13T08:00",
                                          "time_zone": "Europe/Berlin"})
    reference = saved.headers["location"].rsplit("/", 1)[1]
    listed = client.get("/api/v1/notices", headers=desk.bearer(Role.SCHEDULER)).json()
    [notice] = [n for n in listed["items"] if n["reference"] == reference]
    assert notice["starts_at"].startswith("2026-03-13T05:00:00")


def test_an_unknown_zone_is_refused_in_words(desk, client):
    sign_in(client, Role.SCHEDULER)
    fragment = _preview(client, starts_at="2026-03-13T06:00", ends_at="2026-03-13T08:00",
                        time_zone="Mars/Olympus")
    assert "Mars/Olympus" in fragment and 'role="alert"' in fragment


def test_a_window_inside_business_hours_is_flagged_in_the_preview(desk, client):
    """09:00-11:00 CET on a Friday is Acme's working morning: flagged, with the overlap."""
    sign_in(client, Role.SCHEDULER)
    fragment = _preview(client, starts_at="2026-03-13T08:00", ends_at="2026-03-13T10:00")
    assert "Acme: the window falls inside business hours (08:00-18:00 mon,tue,wed,thu,fri " \
           "Europe/Berlin): 2 h of the window, from Fri 13 Mar 2026 09:00 CET." in fragment


def test_a_window_outside_business_hours_is_not_flagged(desk, client):
    """06:00-08:00 CET ends as Acme opens: nothing to flag."""
    sign_in(client, Role.SCHEDULER)
    fragment = _preview(client, starts_at="2026-03-13T05:00", ends_at="2026-03-13T07:00")
    assert "business-hours" not in fragment and "Every rule passes." in fragment

