"""One meaning for a time without a zone (issue 11 §3): the CLI reads it in ``desk_timezone``
(UTC unless configured) and says so in its output."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, load_settings
from gateway.timeinput import TimeInputError, read_time


def test_a_time_without_an_offset_is_read_in_utc_by_default(cli):
    """`timers run --at 2026-03-10T09:00` is 09:00 UTC, and the output names the zone."""
    run = cli("timers", "run", "--at", "2026-03-10T09:00", "--dry-run")
    assert run.code == 0, run.err
    assert (run.out[0]["at"][:19], run.out[0]["times_read_in"]) == ("2026-03-10T09:00:00",
                                                                   "UTC")


def test_the_desk_timezone_setting_moves_the_meaning(cli, monkeypatch):
    """With `TICKETGATE_DESK_TIMEZONE=Europe/Berlin`, 09:00 is 08:00 UTC."""
    monkeypatch.setenv("TICKETGATE_DESK_TIMEZONE", "Europe/Berlin")
    run = cli("timers", "run", "--at", "2026-03-10T09:00", "--dry-run")
    assert (run.out[0]["at"][:19], run.out[0]["times_read_in"]) == ("2026-03-10T08:00:00",
                                                                   "Europe/Berlin")


def test_an_offset_wins_over_the_desk_timezone(cli, monkeypatch):
    """A time that says its zone means that instant wherever the desk is."""
    monkeypatch.setenv("TICKETGATE_DESK_TIMEZONE", "Europe/Berlin")
    run = cli("timers", "run", "--at", "2026-03-10T09:00-07:00", "--dry-run")
    assert run.out[0]["at"][:19] == "2026-03-10T16:00:00"


def test_an_unknown_desk_timezone_stops_the_start_with_its_name():
    """A typo in the setting is a configuration error, not a silent UTC."""
    with pytest.raises(ConfigError, match="desk_timezone 'Europe/Berln'"):
        load_settings(env={"TICKETGATE_DESK_TIMEZONE": "Europe/Berln"})


def test_the_setting_is_read_from_the_toml_file(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[gateway]\ndesk_timezone = "America/Denver"\n')
    assert load_settings(config, env={"TICKETGATE_HOME": str(tmp_path)}).desk_timezone == \
        "America/Denver"


def test_read_time_names_what_it_read():
    """The zone it applied, or the offset the time carried."""
    assumed = read_time("2026-03-07T23:00", "America/Denver")
    given = read_time("2026-03-07T23:00+01:00", "America/Denver")
    assert (assumed.at.isoformat(), assumed.zone, assumed.assumed) == (
        "2026-03-08T06:00:00+00:00", "America/Denver", True)
    assert (given.at.isoformat(), given.zone, given.assumed) == (
        "2026-03-07T22:00:00+00:00", "UTC+01:00", False)
    with pytest.raises(TimeInputError, match="not a time"):
        read_time("next tuesday", "UTC")
