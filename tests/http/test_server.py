"""``start_http_server``: binds before it returns, reports its port, stops cleanly."""

from __future__ import annotations

import socket

import httpx
import pytest

from gateway.http.server import start_http_server


def test_a_taken_port_fails_at_once(desk):
    """`ticketgate serve` must say the port is busy, not start a server that never listens."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        with pytest.raises(OSError):
            start_http_server(desk.rt, "127.0.0.1", busy.getsockname()[1])


def test_stop_closes_the_port(desk):
    """After stop() nothing answers there any more."""
    handle = start_http_server(desk.rt, "127.0.0.1", 0)
    assert httpx.get(f"{handle.url}/healthz", timeout=30).status_code == 200
    handle.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{handle.url}/healthz", timeout=5)
