"""Fixtures for the SMTP/LMTP edge: a real listener on a loopback port of its own.

The listener, writer and database are the real ones; only the dispatcher is a recorder, since
processing is not what these tests are about (the redelivery and crash tests process for real).
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from gateway.smtp import SmtpListener, start_listener
from workflows.runtime import Runtime
from workflows.storage.db import Database

HOSTNAME = "mx.desk.example"


class RecordingDispatcher:
    """A ``Dispatcher`` that remembers the ids it was handed, in order."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self._lock = threading.Lock()

    def submit(self, inbound_ids: Sequence[int]) -> None:
        with self._lock:
            self.ids.extend(inbound_ids)


@pytest.fixture
def dispatched() -> RecordingDispatcher:
    return RecordingDispatcher()


StartListener = Callable[..., SmtpListener]


@pytest.fixture
def serve_smtp(rt: Runtime, dispatched: RecordingDispatcher) -> Iterator[StartListener]:
    """``serve_smtp(db=None, **smtp_settings)``: a listener on 127.0.0.1, port chosen by the OS."""
    started: list[SmtpListener] = []

    def start(db: Database | None = None, **smtp: Any) -> SmtpListener:
        options = {"host": "127.0.0.1", "port": 0, "hostname": HOSTNAME, **smtp}
        settings = dataclasses.replace(rt.settings,
                                       smtp=dataclasses.replace(rt.settings.smtp, **options))
        listener = start_listener(settings, db or rt.db, dispatched, clock=rt.clock)
        started.append(listener)
        return listener

    yield start
    for listener in started:
        listener.stop(grace=5)


class Dialogue:
    """Raw SMTP over a socket: send a line, read the (possibly multi-line) reply."""

    def __init__(self, address: tuple[str, int], *, source: str | None = None) -> None:
        # ``source``: the client's own address, e.g. 127.0.0.2 to be a second loopback client.
        self.sock = socket.create_connection(address, timeout=30,
                                             source_address=(source, 0) if source else None)
        self.file = self.sock.makefile("rb")

    def read_reply(self) -> list[str]:
        lines = []
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError(f"connection closed after {lines!r}")
            text = line.decode("utf-8").rstrip("\r\n")
            lines.append(text)
            if text[3:4] != "-":
                return lines

    def say(self, line: str | bytes) -> list[str]:
        self.send_raw(line if isinstance(line, bytes) else line.encode() + b"\r\n")
        return self.read_reply()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def at_eof(self) -> bool:
        return self.file.readline() == b""

    def close(self) -> None:
        self.file.close()
        self.sock.close()

    def __enter__(self) -> Dialogue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
