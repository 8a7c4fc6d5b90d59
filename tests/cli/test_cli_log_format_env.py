"""A wrong ``TICKETGATE_LOG_FORMAT`` is a wrong configuration: exit 2 and one line naming it
(README "The command line": 2 wrong arguments or configuration), not a traceback."""

from __future__ import annotations

from gateway.cli import main


def test_a_wrong_log_format_in_the_environment_is_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.setenv("TICKETGATE_LOG_FORMAT", "xml")
    code = main(["config", "reference"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "TICKETGATE_LOG_FORMAT" in err and "'xml'" in err


def test_the_environment_log_format_is_read_in_any_case(monkeypatch, capsys):
    monkeypatch.setenv("TICKETGATE_LOG_FORMAT", "TEXT")
    assert main(["config", "reference"]) == 0
