"""The log lines' cached timestamp (``logs.timestamp``) against datetime's, the general path."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from gateway.logs import _timestamp_general, timestamp


# From 1970 to 2200: the times a log record is made at (strftime's %Y pads no year before 1000).
@given(st.floats(min_value=0, max_value=7_258_118_400, allow_nan=False))
@example(1765045158.4775)  # half a microsecond: rounded half to even
@example(1765045158.9999996)  # rounds up into the next second
@example(1765045159.0)
@example(0.0)
def test_the_cached_timestamp_is_datetimes(created):
    assert timestamp(created) == _timestamp_general(created)


def test_the_same_second_twice_and_the_next():
    """The cache answers for its own second only."""
    assert timestamp(1765045158.001) == "2025-12-06T18:19:18.001+00:00"
    assert timestamp(1765045158.999) == "2025-12-06T18:19:18.999+00:00"
    assert timestamp(1765045159.5) == "2025-12-06T18:19:19.500+00:00"
    assert timestamp(1765045158.25) == "2025-12-06T18:19:18.250+00:00"
