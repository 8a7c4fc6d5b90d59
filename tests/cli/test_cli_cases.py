"""The operator's command line: JSON on stdout, one-line errors, stable exit codes."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from tests.support import reply_to


def outbox_mail(tmp_path: Path) -> bytes:
    [path] = (tmp_path / "var" / "outbox").glob("*.eml")
    return path.read_bytes()


def test_case_open_prints_number_and_status(cli, desk):
    """Scripts read the number of the case they opened."""
    shown = cli("case", "show", "CASE-1001").out[0]
    assert (shown["number"], shown["severity"]) == ("CASE-1001", "high")


def test_post_prints_message_id_and_status(cli, desk, tmp_path):
    """A request for info moves the case to awaiting_info and leaves the .eml in the outbox."""
    shown = cli("case", "show", "CASE-1001").out[0]
    assert shown["status"] == "awaiting_info"
    assert desk.encode() in outbox_mail(tmp_path)


def test_ingest_reply_prints_one_line_and_reopens(cli, desk, tmp_path):
    """`ingest` is the CLI door to the same intake as SMTP and IMAP."""
    reply = tmp_path / "reply.eml"
    reply.write_bytes(reply_to(outbox_mail(tmp_path), sender="alice@acme.example"))
    run = cli("ingest", str(reply))
    assert run.out == [{"source": str(reply), "message_id": "reply-1@client.example",
                        "outcome": "linked", "reason": "reply", "case": "CASE-1001",
                        "status": "open"}]


def test_ingest_same_file_twice_is_a_duplicate(cli, desk, tmp_path):
    """Redelivery is a no-op."""
    reply = tmp_path / "reply.eml"
    reply.write_bytes(reply_to(outbox_mail(tmp_path), sender="alice@acme.example"))
    cli("ingest", str(reply))
    again = cli("ingest", str(reply)).out[0]
    assert (again["outcome"], again["reason"]) == ("duplicate", "same_bytes")
    updates = cli("case", "show", "CASE-1001").out[0]["updates"]
    assert [u["kind"] for u in updates] == ["post", "reply"]


def test_ingest_folder_prints_one_line_per_message(cli, desk, tmp_path):
    """A folder is read recursively, one JSON line per file."""
    folder = tmp_path / "in" / "cur"
    folder.mkdir(parents=True)
    for i in range(3):
        (folder / f"{i}.eml").write_bytes(
            b"From: x@y.example\r\nMessage-ID: <m%d@y>\r\nSubject: hi\r\n\r\nhello\r\n" % i)
    assert len(cli("ingest", str(tmp_path / "in")).out) == 3


def test_ingest_leaves_the_garbage_collector_unfrozen(cli, desk, tmp_path):
    """`ingest` freezes the collector only while it runs: a caller in the same process (these
    tests, a script) keeps collecting its own garbage afterwards, even when a file fails."""
    gc.unfreeze()
    (tmp_path / "hi.eml").write_bytes(b"From: x@y.example\r\nSubject: hi\r\n\r\nhello\r\n")
    cli("ingest", str(tmp_path / "hi.eml"), str(tmp_path / "missing.eml"))
    assert gc.get_freeze_count() == 0


def test_unreadable_path_is_one_line_error_and_nonzero(cli, desk, tmp_path):
    """A missing file is reported without a traceback; the others are still ingested."""
    good = tmp_path / "good.eml"
    good.write_bytes(b"From: x@y.example\r\nSubject: hi\r\n\r\nhello\r\n")
    run = cli("ingest", str(tmp_path / "missing.eml"), str(good))
    assert run.code == 1 and len(run.out) == 1
    assert run.err.count("\n") == 1 and "Traceback" not in run.err


def test_an_empty_folder_is_one_line_error_and_nonzero(cli, desk, tmp_path):
    """Nothing to ingest is said, not silent: a cron job pointed at the wrong folder notices."""
    (tmp_path / "spool").mkdir()
    run = cli("ingest", str(tmp_path / "spool"))
    assert (run.code, run.out) == (1, [])
    assert run.err == f"ticketgate: error: no files under {tmp_path / 'spool'}\n"


def test_an_empty_folder_beside_mail_is_reported_as_a_missing_path_is(cli, desk, tmp_path):
    """The other paths' mail is still ingested; the exit code is 1, as for a missing file."""
    (tmp_path / "spool").mkdir()
    good = tmp_path / "good.eml"
    good.write_bytes(b"From: x@y.example\r\nSubject: hi\r\n\r\nhello\r\n")
    run = cli("ingest", str(good), str(tmp_path / "spool"))
    assert run.code == 1 and [line["source"] for line in run.out] == [str(good)]
    assert run.err == f"ticketgate: error: no files under {tmp_path / 'spool'}\n"


