"""Self-signed certificates made with the ``openssl`` CLI, the way a desk with an internal CA
or a self-signed server would make them: for the IMAP and the outbound relay TLS tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class TlsFiles:
    cert: Path  # the server's self-signed certificate, for 127.0.0.1 only: its own ca_file
    key: Path
    other: Path  # another self-signed certificate: a ca_file that does not match the server


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed P-256 certificate valid for IP 127.0.0.1 (not for "localhost")."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", f"/CN=ticketgate test {name}",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    if shutil.which("openssl") is None:
        if os.environ.get("TICKETGATE_REQUIRE_SERVICES") == "1":
            pytest.fail("the openssl CLI is required (TICKETGATE_REQUIRE_SERVICES=1)")
        pytest.skip("the openssl CLI is not installed (Debian package openssl)")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = self_signed(directory, "server")
    other, _ = self_signed(directory, "other")
    return TlsFiles(cert, key, other)
