"""Sessions built as copies (``protocol.SessionFactory``) against sessions built by aiosmtpd.

The fast path copies a prototype's attributes and rebinds its methods; the general path
is aiosmtpd's own ``__init__``. They must give the same session, attribute by attribute, for
SMTP and LMTP, with and without AUTH; and no copy may share per-session state with another.
"""

from __future__ import annotations

import asyncio
import dataclasses
import smtplib
import types
import weakref
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.smtp import _AuthMechAttr
from sqlalchemy import text

from gateway.smtp.handler import IntakeHandler
from gateway.smtp.server import SmtpListener
from workflows.runtime import Runtime

CARE = "care@desk.example"


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _listener(rt: Runtime, loop: asyncio.AbstractEventLoop, **smtp: Any) -> SmtpListener:
    settings = dataclasses.replace(rt.settings, smtp=dataclasses.replace(rt.settings.smtp,
                                                                         **smtp))
    handler = IntakeHandler(settings, writer=None, lmtp=settings.smtp.lmtp)  # type: ignore[arg-type]
    listener = SmtpListener(settings.smtp, handler, writer=None)  # type: ignore[arg-type]
    listener._loop.close()
    listener._loop = loop
    listener._new_session.kwargs["loop"] = loop
    return listener


def _assert_same_value(key: str, copied: Any, built: Any, copy: object, reference: object,
                       other: object) -> None:
    """``copied`` (an attribute of ``copy``) is what aiosmtpd gave ``reference`` as ``built``."""
    assert type(copied) is type(built), key
    if isinstance(built, types.MethodType):
        assert copied.__func__ is built.__func__, key
        if built.__self__ is reference:
            assert copied.__self__ is copy, key
        else:  # the handler's hooks: the one handler of the listener
            assert copied.__self__ is built.__self__, key
    elif isinstance(built, _AuthMechAttr):
        assert copied.is_builtin == built.is_builtin, key
        _assert_same_value(key, copied.method, built.method, copy, reference, other)
    elif isinstance(built, dict):
        assert list(copied) == list(built), key
        assert copied is not getattr(other, key), f"{key} is shared with another session"
        for name in built:
            _assert_same_value(f"{key}[{name}]", copied[name], built[name], copy, reference,
                               other)
    elif isinstance(built, asyncio.StreamReader):
        assert copied._limit == built._limit, key
        assert copied is not getattr(other, key), key
    elif isinstance(built, weakref.ReferenceType):
        assert copied() is copy._strong_reader, key  # type: ignore[attr-defined]
    elif isinstance(built, asyncio.Future):
        assert copied is not getattr(other, key), key
        assert not copied.done(), key
    elif isinstance(built, deque):
        assert copied is not getattr(other, key), key
        assert not copied, key
    else:
        assert copied == built, key


@pytest.mark.parametrize("options", [
    {},
    {"lmtp": True},
    {"auth_required": True, "auth_users": (("relay", "secret"),)},
], ids=["smtp", "lmtp", "auth"])
def test_a_copied_session_is_the_session_aiosmtpd_builds(rt, loop, options):
    listener = _listener(rt, loop, **options)
    factory = listener._new_session
    copies = [factory(), factory()]
    reference = factory.cls(factory.handler, **factory.kwargs)
    for copy, other in zip(copies, reversed(copies), strict=True):
        assert type(copy) is type(reference)
        assert vars(copy).keys() == vars(reference).keys()
        for key, built in vars(reference).items():
            _assert_same_value(key, vars(copy)[key], built, copy, reference, other)
    assert copies[0]._smtp_methods["DATA"].__self__ is copies[0]
    assert copies[1]._smtp_methods["DATA"].__self__ is copies[1]
    if options.get("auth_required"):
        assert set(copies[0]._auth_methods) == {"LOGIN", "PLAIN"}


def test_a_copied_session_starts_with_the_command_line_limits_of_a_new_one(rt, loop):
    """EHLO raises the MAIL line's limit in a dict aiosmtpd keeps on the class; each new
    session starts from the plain limits again, as aiosmtpd's ``__init__`` gives them."""
    factory = _listener(rt, loop)._new_session
    first = factory()
    first.command_size_limits["MAIL"] += 36  # what an EHLO with SIZE and SMTPUTF8 adds
    second = factory()
    assert second.command_size_limits["MAIL"] == second.command_size_limit


def test_sessions_built_by_the_listener_answer_each_their_own_client(rt, serve_smtp):
    """Several sessions through one listener at once: each keeps its own dialogue and its
    mail."""
    listener = serve_smtp()
    clients = [smtplib.SMTP(*listener.address, timeout=30) for _ in range(3)]
    try:
        for n, client in enumerate(clients):
            assert client.ehlo(f"client{n}.example")[0] == 250
        for n, client in enumerate(clients):
            client.sendmail(f"s{n}@example.com", [CARE],
                            f"From: s{n}@example.com\r\nMessage-ID: <f{n}@x>\r\n\r\nHi {n}\r\n"
                            .encode())
    finally:
        for client in clients:
            client.quit()
    with rt.db.reading() as conn:
        ids = sorted(conn.execute(text("select message_id from inbound_messages")).scalars())
    assert ids == ["f0@x", "f1@x", "f2@x"]
