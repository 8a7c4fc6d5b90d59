"""The ``mail.accepted`` line: one per message kept for the first time, apart from the commit."""

from __future__ import annotations

import logging

from workflows.inbound.intake import Envelope, accept_many, commit_many

CARE = "care@desk.example"
RAW = b"Message-ID: <log-1@acme.example>\r\n\r\nhello\r\n"


def _accepted_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == "mail.accepted"]


def test_accept_many_logs_a_line_per_new_message_only(rt, caplog):
    caplog.set_level(logging.INFO, logger="workflows.inbound.intake")
    items = [(RAW, Envelope(mailbox=CARE.upper(), transport="smtp"))] * 2
    first = accept_many(rt.db, items, now=rt.now())
    accept_many(rt.db, items[:1], now=rt.now())  # redelivered: no second line
    [line] = _accepted_lines(caplog)
    assert (line.inbound_id, line.message_id, line.mailbox, line.size, line.transport) == (
        first[0].inbound_id, "log-1@acme.example", CARE, len(RAW), "smtp")


def test_commit_many_logs_nothing(rt, caplog):
    caplog.set_level(logging.INFO, logger="workflows.inbound.intake")
    assert commit_many(rt.db, [(RAW, Envelope(mailbox=CARE))], now=rt.now())[0].created
    assert _accepted_lines(caplog) == []
