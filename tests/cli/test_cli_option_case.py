"""README "The command line": option values are case-insensitive -- every option with a fixed
set of values takes them in any case, not only the ones someone remembered to lower."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from gateway.cli.main import build_parser


def _choice_actions(parser: argparse.ArgumentParser, path: str = "ticketgate"
                    ) -> Iterator[tuple[str, argparse.Action]]:
    """Every argument with ``choices`` of every (sub)command; subcommand names excluded."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _choice_actions(sub, f"{path} {name}")
        elif action.choices:
            yield f"{path} {action.dest}", action


def test_every_option_with_choices_takes_them_in_capitals():
    refused = []
    for where, action in _choice_actions(build_parser()):
        for choice in action.choices:  # type: ignore[union-attr]
            value = str(choice).upper()
            converted = action.type(value) if callable(action.type) else value
            if converted != choice:
                refused.append(f"{where}: {value}")
    assert refused == []


def test_notice_kind_and_report_cadence_in_capitals(cli):
    """Through the command itself: ``notice create ADVISORY``, ``report add --every WEEKLY``."""
    cli("org", "add", "Acme", "--domain", "acme.example", "--tz", "Europe/Berlin",
        "--notify", "ops@acme.example")
    notice = cli("notice", "create", "ADVISORY", "--title", "New portal", "--impact", "none",
                 "--link", "https://status.example/portal")
    report = cli("notice", "report", "add", "Acme", "--every", "WEEKLY")
    assert (notice.code, report.code) == (0, 0), (notice.err, report.err)
    assert (notice.out[0]["kind"], report.out[0]["cadence"]) == ("advisory", "weekly")
