"""The API reads a time without an offset as the CLI and the console do (issue 11 §3): in the
body's ``time_zone``, else the desk's zone (``desk_timezone``); it echoes the instant in UTC and
names the zone it used."""

from __future__ import annotations

from gateway.http.accounts import Role

PLANNED = {"kind": "planned", "title": "Dialer upgrade", "impact": "Dialer down",
           "window": "weekly", "organizations": ["Acme"]}


def _create(desk, client, **times):
    return client.post("/api/v1/notices", headers=desk.bearer(Role.SCHEDULER),
                       json={**PLANNED, **times})


def test_a_time_without_an_offset_is_the_desks_zone_utc_by_default(desk, client):
    made = _create(desk, client, starts_at="2026-03-13T05:00", ends_at="2026-03-13T07:00")
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["starts_at"], body["times_read_in"]) == ("2026-03-13T05:00:00Z", "UTC")


def test_the_body_may_name_the_zone_its_times_are_in(desk, client):
    """A Berlin scheduler types 06:00 Berlin time: 05:00 UTC."""
    made = _create(desk, client, starts_at="2026-03-13T06:00", ends_at="2026-03-13T08:00",
                   time_zone="Europe/Berlin")
    body = made.json()
    assert (body["starts_at"], body["times_read_in"]) == ("2026-03-13T05:00:00Z",
                                                         "Europe/Berlin")


def test_an_offset_is_that_instant_whatever_the_zone(desk, client):
    made = _create(desk, client, starts_at="2026-03-12T22:00-07:00",
                   ends_at="2026-03-13T07:00Z", time_zone="Europe/Berlin")
    assert made.json()["starts_at"] == "2026-03-13T05:00:00Z"


def test_an_unknown_zone_is_a_422_naming_it(desk, client):
    made = _create(desk, client, starts_at="2026-03-13T05:00", ends_at="2026-03-13T07:00",
                   time_zone="Mars/Olympus")
    assert made.status_code == 422 and "Mars/Olympus" in made.json()["error"]["message"]


def test_a_year_out_of_range_is_a_422_not_a_500(desk, client):
    """Year 1 parsed, then the blackout check overflowed datetime: "internal error"."""
    made = _create(desk, client, starts_at="0001-01-01T00:00", ends_at="0001-01-01T03:00")
    assert made.status_code == 422, made.text
    assert "starts_at" in made.json()["error"]["message"]


def test_the_schema_documents_the_zone(desk, client):
    """OpenAPI readers learn what a time without an offset means."""
    schema = client.get("/api/openapi.json", headers=desk.bearer()).json()[
        "components"]["schemas"]["NewNotice"]
    assert "desk_timezone" in schema["properties"]["starts_at"]["description"]
    assert "desk_timezone" in schema["properties"]["time_zone"]["description"]
