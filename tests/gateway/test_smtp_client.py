"""The outbound SMTP transport against a real server: pipelined runs, refusals, lost lines."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from gateway.smtp_client import SmtpTransport
from tests.notices.conftest import Sink, free_port
from workflows.outbound.outbox import TransportError, UncertainDelivery

SENDER = "care@desk.example"


def items(*recipients: str) -> list[tuple[bytes, str, list[str]]]:
    return [(f"Subject: {r}\r\nMessage-ID: <{r}>\r\n\r\nHello\r\n.leading dot\r\n".encode(),
             SENDER, [r]) for r in recipients]


@pytest.fixture(params=[True, False], ids=["pipelining", "one-by-one"])
def server(request):  # type: ignore[no-untyped-def]
    handler = Sink(pipelining=request.param)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, SmtpTransport("127.0.0.1", controller.port, timeout=30)
    controller.stop()


def received(handler: Sink) -> list[str]:
    return [rcpts[0] for rcpts, _ in handler.messages]


def test_a_run_arrives_whole_and_in_order_on_one_connection(server):
    """Five messages, one session: each taken once, dot-stuffing undone by the server."""
    handler, smtp = server
    with smtp.session() as conn:
        assert conn.send_many(items("a@x", "b@x", "c@x", "d@x", "e@x")) == [None] * 5
        assert conn.messages == 5
    assert received(handler) == ["a@x", "b@x", "c@x", "d@x", "e@x"]
    assert b"\r\n.leading dot\r\n" in handler.messages[0][1]


def test_a_refused_recipient_fails_alone(server):
    """550 at RCPT: that message fails permanently; the session resets and goes on."""
    handler, smtp = server
    handler.refuse["b@x"] = "550 5.1.1 no such user"
    with smtp.session() as conn:
        results = conn.send_many(items("a@x", "b@x", "c@x"))
    assert isinstance(results[1], TransportError) and not results[1].temporary
    assert (results[0], results[2], received(handler)) == (None, None, ["a@x", "c@x"])


def test_a_4xx_at_end_of_data_is_temporary(server):
    """451 after the content: try that one again later; the others are taken."""
    handler, smtp = server
    handler.replies["b@x"] = "451 4.3.0 try later"
    with smtp.session() as conn:
        results = conn.send_many(items("a@x", "b@x", "c@x"))
    assert isinstance(results[1], TransportError) and results[1].temporary
    assert received(handler) == ["a@x", "c@x"]


def test_a_line_cut_after_the_content_is_uncertain_and_the_rest_go_on_a_new_one(server):
    """The server took b, then the line dropped before its 250: b is 'maybe sent' (never
    retried); c and d go over a fresh connection."""
    handler, smtp = server
    handler.drop.add("b@x")
    with smtp.session() as conn:
        results = conn.send_many(items("a@x", "b@x", "c@x", "d@x"))
    assert isinstance(results[1], UncertainDelivery)
    assert (results[0], results[2], results[3]) == (None, None, None)
    assert received(handler) == ["a@x", "b@x", "c@x", "d@x"]


def test_nobody_listening_is_temporary_for_every_message():
    """Connection refused: nothing was taken, all can be retried."""
    with SmtpTransport("127.0.0.1", free_port(), timeout=5).session() as conn:
        results = conn.send_many(items("a@x", "b@x"))
    assert all(isinstance(r, TransportError) and r.temporary for r in results)
