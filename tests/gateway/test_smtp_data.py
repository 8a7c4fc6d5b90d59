"""Reading DATA: the end marker, dot-unstuffing and the size limit, chunk by chunk (pure I/O)."""

from __future__ import annotations

import asyncio

from gateway.smtp.protocol import read_data


def _read(chunks: list[bytes], limit: int | None = None, *, eof: bool = False
          ) -> tuple[tuple[bytes, bool] | None, bytes]:
    """What ``read_data`` returns for bytes arriving in ``chunks``, and what it left unread."""

    async def run() -> tuple[tuple[bytes, bool] | None, bytes]:
        reader = asyncio.StreamReader()

        async def feed() -> None:
            for chunk in chunks:
                reader.feed_data(chunk)
                await asyncio.sleep(0)  # let the reader see each chunk on its own
            if eof:
                reader.feed_eof()

        feeder = asyncio.create_task(feed())
        result = await read_data(reader, limit)
        await feeder
        left = bytes(reader._buffer)  # what the next command will read
        return result, left

    return asyncio.run(run())


def _bytewise(data: bytes) -> list[bytes]:
    return [data[i:i + 1] for i in range(len(data))]


def test_empty_message_ends_at_the_first_line():
    """A lone dot right after 354 is an empty message."""
    assert _read([b".\r\n"]) == ((b"", False), b"")


def test_leading_dots_are_removed_from_each_line():
    """RFC 5321 4.5.2: the sender doubled them; we undo it, on the first line too."""
    assert _read([b"..one\r\ntwo\r\n..three\r\n.\r\n"])[0] == (b".one\r\ntwo\r\n.three\r\n",
                                                            False)


def test_end_marker_split_across_chunks_is_found():
    """Bytes arrive one at a time: the marker straddles every possible boundary."""
    assert _read(_bytewise(b"Subject: x\r\n\r\nbody\r\n.\r\n"))[0] == (
        b"Subject: x\r\n\r\nbody\r\n", False)


def test_bare_lf_dot_is_content_not_the_end():
    """Only CRLF.CRLF ends DATA (the SMTP smuggling fix); LF.LF is part of the message."""
    assert _read([b"a\n.\nb\r\n.\r\n"])[0] == (b"a\n.\nb\r\n", False)


def test_over_the_limit_is_read_to_the_end_and_refused():
    """The whole message is consumed (the session stays in sync) but nothing is returned."""
    body = b"x" * 70 + b"\r\n"
    assert _read([*_bytewise(body * 3), b".\r\n"], limit=100) == ((b"", True), b"")


def test_exactly_at_the_limit_is_accepted():
    """The limit counts the message's bytes as sent, final CRLF included."""
    body = b"x" * 98 + b"\r\n"
    assert _read([body, b".\r\n"], limit=100)[0] == (body, False)


def test_bytes_after_the_end_marker_are_left_for_the_next_command():
    """A client that pipelines QUIT does not lose it."""
    assert _read([b"hi\r\n.\r\nQUIT\r\n"]) == ((b"hi\r\n", False), b"QUIT\r\n")


def test_connection_closed_mid_data_returns_nothing():
    """No end marker, no message: the sender never got a 250 and will retry."""
    assert _read([b"half a mess"], eof=True) == (None, b"")
