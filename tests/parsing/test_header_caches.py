"""The process-wide caches of address and Message-ID lists, and the header fast paths, against
the plain code: each answer, fresh or remembered, must be what the uncached code gives, and a
caller changing the defects it got back must not change the next answer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parsing import headers
from parsing.headers import _SIMPLE_MAILBOX, _Structure
from parsing.model import Defect
from tests.parsing.generated import examples

SETTINGS = examples(300)
VALUES = st.lists(
    st.lists(
        st.sampled_from([
            "alice@acme.example", "Alice <alice@acme.example>", '"A, B" <ab@x.example>',
            "(c) x@y.example", "\\@", "@", "<", ">", ",", " ", "=?utf-8?q?B=FCr,_A?=", "x",
            "<id-1@client.example>", "bare@id", '"q@x"', "group: a@b.example;", "é",
        ]),
        max_size=6,
    ).map("".join),
    max_size=3,
)  # fmt: skip


@SETTINGS
@given(st.lists(st.tuples(VALUES, st.sampled_from(["from", "to", "cc"])), min_size=1,
                max_size=6))
def test_addresses_with_cache_answer_as_without(calls: list) -> None:
    for values, where in calls + calls:  # the second round from the cache
        found, defects = headers.addresses(values, where)
        assert (found, defects) == headers.addresses_uncached(values, where)
        defects.append(Defect("x", "a caller's own"))  # must not reach the cache
        assert headers.addresses(values, where) == headers.addresses_uncached(values, where)


@SETTINGS
@given(st.lists(VALUES, min_size=1, max_size=6))
def test_id_list_with_cache_answers_as_without(calls: list) -> None:
    for values in calls + calls:
        assert headers.id_list(values) == headers.id_list_uncached(values)


@SETTINGS
@given(VALUES)
def test_bare_at_as_the_structure_walk(values: list[str]) -> None:
    for value in values:
        where = _Structure()
        walked = any(where.outside(char) and char == "@" for char in value)
        assert headers._bare_at(value) is walked


@SETTINGS
@given(VALUES)
def test_simple_mailbox_needs_an_angle_bracket(values: list[str]) -> None:
    for value in values:
        for item in value.split(","):
            if "<" not in item:
                assert _SIMPLE_MAILBOX.fullmatch(item) is None


def test_caches_stay_bounded_and_skip_long_values() -> None:
    for n in range(headers._CACHE_SIZE + 10):
        headers.addresses([f"u{n}@x.example"], "to")
        headers.id_list([f"<{n}@x.example>"])
    assert len(headers._address_cache) <= headers._CACHE_SIZE
    assert len(headers._id_cache) <= headers._CACHE_SIZE
    long = ", ".join(f"u{n}@x.example" for n in range(200))
    headers.addresses([long], "to")
    headers.id_list([long])
    assert ("to", long) not in headers._address_cache
    assert (long,) not in headers._id_cache