def test_unknown_case_is_a_clear_error(cli, desk):
    """Unknown cases get one line and exit 1."""
    run = cli("case", "show", "CASE-9999")
    assert (run.code, run.out) == (1, [])
    assert run.err.strip() == "ticketgate: error: no case CASE-9999"


def test_wrong_arguments_exit_2_without_usage_dump(cli):
    """A typo in an option is one line, exit 2."""
    run = cli("case", "open", "--org", "Acme")
    assert run.code == 2 and run.err.count("\n") == 1


def test_a_case_without_a_subject_is_refused(cli, desk):
    """An empty or blank --subject is one line and exit 1, as the console and the API refuse
    it, not a case whose every mail reads "Case CASE-1002 opened: "."""
    for subject in ("", "   "):
        run = cli("case", "open", "--org", "Acme", "--contact", "alice@acme.example",
                  "--subject", subject)
        assert (run.code, run.out) == (1, [])
        assert run.err.strip() == "ticketgate: error: a case needs a subject"
    assert [line["number"] for line in cli("case", "list", "--json").out] == ["CASE-1001"]


def test_option_values_are_case_insensitive(cli, desk):
    """--severity HIGH and --family TSUP work like their lower-case forms."""
    run = cli("case", "open", "--org", "Acme", "--contact", "alice@acme.example",
              "--subject", "Escalated", "--family", "TSUP", "--severity", "Critical")
    assert run.out[0]["number"] == "TSUP-1001"


def test_project_coordination_numbers_have_six_digits(cli, desk):
    """Project Coordination cases are numbered 100100, 100101, ..."""
    run = cli("case", "open", "--org", "Acme", "--contact", "alice@acme.example",
              "--subject", "Rollout", "--family", "pc")
    assert run.out[0]["number"] == "100100"


def test_close_then_reopen(cli, desk):
    """Closing records the resolution; reopening within 30 days makes it open again."""
    closed = cli("case", "close", "CASE-1001", "--cancelled").out[0]
    reopened = cli("case", "reopen", "CASE-1001").out[0]
    assert (closed["status"], closed["resolution"], reopened["status"]) == (
        "closed", "cancelled", "open")


def test_post_to_closed_case_is_refused(cli, desk):
    """Analysts cannot mail from a closed case; the state machine says why."""
    cli("case", "close", "CASE-1001")
    run = cli("case", "post", "CASE-1001", "--body", "hello")
    assert run.code == 1 and "closed" in run.err


def test_uninitialized_home_says_run_init(tmp_path, monkeypatch, capsys):
    """Commands on a fresh machine say what to do instead of failing deep inside."""
    from gateway.cli import main

    monkeypatch.setenv("TICKETGATE_HOME", str(tmp_path / "fresh"))
    monkeypatch.delenv("TICKETGATE_DATABASE_URL", raising=False)
    monkeypatch.delenv("TICKETGATE_CONFIG", raising=False)
    assert main(["case", "show", "CASE-1"]) == 3
    assert "ticketgate init" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["init"], ["case", "show", "CASE-1"]])
