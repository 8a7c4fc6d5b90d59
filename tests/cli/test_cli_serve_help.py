"""``ticketgate serve --help`` tells the truth about where its addresses come from: the settings
(file or environment), not a fixed default the configuration may have changed."""

from __future__ import annotations

import pytest

from gateway.cli import main
from gateway.config_model import GatewayConfig, SmtpSection


def serve_help(capsys) -> str:
    with pytest.raises(SystemExit) as stop:
        main(["serve", "--help"])
    assert stop.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse's wrapping undone


def test_serve_help_names_the_settings_its_addresses_default_to(monkeypatch, capsys):
    """With TICKETGATE_SMTP_PORT set, the listener does not use 2525: the help must not say it
    does. It names the settings, and gives their own defaults only as such."""
    monkeypatch.setenv("TICKETGATE_SMTP_PORT", "26025")
    text = serve_help(capsys)
    smtp = SmtpSection.model_fields
    gateway = GatewayConfig.model_fields
    assert ("[smtp] host and port settings (TICKETGATE_SMTP_HOST, TICKETGATE_SMTP_PORT; "
            f"{smtp['host'].default}:{smtp['port'].default} unless set)") in text
    assert ("http_host and http_port settings (TICKETGATE_HTTP_HOST, TICKETGATE_HTTP_PORT; "
            f"{gateway['http_host'].default}:{gateway['http_port'].default} unless set)") in text
