"""A Reference ID written with letters that only *fold* to base32 (Turkish dotless i, long s)
must be a wrong token, never a parser failure that drops the whole mail as ``no_sender``."""

from __future__ import annotations

import re

REPLY = """\
From: Alice <alice@acme.example>
To: care@desk.example
Subject: Re: Printer on fire {token}
Message-ID: <lookalike-{n}@acme.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

It is a LaserJet 4.
The vendor's ticket said: {quoted}
"""


def _token(tmp_path) -> str:
    [raw] = [p.read_text() for p in (tmp_path / "var" / "outbox").glob("*.eml")]
    found = re.search(r"\[ref:CASE-1001:([a-z2-7]{16})\]", raw)
    assert found
    return found.group(0)


def _ingest(cli, tmp_path, text: str, n: int):
    path = tmp_path / f"reply-{n}.eml"
    path.write_bytes(text.replace("\n", "\r\n").encode())
    run = cli("ingest", str(path))
    assert run.code == 0, run.err
    return run.out[0]


def test_a_reply_quoting_a_dotless_i_token_is_still_linked(cli, desk, tmp_path):
    """Was rejected/no_sender: compare_digest raised TypeError on the non-ASCII MAC."""
    token = _token(tmp_path)
    lookalike = token[:-10] + "\u0131\u0131" + token[-8:]
    line = _ingest(cli, tmp_path, REPLY.format(token=token, quoted=lookalike, n=1), 1)
    assert (line["outcome"], line["reason"], line["case"]) == ("linked", "reply", "CASE-1001")


def test_a_lookalike_token_alone_is_an_invalid_reference(cli, desk, tmp_path):
    token = _token(tmp_path)
    lookalike = token[:-10] + "\u017f\u0131" + token[-8:]
    line = _ingest(cli, tmp_path, REPLY.format(token="", quoted=lookalike, n=2), 2)
    assert (line["outcome"], line["reason"]) == ("triaged", "invalid_reference")


def test_a_message_id_with_a_lookalike_mac_is_parsed(cli, desk, tmp_path):
    """The loop rule's own_message_id compared the same way; a Message-ID that only looks like
    ours is a stranger's mail (triage), not a parse failure."""
    mac = _token(tmp_path)[15:-1]
    text = REPLY.format(token="", quoted="no token here", n=3).replace(
        "<lookalike-3@acme.example>", f"<ref.CASE-1001.{mac[:-2]}\u0131\u0131.x@desk.example>")
    line = _ingest(cli, tmp_path, text, 3)
    assert line["reason"] != "no_sender", line
