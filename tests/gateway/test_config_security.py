"""The security settings (issue 12) load from TOML and the environment, checked at load time."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, load_settings

BASE = '[[mailbox]]\naddress = "care@desk.example"\n'


def load(tmp_path, toml: str, **env: str):
    path = tmp_path / "config.toml"
    path.write_text(toml + BASE)
    return load_settings(path, env={"TICKETGATE_HOME": str(tmp_path / "var"), **env})


def test_defaults_trust_no_proxy_and_bound_every_session(tmp_path):
    """Out of the box: no proxy believed, 20 sessions per address of 200, 100 recipients."""
    settings = load(tmp_path, "")
    smtp = settings.smtp
    assert settings.trusted_proxies == ()
    assert settings.triage_attachment_retention_days == 30
    assert (smtp.max_sessions_per_ip, smtp.max_sessions, smtp.max_recipients) == (20, 200, 100)
    assert smtp.session_lifetime > smtp.idle_timeout


def test_listener_limits_and_proxies_come_from_the_file(tmp_path):
    """Each limit is a [smtp] key; proxies and the triage retention are [gateway] keys."""
    settings = load(tmp_path, '[gateway]\ntrusted_proxies = ["10.0.0.0/8", "::1"]\n'
                    "triage_attachment_retention_days = 7\n"
                    "[smtp]\nmax_sessions_per_ip = 5\nsession_lifetime = 120\n"
                    "idle_timeout = 60\nmax_noops = 10\nmax_recipients = 500\n")
    smtp = settings.smtp
    assert settings.trusted_proxies == ("10.0.0.0/8", "::1")
    assert settings.triage_attachment_retention_days == 7
    assert (smtp.max_sessions_per_ip, smtp.session_lifetime, smtp.idle_timeout,
            smtp.max_noops, smtp.max_recipients) == (5, 120.0, 60.0, 10, 500)


def test_proxies_from_the_environment_win(tmp_path):
    settings = load(tmp_path, '[gateway]\ntrusted_proxies = ["10.0.0.1"]\n',
                    TICKETGATE_TRUSTED_PROXIES="192.0.2.1, 192.0.2.0/24")
    assert settings.trusted_proxies == ("192.0.2.1", "192.0.2.0/24")


@pytest.mark.parametrize(("toml", "words"), [
    ("[smtp]\nmax_recipients = 50\n", "max_recipients must be at least 100"),
    ("[smtp]\nmax_sessions_per_ip = 0\n", "max_sessions_per_ip must be at least 1"),
    ('[gateway]\ntrusted_proxies = ["proxy.example"]\n', "not an address or network"),
    ('[gateway]\ntrusted_proxies = "10.0.0.1"\n', "must be a list"),
    ("[gateway]\ntriage_attachment_retention_days = 0\n", "must be at least 1"),
])
def test_a_wrong_value_is_refused_with_where_it_is(tmp_path, toml, words):
    """RFC 5321 4.5.3.1.8 sets 100 recipients as the least a server takes; a proxy must be
    an address or a network, not a name."""
    with pytest.raises(ConfigError, match=words):
        load(tmp_path, toml)