@pytest.mark.parametrize("home", ["a-file", "a-file/var"])
def test_a_home_that_cannot_be_a_directory_is_a_clear_error(tmp_path, monkeypatch, capsys,
                                                             command, home):
    """A file where the data directory should be: exit 3 and one line, not a traceback."""
    from gateway.cli import main

    (tmp_path / "a-file").write_text("not a directory")
    monkeypatch.setenv("TICKETGATE_HOME", str(tmp_path / home))
    monkeypatch.delenv("TICKETGATE_DATABASE_URL", raising=False)
    monkeypatch.delenv("TICKETGATE_CONFIG", raising=False)
    assert main(command) == 3
    err = capsys.readouterr().err
    assert err.startswith("ticketgate: error: ") and err.count("\n") == 1
    assert str(tmp_path / "a-file") in err


def test_database_down_is_a_clear_error(tmp_path, monkeypatch, capsys):
    """A database that cannot be reached is exit 3 and one line, nothing half-done."""
    from gateway.cli import main

    monkeypatch.setenv("TICKETGATE_HOME", str(tmp_path / "var"))
    monkeypatch.setenv("TICKETGATE_DATABASE_URL",
                       "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    monkeypatch.delenv("TICKETGATE_CONFIG", raising=False)
    assert main(["init"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("ticketgate: error: cannot reach the database") and err.count("\n") == 1


def test_parse_shows_whether_references_verify(cli, desk, tmp_path):
    """`parse` answers "why did this mail go there?": our token is valid, a forged one not."""
    sent = tmp_path / "sent.eml"
    sent.write_bytes(outbox_mail(tmp_path))
    forged = tmp_path / "forged.eml"
    forged.write_bytes(outbox_mail(tmp_path).replace(b"[ref:CASE-1001:", b"[ref:CASE-1002:"))
    ours, theirs = cli("parse", str(sent), str(forged)).out
    assert {r["valid"] for r in ours["references"]} == {True}
    assert False in {r["valid"] for r in theirs["references"]}


def test_parse_json_shows_each_failed_recipient_of_a_bounce(cli):
    """`parse --json` on a report with one failed and one delayed recipient: each with its
    status, action and permanence, the original Message-ID, and only the final one failed."""
    report = Path(__file__).resolve().parents[1] / "fixtures" / "bounces" / "documented"
    [shown] = cli("parse", str(report / "postfix-mixed.eml"), "--json").out
    assert shown["automation"] == "bounce"
    bounce = shown["bounce"]
    assert bounce["original_message_id"] == "case.CASE-1001.ab12cd34@desk.example.com"
    assert [(r["address"], r["status"], r["action"], r["permanent"])
            for r in bounce["recipients"]] == [
        ("gone@customer.example", "5.1.1", "failed", True),
        ("busy@customer.example", "4.2.2", "delayed", False)]
    assert shown["failed_recipients"] == ["gone@customer.example"]


def test_parse_json_shows_a_complaint(cli):
    """An ARF report is shown as a complaint with the Message-ID of the mail it is about."""
    report = Path(__file__).resolve().parents[1] / "fixtures" / "bounces" / "sisimai"
    [shown] = cli("parse", str(report / "arf-03.eml"), "--json").out
    assert shown["automation"] == "complaint"
    assert shown["complaint"]["original_message_id"] == (
        "f6fbba8a761ce682e1b00a323a21b372@example.net")


def test_an_unknown_option_is_said_once_without_a_repeated_program_name(cli):
    """argparse's root parser reports it: "ticketgate: error: ticketgate: ..." said twice."""
    run = cli("case", "close", "CASE-1001", "--bogus")
    assert (run.code, run.err) == (
        2, "ticketgate: error: unrecognized arguments: --bogus (see --help)\n")


def test_post_as_names_the_update_s_author(cli, desk):
    """`case post --as WHO` writes the update in that analyst's name, as `case note --as`."""
    posted = cli("case", "post", "CASE-1001", "--body", "Firmware 4.2 fixes it.",
                 "--as", "ana@desk.example")
    assert posted.code == 0, posted.err
    updates = cli("case", "show", "CASE-1001").out[0]["updates"]
    assert updates[-1]["author"] == "ana@desk.example"
