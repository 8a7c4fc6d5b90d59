"""The README's "Sending it a mail" command, run as printed, lands in triage as it promises."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway.serving import ServeProcess

ROOT = Path(__file__).resolve().parents[2]
_MAIN = "import sys; from gateway.cli import main; sys.exit(main(sys.argv[1:]))"


def _readme_python_command() -> str:
    """The ``python3 -c "..."`` line of the README's first code block under "Sending it a mail"."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Sending it a mail"):]
    found = re.search(r'^python3 -c "(.+)"$', section, re.MULTILINE)
    assert found, "the README no longer shows a python3 -c command to send a first mail"
    return found.group(1)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServeProcess]:
    srv = ServeProcess(tmp_path / "home")
    srv.start()
    yield srv
    srv.ensure_dead()


def _triage(srv: ServeProcess) -> list[dict[str, object]]:
    done = subprocess.run([sys.executable, "-c", _MAIN, "triage", "list"], env=srv.env,
                          capture_output=True, text=True, timeout=60, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_readme_python_one_liner_lands_in_triage(served):
    """Copied from the README with only the port changed: new mail to care@localhost, triaged."""
    code = _readme_python_command().replace("2525", str(served.port))
    # The shell leaves \r\n inside double quotes as typed, so Python sees what we pass here.
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    # serve's worker runs niced (+10): on a box busy with other work it may take a while to
    # start and decide; the deadline only bounds a failure, the loop ends at the first item.
    deadline = time.monotonic() + 120
    while not (items := _triage(served)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [(i["reason"], i["mailbox"], i["from"]) for i in items] == [
        ("new_mail", "care@localhost", "you@example.com")], served.output()
