"""``ticketgate notice ...``: JSON on stdout, a refusal is one line and a non-zero exit."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import time_machine

from gateway.cli import main
from tests.notices.conftest import NOW


@dataclass
class Run:
    code: int
    out: list[dict]
    err: str


@pytest.fixture
def cli(tmp_path, database_url, monkeypatch, capsys, sink):  # type: ignore[no-untyped-def]
    """The CLI against a fresh home, sending to the sink, with the clock at NOW."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[gateway]\nfrom_address = "care@desk.example"\ntransport = "smtp://127.0.0.1:'
        f'{sink[1]}"\ndesk_timezone = "America/Denver"\n'
        '[[mailbox]]\naddress = "care@desk.example"\n'
        '[notices]\nrca_business_days = 5\n')
    for name, value in (("TICKETGATE_HOME", str(tmp_path / "var")),
                        ("TICKETGATE_DATABASE_URL", database_url),
                        ("TICKETGATE_SQLITE_SYNCHRONOUS", "NORMAL"),
                        ("TICKETGATE_CONFIG", str(config))):
        monkeypatch.setenv(name, value)

    def run(*argv: str) -> Run:
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Run(code, [json.loads(line) for line in captured.out.splitlines() if line],
                   captured.err)

    with time_machine.travel(NOW, tick=False):
        assert run("init").code == 0
        assert run("org", "add", "Initech", "--domain", "initech.example", "--tz",
                   "America/Denver", "--country", "US", "--notify",
                   "noc@initech.example").code == 0
        assert run("org", "add", "Globex", "--domain", "globex.example", "--tz",
                   "America/Denver").code == 0
        yield run


PLANNED = ("notice", "create", "planned", "--title", "Core switch upgrade", "--impact",
           "Calls may drop", "--start", "2026-03-07T23:00", "--end", "2026-03-08T04:00")


def test_create_prints_the_reference_and_who_has_no_list(cli):
    """Scripts read the reference; the organizations without a list are named."""
    run = cli(*PLANNED)
    assert run.code == 0, run.err
    assert (run.out[0]["reference"], run.out[0]["without_list"]) == ("MNT-2026-0001",
                                                                     ["Globex"])


def test_a_refusal_is_one_line_and_exit_1(cli):
    """A start 5 days away breaks the notice period: the reason, no JSON, non-zero."""
    run = cli("notice", "create", "planned", "--title", "T", "--impact", "I",
              "--start", "2026-03-03T23:00", "--end", "2026-03-04T02:00")
    assert (run.code, run.out) == (1, [])
    assert run.err.count("\n") == 1 and "lead_time" in run.err and "--force --why" in run.err


def test_force_needs_a_justification(cli):
    """--force alone is a usage error: the justification is what gets recorded."""
    assert cli(*PLANNED, "--force").code == 2
    forced = cli("notice", "create", "planned", "--title", "T", "--impact", "I",
                 "--start", "2026-03-03T23:00", "--end", "2026-03-04T02:00", "--force",
                 "--why", "vendor security fix")
    assert forced.code == 0 and forced.out[0]["overridden"] == ["lead_time"]


def test_preview_send_and_show(cli, sink):
    """Preview renders Initech's mail in Denver time; send mails it; show lists deliveries."""
    ref = cli(*PLANNED).out[0]["reference"]
    [shown] = cli("notice", "preview", ref, "--org", "Initech").out
    assert "Sat 07 Mar 2026 23:00 MST to Sun 08 Mar 2026 04:00 MDT" in shown["text"]
    assert "BEGIN:VCALENDAR" in shown["ics"] and shown["raw"].startswith("To: noc@")
    sent = cli("notice", "send", ref)
    assert (sent.code, sent.out[0]["sent"], sent.err) == (0, 1, "")  # no bar off a terminal
    assert len(sink[0].messages) == 1
    detail = cli("notice", "show", ref).out[0]
    assert [(d["recipient"], d["status"]) for d in detail["deliveries"]] == [
        ("noc@initech.example", "sent")]
    assert cli("notice", "send", ref).code == 1  # sent already
    listed = cli("notice", "list").out
    assert [(n["reference"], n["state"]) for n in listed] == [(ref, "active")]


