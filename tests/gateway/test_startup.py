"""What ``serve`` says at start: the Python warning (CVE-2024-6923) and commands that run as
printed."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cli.startup import command_name, python_email_warning


@pytest.mark.parametrize("version", [(3, 11, 7), (3, 11, 9), (3, 12, 1), (3, 12, 4)])
def test_a_python_whose_generator_writes_cr_lf_is_named_with_its_fix(version):
    warning = python_email_warning(version)
    assert warning is not None and "CVE-2024-6923" in warning
    fixed = "3.11.10" if version[:2] == (3, 11) else "3.12.5"
    assert f"upgrade to Python {fixed}" in warning


@pytest.mark.parametrize("version", [(3, 11, 10), (3, 12, 5), (3, 13, 0), (3, 14, 2)])
def test_a_fixed_python_gets_no_warning(version):
    assert python_email_warning(version) is None


def test_the_printed_command_runs_as_printed_from_a_shell_without_the_venv(tmp_path: Path):
    """`make run` starts .venv/bin/ticketgate, which is not on PATH: the banner says so."""
    venv_command = Path(sys.executable).parent / "ticketgate"
    if not venv_command.exists():
        pytest.skip("ticketgate is not installed as a script in this environment")
    printed = command_name(os.path.relpath(venv_command))
    assert printed != "ticketgate"
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([*shlex.split(printed), "user", "add", "--help"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_a_command_on_path_is_printed_by_its_name():
    assert command_name("ticketgate") == "ticketgate"
