"""The pure parts of ``gateway.supervisor``: the restart pause and the id lines on the pipe."""

from __future__ import annotations

from gateway.supervisor import LINE_LIMIT, RestartBackoff, decode_ids, encode_ids


def test_backoff_doubles_per_death_in_a_row_up_to_the_longest():
    """A crash loop slows down instead of spinning; the pause never exceeds ``longest``."""
    backoff = RestartBackoff(first=0.5, longest=4.0)
    assert [backoff.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_ids_round_trip_in_lines_short_enough_to_be_written_whole():
    """Every line fits one atomic pipe write, and the lines give back every id in order."""
    ids = list(range(1_000_000, 1_003_000))
    lines = encode_ids(ids)
    assert len(lines) > 1 and all(len(line) <= LINE_LIMIT for line in lines)
    assert [i for line in lines for i in decode_ids(line)] == ids


def test_garbled_tokens_are_skipped():
    """A token that is not an id is dropped (its row, if any, is found by the sweep)."""
    assert decode_ids(b"12 x3 -4 56\n") == [12, 56]
