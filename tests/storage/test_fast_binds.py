"""The storage layer's fast bind paths give what the general ones give (issue 15).

``UTCDateTime.bind_processor`` skips TypeDecorator's generic chain for UTC datetimes (on SQLite
formatting them with ``isoformat``), and
``dump_json`` (SQLite's ``json_serializer``) skips ``json.dumps``'s encoder set-up for lists of
strings: both compared here with the general path they replace.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import TypeDecorator
from sqlalchemy.dialects import postgresql, sqlite

from workflows.storage.base import UTCDateTime, dump_json

DIALECTS = [sqlite.dialect(), postgresql.dialect()]
ZONES = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(0)), dt.timezone(dt.timedelta(hours=5)),
                         dt.timezone(-dt.timedelta(hours=3, minutes=30)),
                         zoneinfo.ZoneInfo("UTC"), zoneinfo.ZoneInfo("Europe/Paris")])
# Any text, lone surrogates included (json escapes them as \\udxxx).
TEXT = st.text(st.characters(codec=None, exclude_categories=()))
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12)


def _both(dialect):
    decorated = UTCDateTime().dialect_impl(dialect)
    return decorated.bind_processor(dialect), TypeDecorator.bind_processor(decorated, dialect)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@given(when=st.datetimes(min_value=dt.datetime(2, 1, 1), timezones=ZONES))
def test_utc_datetime_binds_as_the_general_chain(dialect, when):
    fast, general = _both(dialect)
    assert fast(when) == general(when)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_utc_datetime_keeps_refusing_naive_and_passing_none(dialect):
    fast, general = _both(dialect)
    assert fast(None) == general(None)
    with pytest.raises(ValueError, match="naive"):
        fast(dt.datetime(2026, 12, 6, 18, 0))


@given(st.lists(TEXT, max_size=6))
def test_dump_json_of_a_list_of_strings_is_json_dumps(values):
    assert dump_json(values) == json.dumps(values)


@given(st.dictionaries(TEXT, TEXT, max_size=4))
def test_dump_json_of_a_dict_of_strings_is_json_dumps(values):
    assert dump_json(values) == json.dumps(values)


@given(JSON)
def test_dump_json_of_any_value_is_json_dumps(value):
    assert dump_json(value) == json.dumps(value)
