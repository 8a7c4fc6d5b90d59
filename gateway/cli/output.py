"""Output helpers: one JSON value per line on stdout, one-line errors on stderr."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from typing import Any


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dt.date):  # ISO 8601 with its "T", as the API writes times
        return value.isoformat()
    return str(value)


# What json.dumps(value, default=_default, ensure_ascii=False) builds for every call: one
# encoder, as ``ingest`` prints a line a mail.
_ENCODER = json.JSONEncoder(default=_default, ensure_ascii=False)


def emit(value: Any) -> None:
    """Print ``value`` as one JSON line (dataclasses become objects)."""
    # A dict (ingest's line a mail) is no dataclass: not asked (~1 us, issue 15).
    if type(value) is not dict and dataclasses.is_dataclass(value) \
            and not isinstance(value, type):
        value = dataclasses.asdict(value)
    sys.stdout.write(_ENCODER.encode(value) + "\n")
    sys.stdout.flush()


def fail(message: str) -> None:
    # Drivers' messages span lines; operators' scripts read one line per error.
    sys.stderr.write(f"ticketgate: error: {' '.join(message.split())}\n")
