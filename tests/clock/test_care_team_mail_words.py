"""The words of the clock's mail to the care team, read as it reaches a real SMTP sink after
``ticketgate timers run --at``: an SLA warning names when the target is missed (not when the
warning fell due), and the unanswered-case escalation counts its hours in English."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.clock.conftest import _MAIN, WAIT, Done, ticketgate_env
from tests.notices.conftest import Sink
from tests.support import open_case
from workflows.domain import Severity
from workflows.settings import Settings

TEAM = "team@desk.example"


@pytest.fixture
def tg(settings: Settings, sink: tuple[Sink, int]) -> Callable[..., Done]:
    """``ticketgate`` as a subprocess with a care team address (SLA mail) configured."""
    env = ticketgate_env(settings, sink[1]) | {"TICKETGATE_CARE_TEAM_ADDRESS": TEAM}

    def run(*argv: str) -> Done:
        proc = subprocess.run([sys.executable, "-c", _MAIN, *argv], env=env,
                              capture_output=True, text=True, timeout=WAIT, check=False)
        return Done(proc.returncode,
                    [json.loads(line) for line in proc.stdout.splitlines() if line.strip()],
                    proc.stderr)

    return run


def _text(mail) -> str:  # type: ignore[no-untyped-def]
    return str(mail.get_body(("plain",)).get_content())


def test_an_sla_warning_names_the_time_the_target_is_missed(rt, people, sink, tg):
    number = open_case(rt, severity=Severity.HIGH)
    clocks = {c["name"]: c for c in tg("case", "show", number).out[0]["clocks"]}
    missed = dt.datetime.fromisoformat(clocks["response"]["due_at"])
    warned = missed - dt.timedelta(minutes=1)  # 25% of 2 business hours is 30 minutes
    assert tg("timers", "run", "--at", warned.isoformat()).code == 0
    (mail,) = [m for m in sink[0].to(TEAM) if "SLA" in str(m["Subject"])]
    assert f"({missed:%Y-%m-%d %H:%M} UTC)" in _text(mail)
    assert f"({missed:%Y-%m-%d %H:%M} UTC)" in str(mail.get_body(("html",)).get_content())


def test_the_unanswered_escalation_counts_its_business_hour_in_english(rt, people, sink, tg):
    """High, unanswered an hour (business hours, as its response target): "1 business hour",
    not "1 hour(s)", in both parts."""
    number = open_case(rt, severity=Severity.HIGH)
    timers = {t["kind"]: t for t in tg("case", "show", number).out[0]["timers"]}
    due = dt.datetime.fromisoformat(timers["unanswered_escalation"]["due_at"])
    assert tg("timers", "run", "--at", due.isoformat()).code == 0
    (mail,) = sink[0].to("managers@desk.example")
    html = str(mail.get_body(("html",)).get_content())
    for part in (_text(mail), html):
        assert "hour(s)" not in part
        assert "no answer from the care team 1 business hour after it was opened" in part
