"""The lifecycle commands: timers run, case show's timers and clocks, org calendars,
case escalate, sla report, and the reopen window's message."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine, update

from workflows.storage.models import Case


def later(days: int) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat(timespec="seconds")


def _job(out: dict, name: str) -> dict:
    (job,) = [j for j in out["jobs"] if j["name"] == name]
    return job


def test_timers_run_prints_what_it_did(cli, desk):
    """An operator runs a pass as of a time and reads, as JSON, what each job did."""
    done = cli("timers", "run", "--at", later(40))
    assert done.code == 0, done.err
    follow_ups = _job(done.out[0], "follow-ups")
    fired = {(f["case"], f["kind"]): f["outcome"] for f in follow_ups["report"]["fired"]}
    assert fired[("CASE-1001", "follow_up_close")] == "closed"
    assert follow_ups["report"]["outcomes"]["closed"] == 1
    assert "CASE-1001 follow_up_close: closed" in follow_ups["done"]
    assert cli("case", "show", "CASE-1001").out[0]["status"] == "closed"


def test_timers_run_dry_run_changes_nothing(cli, desk):
    """--dry-run lists what would fire, per job, and leaves the case waiting."""
    done = cli("timers", "run", "--at", later(40), "--dry-run")
    fired = _job(done.out[0], "follow-ups")["report"]["fired"]
    assert "follow_up_close" in {f["kind"] for f in fired if f["case"] == "CASE-1001"}
    assert {f["outcome"] for f in fired} == {"due"}
    assert cli("case", "show", "CASE-1001").out[0]["status"] == "awaiting_info"


def test_timers_run_refuses_a_bad_time(cli, desk):
    """A typo in --at is an argument error, not a pass at some other time."""
    done = cli("timers", "run", "--at", "next tuesday")
    assert done.code == 2 and "--at" in done.err


def test_case_show_lists_timers_and_clocks(cli, desk):
    """case show: the pending follow-ups with their due times, and both SLA clocks."""
    shown = cli("case", "show", "CASE-1001").out[0]
    coming = {t["kind"]: t["state"] for t in shown["timers"] if t["state"] in ("pending",
                                                                            "planned")}
    assert coming == {"follow_up_1": "pending", "follow_up_2": "planned",
                      "follow_up_close": "planned"}
    assert all(t["due_at"] for t in shown["timers"] if t["state"] in ("pending", "planned"))
    clocks = {c["name"]: c for c in shown["clocks"]}
    assert (clocks["response"]["state"], clocks["resolution"]["state"]) == ("stopped", "paused")
    assert clocks["resolution"]["target"] == "2bd"


def test_org_add_with_a_business_calendar(cli):
    """Hours, workdays and closed days are stored with the organization and echoed back."""
    done = cli("org", "add", "Globex", "--domain", "globex.example", "--tz", "America/Denver",
               "--country", "us", "--hours", "9:00-17:00", "--workdays", "mon-thu",
               "--closed", "2026-12-24", "--closed", "2026-12-31")
    assert done.code == 0, done.err
    assert done.out[0]["calendar"] == {
        "timezone": "America/Denver", "hours": "09:00-17:00", "workdays": "mon,tue,wed,thu",
        "country": "US", "closed_days": ["2026-12-24", "2026-12-31"]}


def test_org_add_with_bad_hours_adds_nothing(cli):
    """A wrong calendar is an argument error and leaves no half-configured organization."""
    done = cli("org", "add", "Globex", "--domain", "globex.example", "--tz", "UTC",
               "--hours", "18:00-08:00")
    assert done.code == 2 and "business hours" in done.err
    assert cli("org", "list").out == []


def test_org_add_with_an_unknown_country_is_refused(cli):
    """Without known public holidays the desk would count them as business days."""
    done = cli("org", "add", "Nowhere", "--domain", "n.example", "--tz", "UTC",
               "--country", "XX")
    assert done.code == 2 and "XX" in done.err


def test_case_escalate_opens_the_linked_case(cli, desk):
    """case escalate --to TSUP prints both numbers and tells the contact."""
    done = cli("case", "escalate", "CASE-1001", "--to", "TSUP")
    assert done.code == 0, done.err
    assert (done.out[0]["linked"], done.out[0]["contact_told"]) == ("TSUP-1001", True)
    assert done.out[0]["case"]["linked_case"] == "CASE-1001"
    assert cli("case", "show", "CASE-1001").out[0]["linked_case"] == "TSUP-1001"


def test_sla_report_prints_the_share_within_target(cli, desk):
    """A case resolved at once is within target: 100%, above the desks' 80% goal."""
    before = dt.datetime.now(dt.UTC).date().isoformat()
    cli("case", "close", "CASE-1001")
    after = dt.datetime.now(dt.UTC).date().isoformat()  # the close may straddle UTC midnight
    done = cli("sla", "report", "--org", "Acme", "--from", before, "--to", after)
    assert done.code == 0, done.err
    report = done.out[0]
    assert (report["total"]["cases"], report["total"]["resolution_share"],
            report["meets_goal"]) == (1, 1.0, True)


def test_sla_report_refuses_an_unknown_organization(cli, desk):
    """A misspelt --org is a clear error, not an empty report."""
    done = cli("sla", "report", "--org", "Acme Corp")
    assert done.code == 1 and "Acme Corp" in done.err


def test_case_reopen_after_30_days_says_to_open_a_new_case(cli, desk, database_url):
    """The refusal is one clear line and the case stays closed."""
    cli("case", "close", "CASE-1001")
    engine = create_engine(database_url)
    with engine.begin() as conn:
        # Through the column's type: Python 3.12+ deprecates sqlite3's own datetime adapter.
        conn.execute(update(Case).where(Case.number == "CASE-1001").values(
            closed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=31)))
    engine.dispose()
    done = cli("case", "reopen", "CASE-1001")
    assert done.code == 1
    assert "more than 30 days ago: open a new case instead" in done.err
