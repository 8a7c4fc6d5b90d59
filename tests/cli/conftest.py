"""CLI fixtures: run ``ticketgate`` in-process against a fresh home and database."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from gateway.cli import main


@dataclass
class Run:
    code: int
    out: list[dict]
    err: str


@pytest.fixture
def cli(tmp_path, database_url, monkeypatch, capsys):
    monkeypatch.setenv("TICKETGATE_HOME", str(tmp_path / "var"))
    monkeypatch.setenv("TICKETGATE_DATABASE_URL", database_url)
    monkeypatch.setenv("TICKETGATE_SQLITE_SYNCHRONOUS", "NORMAL")
    monkeypatch.delenv("TICKETGATE_CONFIG", raising=False)
    (tmp_path / "config.toml").write_text(
        '[gateway]\nfrom_address = "care@desk.example"\n'
        'escalation_address = "managers@desk.example"\n'
        '[[mailbox]]\naddress = "care@desk.example"\n'
        '[[mailbox]]\naddress = "new@desk.example"\npolicy = "open_case"\n')
    monkeypatch.setenv("TICKETGATE_CONFIG", str(tmp_path / "config.toml"))

    def run(*argv: str) -> Run:
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        out = [json.loads(line) for line in captured.out.splitlines() if line.strip()]
        return Run(code, out, captured.err)

    assert run("init").code == 0
    return run


@pytest.fixture
def desk(cli):
    """Acme with alice (designated) and bob (not); CASE-1001 awaiting alice's info."""
    cli("org", "add", "Acme", "--domain", "acme.example", "--tz", "Europe/Berlin")
    cli("contact", "add", "Acme", "alice@acme.example", "--name", "Alice")
    cli("contact", "add", "Acme", "bob@acme.example", "--not-designated")
    opened = cli("case", "open", "--org", "Acme", "--contact", "alice@acme.example",
                 "--subject", "Printer on fire", "--severity", "HIGH")
    posted = cli("case", "post", "CASE-1001", "--body", "Which model?", "--request-info")
    assert opened.code == posted.code == 0, (opened.err, posted.err)
    return posted.out[0]["message_id"]
