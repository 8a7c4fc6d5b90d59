"""The business calendar: business-time arithmetic across weekends, holidays, DST and year ends."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.lifecycle.conftest import local
from workflows.clock.calendar import (
    BusinessCalendar,
    CalendarError,
    Duration,
    TimeUnit,
    parse_duration,
    parse_hours,
    parse_workdays,
)

DAY = 10 * 3600  # one business day of 08:00-18:00


def test_two_business_days_from_friday_skip_the_weekend():
    """A request on Friday afternoon is due on Tuesday afternoon, not Sunday."""
    cal = BusinessCalendar("Europe/Berlin")
    assert cal.add_days(local(2026, 3, 6, 16), 2) == local(2026, 3, 10, 16)


def test_spring_forward_keeps_local_hours():
    """Across the March DST change the due time is the same local hour, one hour earlier in UTC."""
    cal = BusinessCalendar("Europe/Berlin", country="DE")
    due = cal.add_days(local(2026, 3, 27, 16), 2)
    assert due == local(2026, 3, 31, 16)
    assert due == dt.datetime(2026, 3, 31, 14, tzinfo=dt.UTC)  # CEST: UTC+2, was UTC+1


def test_fall_back_keeps_local_hours_in_denver():
    """Across the November DST change (America/Denver) too."""
    cal = BusinessCalendar("America/Denver", country="US")
    due = cal.add_days(local(2026, 10, 30, 9, zone="America/Denver"), 2)
    assert due == local(2026, 11, 3, 9, zone="America/Denver")
    assert due == dt.datetime(2026, 11, 3, 16, tzinfo=dt.UTC)  # MST: UTC-7, was UTC-6


def test_year_end_skips_christmas_and_new_year():
    """Public holidays of the country and the weekend across a year end are not business days."""
    cal = BusinessCalendar("Europe/Berlin", country="DE")
    # Dec 24 is a workday in Germany; Dec 25 (Fri) and Jan 1 (Fri) are holidays.
    assert cal.add_days(local(2026, 12, 23, 10), 2) == local(2026, 12, 28, 10)
    assert cal.add_days(local(2026, 12, 30, 10), 2) == local(2027, 1, 4, 10)


def test_extra_closed_days_are_skipped():
    """An organization's own closed day (Christmas Eve) counts like a holiday."""
    cal = BusinessCalendar("Europe/Berlin", country="DE", closed_days=[dt.date(2026, 12, 24)])
    assert cal.add_days(local(2026, 12, 23, 10), 2) == local(2026, 12, 29, 10)


def test_subdivision_holidays_apply():
    """DE-BY keeps Epiphany (Jan 6), which Germany as a whole does not."""
    national = BusinessCalendar("Europe/Berlin", country="DE")
    bavaria = BusinessCalendar("Europe/Berlin", country="DE-BY")
    assert national.is_business_day(dt.date(2027, 1, 6))
    assert not bavaria.is_business_day(dt.date(2027, 1, 6))


def test_a_result_on_closing_time_stays_there():
    """Ten business hours from opening end at closing the same day, not at next opening."""
    cal = BusinessCalendar("UTC")
    monday = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    assert cal.add(monday, DAY) == dt.datetime(2026, 3, 2, 18, tzinfo=dt.UTC)


def test_a_start_outside_hours_counts_from_next_opening():
    """A request on Saturday starts counting on Monday 08:00."""
    cal = BusinessCalendar("UTC")
    saturday = dt.datetime(2026, 3, 7, 12, tzinfo=dt.UTC)
    assert cal.add(saturday, 3600) == dt.datetime(2026, 3, 9, 9, tzinfo=dt.UTC)


def test_between_counts_only_business_seconds():
    """Friday 17:00 to Monday 09:00 is two business hours."""
    cal = BusinessCalendar("UTC")
    assert cal.between(dt.datetime(2026, 3, 6, 17, tzinfo=dt.UTC),
                       dt.datetime(2026, 3, 9, 9, tzinfo=dt.UTC)) == 2 * 3600


def test_custom_hours_and_workdays():
    """A Sunday-to-Thursday desk open 09:00-17:00 counts eight-hour days and skips Friday."""
    cal = BusinessCalendar("Asia/Jerusalem", hours="09:00-17:00", workdays="sun-thu")
    assert cal.day_seconds == 8 * 3600
    start = local(2026, 3, 5, 16, zone="Asia/Jerusalem")  # Thursday
    assert cal.add_days(start, 1) == local(2026, 3, 8, 16, zone="Asia/Jerusalem")  # Sunday


def test_dates_before_the_first_question_are_indexed_too():
    """Measuring a clock that started long before the calendar was first used still works."""
    cal = BusinessCalendar("UTC")
    cal.add_days(dt.datetime(2027, 6, 1, 9, tzinfo=dt.UTC), 1)
    early = dt.datetime(2025, 1, 6, 8, tzinfo=dt.UTC)  # a Monday, long before
    assert cal.between(early, early + dt.timedelta(days=7)) == 5 * DAY


@settings(max_examples=200, deadline=None)
@given(start=st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 12, 31),
                          timezones=st.just(dt.UTC)),
       seconds=st.integers(min_value=1, max_value=40 * DAY),
       zone=st.sampled_from(["Europe/Berlin", "America/Denver", "Australia/Sydney", "UTC"]))
def test_add_and_between_are_inverse(start, seconds, zone):
    """Whatever the zone and the DST changes crossed, measuring what was added gives it back."""
    cal = BusinessCalendar(zone, country={"Europe/Berlin": "DE", "America/Denver": "US",
                                          "Australia/Sydney": "AU"}.get(zone))
    end = cal.add(start, seconds)
    assert end > start
    assert cal.between(start, end) == pytest.approx(seconds, abs=1e-3)


@pytest.mark.parametrize("text, expected", [
    ("2bd", Duration(2, TimeUnit.BUSINESS_DAYS)),
    ("4 business hours", Duration(4, TimeUnit.BUSINESS_HOURS)),
    ("24h", Duration(24, TimeUnit.HOURS)),
    ("15min", Duration(15, TimeUnit.MINUTES)),
])
def test_durations_parse(text, expected):
    """SLA targets are written the way the support guides state them."""
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["2 weeks", "bd", "", "-1h"])
def test_bad_durations_are_refused(bad):
    """A typo in a target must stop the configuration, not silently mean zero."""
    with pytest.raises(CalendarError):
        parse_duration(bad)


@pytest.mark.parametrize("bad", ["18:00-08:00", "8-18", "08:00-24:30", "25:00-26:00"])
def test_bad_hours_are_refused(bad):
    """Business hours are one window inside one day."""
    with pytest.raises(CalendarError):
        parse_hours(bad)


def test_workday_ranges_wrap_over_the_week_end():
    """fri-mon is Friday, Saturday, Sunday and Monday."""
    assert parse_workdays("fri-mon") == {4, 5, 6, 0}


def test_unknown_country_is_refused():
    """An organization in a country without known holidays would silently work through them."""
    from workflows.clock.calendar import check_country

    with pytest.raises(CalendarError):
        check_country("XX")