def test_incident_update_and_all_clear(cli, sink):
    """The incident commander's path: alert, status text, all-clear."""
    ref = cli("notice", "create", "incident", "--title", "Inbound calls fail", "--impact",
              "Callers hear a busy tone", "--agents", "Initech=30").out[0]["reference"]
    assert cli("notice", "send", ref).out[0]["sent"] == 1
    update = cli("notice", "update", ref, "--status", "Carrier is rerouting")
    assert update.out == [{"reference": ref, "status": "Carrier is rerouting"}]
    done = cli("notice", "all-clear", ref, "--text", "Log agents back in")
    assert (done.out[0]["state"], done.out[0]["sent"]) == ("resolved", 1)
    assert cli("notice", "all-clear", ref, "--text", "again").code == 1


def test_an_advisory_without_a_link_is_refused(cli):
    """Advisories point to more information."""
    run = cli("notice", "create", "advisory", "--title", "T", "--impact", "I")
    assert run.code == 1 and "--link" in run.err


def test_an_unknown_notice_is_exit_1(cli):
    """Not found is the domain saying no."""
    assert cli("notice", "show", "MNT-2026-0999").code == 1


def test_a_start_without_an_offset_is_read_in_the_desk_timezone(cli):
    """This desk sets desk_timezone = America/Denver: 23:00 is 06:00 UTC, and create says so."""
    run = cli(*PLANNED)
    assert run.out[0]["times_read_in"] == "America/Denver"
    [listed] = cli("notice", "list").out
    assert listed["starts_at"].startswith("2026-03-08T06:00:00")


def test_preview_flags_a_window_inside_an_organizations_business_hours(cli):
    """Initech (Denver, 08:00-18:00) would lose its Friday morning: the preview says so;
    a night window is not."""
    day = cli("notice", "create", "planned", "--title", "T", "--impact", "I",
              "--start", "2026-03-13T09:00", "--end", "2026-03-13T11:00", "--force",
              "--why", "vendor fix").out[0]["reference"]
    night = cli(*PLANNED).out[0]["reference"]
    [flagged] = cli("notice", "preview", day, "--org", "Initech").out
    [quiet] = cli("notice", "preview", night, "--org", "Initech").out
    assert flagged["business_hours"].startswith("inside business hours (08:00-18:00")
    assert "2 h of the window, from Fri 13 Mar 2026 09:00 MDT" in flagged["business_hours"]
    assert quiet["business_hours"] is None


def test_availability_of_an_unknown_organization_is_exit_1(cli):
    """--org names an organization that does not exist (a typo): one line, exit 1, not an
    empty answer that reads as "no such month"; one that differs only in case is offered."""
    run = cli("notice", "availability", "--month", "2026-03", "--org", "initech")
    assert (run.code, run.out) == (1, [])
    assert run.err.strip() == ("ticketgate: error: no organization named 'initech' "
                               "(did you mean 'Initech'?)")
    assert [a["organization"] for a in cli("notice", "availability", "--month", "2026-03",
                                           "--org", "Initech").out] == ["Initech"]


def test_blackout_and_report_lists_name_the_organization(cli):
    """The lists name the organization as `blackout add` and `report add` print it (and as
    people type it), not by its database id; a desk-wide blackout names none."""
    assert cli("notice", "blackout", "add", "--org", "Initech", "--start", "2026-04-20",
               "--end", "2026-04-22").code == 0
    assert cli("notice", "blackout", "add", "--start", "2026-05-20", "--end",
               "2026-05-22").code == 0
    assert cli("notice", "report", "add", "Globex", "--every", "weekly", "--to",
               "it@globex.example").code == 0
    blackouts = cli("notice", "blackout", "list").out
    assert [b.get("organization", "?") for b in blackouts] == ["Initech", None]
    assert [r.get("organization") for r in cli("notice", "report", "list").out] == ["Globex"]
