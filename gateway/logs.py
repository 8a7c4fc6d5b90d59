"""Logs: one line per event, JSON for a log pipeline or readable ``key=value`` on a terminal.

Place in the flow: the first thing ``gateway.cli.main`` does after parsing arguments; every
module then logs through the stdlib ``logging`` with its fields in ``extra``:

    log.info("mail accepted", extra={"event": "mail.accepted", "inbound_id": 7, ...})

Why stdlib logging with a formatter of our own rather than structlog: the fields travel in
``extra`` through every library's loggers (Celery's, uvicorn's, aiosmtpd's) unchanged, and the
formatter is the only piece that differs; a JSON line is ``json.dumps`` of the record's fields.

What never goes in a field: mail bodies, subjects, passwords, tokens, secrets. Addresses stay
out of INFO too (the Message-ID and row ids identify a mail); a test greps a served mail's
logs for its body and for the configured passwords.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import sys
import time
from enum import StrEnum
from typing import Any, TextIO

# The attributes every LogRecord has; anything else on a record came in through ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}


class LogFormat(StrEnum):
    AUTO = "auto"  # JSON unless stderr is a terminal
    JSON = "json"
    TEXT = "text"


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra`` fields of ``record``, in the order they were given."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _timestamp_general(created: float) -> str:
    return dt.datetime.fromtimestamp(created, dt.UTC).isoformat(timespec="milliseconds")


_second: tuple[int, str] = (-1, "")  # the last second formatted, and its text


def timestamp(created: float) -> str:
    """``created`` (seconds since the epoch) as ``_timestamp_general`` writes it, the text of
    its second kept for the next line: 1.5 -> 0.5 us a line (a mail.accepted line per mail).
    The microseconds are rounded half to even, as ``datetime.fromtimestamp`` rounds them,
    then cut to milliseconds, as ``isoformat`` cuts them."""
    global _second
    fraction, whole = math.modf(created)
    micro = round(fraction * 1e6)
    second = int(whole)
    if micro >= 1_000_000:
        second, micro = second + 1, micro - 1_000_000
    elif micro < 0:  # before 1970: modf gives a negative fraction
        second, micro = second - 1, micro + 1_000_000
    cached, text = _second
    if cached != second:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second = (second, text)
    return f"{text}.{micro // 1000:03d}+00:00"


def _timestamp(record: logging.LogRecord) -> str:
    return timestamp(record.created)


# One encoder for every line: ``json.dumps`` with options builds a new one per call (0.8 us).
_encode = json.JSONEncoder(default=str, ensure_ascii=False).encode


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the extra fields, and exc if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"ts": _timestamp(record), "level": record.levelname.lower(),
                                "logger": record.name, "msg": record.getMessage()}
        line.update(fields_of(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return _encode(line)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...`` for a person at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in fields_of(record).items() if k != "event")
        text = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        if extra:
            text += f"  {extra}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is emitted (as logging's own last
    resort does), so a handler installed by one in-process ``main()`` never writes to a stream
    that was closed since (pytest's capture, a test's redirect)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(level: int, fmt: LogFormat | str = LogFormat.AUTO,
                      stream: TextIO | None = None) -> logging.Handler:
    """Route the root logger to ``stream`` (default: the current stderr) at ``level`` in
    ``fmt``; returns the handler (replacing any handler installed before)."""
    fmt = LogFormat(fmt)
    if fmt is LogFormat.AUTO:
        fmt = LogFormat.TEXT if (stream or sys.stderr).isatty() else LogFormat.JSON
    handler: logging.Handler = logging.StreamHandler(stream) if stream else _Stderr()
    handler.setFormatter(JsonFormatter() if fmt is LogFormat.JSON else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic 1.17+ logs one INFO line per autogenerate plugin it sets up ("setup plugin
    # alembic.autogenerate.tables", seven of them) whenever a migration runs: noise in the
    # first lines a new user's `make run` prints. Its migration lines ("Running upgrade") stay.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(level, logging.WARNING))
    return handler
