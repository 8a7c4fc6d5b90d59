"""What ``serve`` tells the operator at start, beyond where it listens.

Place in the flow: ``gateway.cli.serve`` prints these before its banner; pure functions of the
interpreter and of how the command was invoked, so tests can give them any version or argv.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Sequence

# CVE-2024-6923: the email generator wrote CR/LF that came from decoded RFC 2047 words into
# headers as they were, so a header could be injected. Fixed in 3.11.10, 3.12.5 and 3.13.0.
_FIXED_IN = {(3, 11): (3, 11, 10), (3, 12): (3, 12, 5)}


def python_email_warning(version: Sequence[int] | None = None) -> str | None:
    """A warning naming the fix when this Python's email generator has CVE-2024-6923."""
    major, minor, micro = tuple(version or sys.version_info[:3])[:3]
    fixed = _FIXED_IN.get((major, minor))
    if fixed is None or (major, minor, micro) >= fixed:
        return None
    return (f"warning: Python {major}.{minor}.{micro}'s email generator can write CR/LF from "
            f"encoded words into headers (CVE-2024-6923); ticketgate cleans every header it "
            f"writes, but upgrade to Python {'.'.join(map(str, fixed))} or later")


def command_name(argv0: str | None = None) -> str:
    """How to run ``ticketgate`` again as the operator just did (``.venv/bin/ticketgate`` when
    that is what they typed, and it is not the one on PATH)."""
    argv0 = argv0 if argv0 is not None else sys.argv[0]
    if os.path.basename(argv0) != "ticketgate" or os.sep not in argv0:
        return "ticketgate"
    on_path = shutil.which("ticketgate")
    if on_path and os.path.realpath(on_path) == os.path.realpath(argv0):
        return "ticketgate"
    relative = os.path.relpath(argv0)
    return shlex.quote(relative if not relative.startswith("..") else argv0)
