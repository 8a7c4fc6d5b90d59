"""Issue 15's later parse fast paths give what the general code gives.

Each test compares a fast path with the plain code it stands in for, on Hypothesis input
biased toward the strings the fast path keys on, so that it answers a good share of cases.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from parsing import trimmer as T

from .test_trimmer_fastpaths import LINE, WRAPPED

SETTINGS = settings(max_examples=1500, deadline=None)

# Lines that recur, so that the process-wide kind cache answers most of them, beside new ones.
RECURRING = st.sampled_from([*WRAPPED, ">", "> ", "> --", "-- ", "On Mon, Care wrote:",
                             "> Reference: [ref:CASE-1001:qwpd4ne4k6lbb5x2]", "```", " ``` ",
                             "Sent from my phone", "From: x", "x" * 501, "> " + "x" * 499])


@SETTINGS
@given(st.lists(st.lists(RECURRING | LINE, max_size=12), max_size=6), st.integers(1, 8))
def test_cached_line_kinds_are_the_kinds(bodies: list[list[str]], size: int) -> None:
    """The process-wide cache of line kinds (tiny here, so it fills and empties) answers what
    classifying each line afresh answers, across several bodies."""
    saved = T._KIND_CACHE_SIZE
    T._KIND_CACHE_SIZE = size
    try:
        for lines in bodies:
            assert T._classify_all(lines) == "".join(T._classify(line) for line in lines)
            assert len(T._kind_cache) <= size
    finally:
        T._KIND_CACHE_SIZE = saved
        T._kind_cache.clear()
