"""``ticketgate org show`` and ``org set``: the thin CLI shell over
``workflows.cases.organizations``: its JSON, its exit codes, and nothing changed on an error."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from sqlalchemy import create_engine, text

ADD = ("org", "add", "Globex", "--domain", "globex.example", "--tz", "America/Denver",
       "--country", "us", "--hours", "9:00-17:00", "--workdays", "mon-thu",
       "--closed", "2026-12-24", "--notify", "ops@globex.example")


def show(cli, name="Globex") -> dict:
    done = cli("org", "show", name)
    assert done.code == 0, done.err
    (org,) = done.out
    return org


def test_org_show_prints_every_setting(cli):
    """Domains, zone, country, distribution list and the whole business calendar."""
    assert cli(*ADD).code == 0
    org = show(cli)
    assert {k: org[k] for k in ("name", "domains", "tz", "country", "notify")} == {
        "name": "Globex", "domains": ["globex.example"], "tz": "America/Denver",
        "country": "US", "notify": ["ops@globex.example"]}
    assert org["calendar"] == {"timezone": "America/Denver", "hours": "09:00-17:00",
                               "workdays": "mon,tue,wed,thu", "country": "US",
                               "closed_days": ["2026-12-24"]}


def test_org_show_of_an_unknown_organization_exits_1(cli):
    done = cli("org", "show", "Nobody")
    assert done.code == 1 and "Nobody" in done.err


def test_org_list_prints_the_same_settings_as_org_show(cli):
    assert cli(*ADD).code == 0
    assert cli("org", "list").out == [show(cli)]


def test_org_set_changes_and_prints_what_changed(cli):
    """Add/remove forms for the sets; --notify replaces the distribution list."""
    assert cli(*ADD).code == 0
    done = cli("org", "set", "Globex", "--tz", "Europe/Paris", "--add-domain", "globex.org",
               "--remove-domain", "globex.example", "--add-closed", "2026-12-31",
               "--remove-closed", "2026-12-24", "--notify", "a@globex.org,b@globex.org")
    assert done.code == 0, done.err
    (out,) = done.out
    assert out["changed"]["timezone"] == {"from": "America/Denver", "to": "Europe/Paris"}
    assert out["timers"] == {"examined": 0, "moved": 0, "now_due": 0}
    org = show(cli)
    assert (org["tz"], org["domains"], org["notify"], org["calendar"]["closed_days"]) == (
        "Europe/Paris", ["globex.org"], ["a@globex.org", "b@globex.org"], ["2026-12-31"])


def test_org_set_with_nothing_to_change_exits_2(cli):
    assert cli(*ADD).code == 0
    done = cli("org", "set", "Globex")
    assert done.code == 2 and "nothing to change" in done.err


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--tz", "Mars/Olympus", "unknown time zone"),
    ("--country", "XX", "XX"),
    ("--hours", "18:00-08:00", "business hours"),
    ("--add-closed", "tomorrow", "closed day"),
    ("--notify", "not-an-address", "not a usable email address"),
])
def test_org_set_with_a_bad_value_exits_2_and_changes_nothing(cli, option, value, message):
    assert cli(*ADD).code == 0
    before = show(cli)
    done = cli("org", "set", "Globex", "--add-domain", "globex.org", option, value)
    assert done.code == 2 and message in done.err
    assert show(cli) == before


def test_org_set_removing_a_domain_it_does_not_have_exits_1(cli):
    assert cli(*ADD).code == 0
    done = cli("org", "set", "Globex", "--remove-domain", "globex.invalid")
    assert done.code == 1 and "globex.invalid" in done.err


def test_org_add_with_an_unknown_zone_exits_2_like_org_set(cli):
    done = cli("org", "add", "Nowhere", "--domain", "n.example", "--tz", "Mars/Olympus")
    assert done.code == 2 and "unknown time zone" in done.err
    assert cli("org", "list").out == []


def test_org_set_is_audited_with_the_actor(cli, database_url):
    assert cli(*ADD).code == 0
    assert cli("org", "set", "Globex", "--hours", "08:00-16:00", "--as", "ops@desk.example"
               ).code == 0
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT actor FROM audit_events WHERE action = 'org.update'")).all()
    engine.dispose()
    assert [r.actor for r in rows] == ["ops@desk.example"]


def test_org_set_closing_the_reminder_day_moves_the_pending_reminder(cli, desk):
    """CASE-1001 waits on alice; Acme closes on the day reminder #1 is due: it moves later,
    and case show prints the new due time."""
    assert cli("timers", "run").code == 0  # arm the timers at the real now

    def reminder_due() -> dt.datetime:
        shown = cli("case", "show", "CASE-1001").out[0]
        (line,) = [t for t in shown["timers"] if t["kind"] == "follow_up_1"]
        return dt.datetime.fromisoformat(line["due_at"])

    before = reminder_due()
    day = before.astimezone(zoneinfo.ZoneInfo("Europe/Berlin")).date().isoformat()
    done = cli("org", "set", "Acme", "--add-closed", day)
    assert done.code == 0, done.err
    assert done.out[0]["timers"]["moved"] >= 1
    assert reminder_due() > before


@pytest.mark.parametrize("domain", ["not a domain", "x@y.example", ""])
def test_org_add_with_a_malformed_domain_exits_2_like_org_set(cli, domain):
    done = cli("org", "add", "Nowhere", "--domain", domain, "--tz", "UTC")
    assert done.code == 2 and "not a mail domain" in done.err
    assert cli("org", "list").out == []
