"""Run the console and API with uvicorn on a background thread, for ``ticketgate serve``.

Place in the flow: an edge hosted by the serve process beside the SMTP listener and the IMAP
pollers. The socket is bound here, before the thread starts, so a busy port fails at once with
``OSError`` in the caller, and port 0 gives a free port whose number ``address`` reports.
``stop()`` asks uvicorn to finish the requests in flight, joins the thread and closes the socket.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field

import uvicorn

from gateway.http.app import create_app
from workflows.runtime import Runtime

log = logging.getLogger(__name__)
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


@dataclass
class HttpServerHandle:
    """A running console; ``url`` is where a browser reaches it."""

    address: tuple[str, int]
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _socket: socket.socket = field(repr=False)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT)
        if self._thread.is_alive():  # a request that never ends: stop waiting for it
            log.warning("HTTP server did not stop within %.0f s; forcing", STOP_TIMEOUT)
            self._server.force_exit = True
            self._thread.join(5)
        self._socket.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def start_http_server(rt: Runtime, host: str = "127.0.0.1", port: int = 8080
                      ) -> HttpServerHandle:
    """Serve ``create_app(rt)`` on ``host:port`` (0: any free port) until ``stop()``."""
    sock = _bind(host, port)
    config = uvicorn.Config(
        create_app(rt), log_level="warning", access_log=False, lifespan="off",
        http="h11", ws="none", loop="asyncio", server_header=False,
        # X-Forwarded-For/-Proto are believed only from the configured proxies (none by
        # default): from anyone else they would let a client pick the address that the
        # per-address login limit counts. uvicorn takes the right-most untrusted hop.
        proxy_headers=bool(rt.settings.trusted_proxies),
        forwarded_allow_ips=list(rt.settings.trusted_proxies) or None,
        timeout_graceful_shutdown=10)
    server = uvicorn.Server(config)
    # uvicorn installs signal handlers only on the main thread; the serve command keeps its own.
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="ticketgate-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        server.should_exit = True
        thread.join(STOP_TIMEOUT)
        sock.close()
        raise RuntimeError(f"the HTTP server on {host}:{port} did not start")
    address = sock.getsockname()[:2]
    log.info("console and API on http://%s:%s", *address)
    return HttpServerHandle((address[0], address[1]), server, thread, sock)
