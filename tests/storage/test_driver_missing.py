"""The scale-out drivers are extras: a missing one is a sentence naming the extra."""

from __future__ import annotations

import sys

import pytest

from workflows.storage.db import DatabaseUnavailable, make_engine


def test_a_missing_postgres_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now fails
    with pytest.raises(DatabaseUnavailable, match=r"pip install 'ticketgate\[postgres\]'"):
        make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
