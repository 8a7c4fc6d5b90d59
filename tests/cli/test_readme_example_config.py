"""The README's example configuration (the ```toml block under "Configuration") is one the
gateway accepts: a key renamed or dropped in gateway/config_model.py fails here, not for the
operator who copied it."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_example_config_is_accepted(tmp_path, monkeypatch, capsys):
    found = re.search(r"^```toml\n(.*?)^```", README.read_text(encoding="utf-8"),
                      re.MULTILINE | re.DOTALL)
    assert found, "the README no longer shows an example configuration"
    config = tmp_path / "example.toml"
    config.write_text(found.group(1), encoding="utf-8")
    monkeypatch.setenv("TICKETGATE_HOME", str(tmp_path / "var"))
    for name in ("TICKETGATE_CONFIG", "TICKETGATE_DATABASE_URL", "TICKETGATE_TRANSPORT"):
        monkeypatch.delenv(name, raising=False)
    code = main(["--config", str(config), "config", "show"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert re.search(r"^from_address +care@desk\.example ", out, re.MULTILINE), out
