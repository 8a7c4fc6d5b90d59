"""A reply-all to two of our mailboxes is one mail, delivered once per mailbox by the MX (or
fetched once per inbox by IMAP): it lands on its case once. It was linked twice, one update
per copy ("nothing doubled")."""

from __future__ import annotations

import json
import re

REPLY = """\
Received: from mx.desk.example by {hop}
From: Alice <alice@acme.example>
To: care@desk.example
Cc: new@desk.example
Subject: Re: Printer on fire {token}
Message-ID: <reply-all-1@acme.example>

It is a LaserJet 4.
"""


def _token(tmp_path) -> str:
    [raw] = [p.read_text() for p in (tmp_path / "var" / "outbox").glob("*.eml")]
    found = re.search(r"\[ref:CASE-1001:[a-z2-7]{16}\]", raw)
    assert found
    return found.group(0)


def _copy(cli, tmp_path, mailbox: str):
    path = tmp_path / f"copy-{mailbox}.eml"
    text = REPLY.format(hop=mailbox, token=_token(tmp_path))
    path.write_bytes(text.replace("\n", "\r\n").encode())
    run = cli("ingest", str(path), "--mailbox", mailbox)
    assert run.code == 0, run.err
    return run.out[0]


def test_the_copy_to_a_second_mailbox_is_a_duplicate(cli, desk, tmp_path):
    first = _copy(cli, tmp_path, "care@desk.example")
    second = _copy(cli, tmp_path, "new@desk.example")
    assert (first["outcome"], first["case"]) == ("linked", "CASE-1001")
    assert (second["outcome"], second["reason"]) == ("duplicate", "same_message_id")
    shown = cli("case", "show", "CASE-1001")
    replies = [u for u in shown.out[0]["updates"] if u["direction"] == "inbound"]
    assert len(replies) == 1, json.dumps(replies)
