"""``tls`` and ``ca_file`` of an [[imap]] account: the new modes, the old boolean, wrong values."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_settings
from workflows.settings import ImapAccount, ImapTls

BASE = '[[mailbox]]\naddress = "care@desk.example"\n'
ACCOUNT = '[[imap]]\nhost = "imap.desk.example"\nuser = "care"\npassword = "pw"\n'


def account(tmp_path: Path, lines: str) -> ImapAccount:
    path = tmp_path / "config.toml"
    path.write_text(BASE + ACCOUNT + lines)
    [imap] = load_settings(path, env={"TICKETGATE_HOME": str(tmp_path / "var")}).imap
    return imap


@pytest.mark.parametrize(("lines", "mode", "port"), [
    ("", ImapTls.IMPLICIT, 993),  # unchanged default: implicit TLS on 993 (RFC 8314)
    ('tls = "implicit"\n', ImapTls.IMPLICIT, 993),
    ('tls = "starttls"\n', ImapTls.STARTTLS, 143),  # each mode brings its standard port
    ('tls = "none"\n', ImapTls.NONE, 143),
    ('tls = "STARTTLS"\nport = 1143\n', ImapTls.STARTTLS, 1143),  # case-insensitive, odd port
    ('tls = "implicit"\nport = 143\n', ImapTls.IMPLICIT, 143),  # an explicit mode is obeyed
])
def test_tls_modes(tmp_path: Path, lines: str, mode: ImapTls, port: int):
    """An explicit mode for servers on odd ports (on-prem Exchange, Dovecot)."""
    imap = account(tmp_path, lines)
    assert (imap.tls, imap.port, imap.ca_file) == (mode, port, None)


@pytest.mark.parametrize(("lines", "mode", "port"), [
    ("tls = true\n", ImapTls.IMPLICIT, 993),
    ("tls = true\nport = 143\n", ImapTls.STARTTLS, 143),  # as before: 143 means STARTTLS
    ("tls = true\nport = 1993\n", ImapTls.IMPLICIT, 1993),
    ("tls = false\n", ImapTls.NONE, 993),  # as before: the port stays 993
    ("tls = false\nport = 143\n", ImapTls.NONE, 143),
])
def test_the_old_boolean_keeps_its_meaning(tmp_path: Path, lines: str, mode: ImapTls,
                                           port: int):
    """Existing configurations connect exactly as they did."""
    imap = account(tmp_path, lines)
    assert (imap.tls, imap.port) == (mode, port)


def test_ca_file_is_a_path(tmp_path: Path):
    """Read at connect time (a missing file is that mailbox's error, not a failed start)."""
    imap = account(tmp_path, 'tls = "starttls"\nport = 10143\nca_file = "/etc/desk/ca.pem"\n')
    assert (imap.tls, imap.port, imap.ca_file) == (ImapTls.STARTTLS, 10143,
                                                   Path("/etc/desk/ca.pem"))


@pytest.mark.parametrize(("lines", "message"), [
    ('tls = "ssl"\n', 'imap #1: tls must be "implicit", "starttls", "none", true or false, '
                      "not 'ssl'"),
    ("tls = 1\n", 'imap #1: tls must be "implicit", "starttls", "none", true or false, not 1'),
    ('tls = ""\n', "imap #1: tls must be"),
    ("ca_file = 5\n", "imap #1: `ca_file` must be the path of a PEM file"),
    ('ca_file = ""\n', "imap #1: `ca_file` must be the path of a PEM file"),
    ('tls = "none"\nca_file = "/etc/desk/ca.pem"\n', 'imap care: `ca_file` is set but `tls` is '
                                                     '"none"'),
    ("tls = false\nca_file = \"/etc/desk/ca.pem\"\n", "`ca_file` is set but `tls` is"),
    ("verify = false\n", "unexpected keyword argument 'verify'"),  # there is no such switch
])
def test_wrong_tls_settings_stop_the_start(tmp_path: Path, lines: str, message: str):
    """A typo must not silently become clear text or an unverified connection."""
    with pytest.raises(ConfigError) as raised:
        account(tmp_path, lines)
    assert message in str(raised.value)


def test_python_callers_get_the_same_resolution():
    """The tests and the bench build accounts with ``tls=False``: still clear text on its port."""
    plain = ImapAccount(name="b", host="127.0.0.1", user="u", mailbox="m", port=10143, tls=False)
    assert (plain.tls, plain.port) == (ImapTls.NONE, 10143)
    with pytest.raises(ValueError, match="tls must be"):
        ImapAccount(name="b", host="h", user="u", mailbox="m", tls="tls")  # type: ignore[arg-type]
