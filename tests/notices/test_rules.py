"""Planned maintenance rules: each refusal names its rule and reason; force records why."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.notices.conftest import DST_END, DST_START, NOW, create
from workflows.errors import Refused
from workflows.notices import service
from workflows.notices.blackout import holiday_weekend
from workflows.notices.model import NoticeKind, Window
from workflows.notices.rules import Plan, RuleConfig, check_plan
from workflows.settings import Settings
from workflows.storage.models import AuditEvent, Notice

MT = dt.timezone(dt.timedelta(hours=-7))  # MST; MDT is -6
MDT = dt.timezone(dt.timedelta(hours=-6))
CFG = RuleConfig.from_settings(Settings(home=Path("."), database_url="", mailboxes=()))


def rules(start: dt.datetime, end: dt.datetime, *, lead_days: float = 10,
          window: Window = Window.WEEKLY, cfg: RuleConfig = CFG) -> dict[str, str]:
    plan = Plan(window, start, end, start - dt.timedelta(days=lead_days))
    return {r.rule: r.reason for r in check_plan(plan, cfg)}


def test_a_weekly_window_with_ten_days_notice_passes():
    """Sat 23:00-Sun 04:00 Denver (across the DST change), 10 days ahead: nothing to refuse."""
    assert rules(DST_START, DST_END) == {}


def test_less_than_seven_days_notice_is_refused():
    """Planned work is announced at least 7 days ahead."""
    assert "at least 7 days' notice" in rules(DST_START, DST_END, lead_days=5)["lead_time"]


def test_more_than_fourteen_days_ahead_is_refused_with_the_date_to_send():
    """Announced too early it would be forgotten: send it from 14 days before."""
    reason = rules(DST_START, DST_END, lead_days=20)["lead_time"]
    assert "at most 14 days ahead" in reason and "Sat 21 Feb 2026 23:00 MST" in reason


def test_work_outside_the_tue_thu_sat_window_is_refused():
    """Weekly work starts at 23:00 Denver on Tue, Thu or Sat (Wed 4 Mar is none)."""
    start = dt.datetime(2026, 3, 4, 23, 0, tzinfo=MT)
    assert "weekly_window" in rules(start, start + dt.timedelta(hours=4))


def test_work_running_past_four_in_the_morning_is_refused():
    """The window closes at 04:00 Denver."""
    start = dt.datetime(2026, 3, 5, 23, 0, tzinfo=MT)
    assert "weekly_window" in rules(start, start + dt.timedelta(hours=6))


def test_quarterly_work_needs_thirty_days_notice():
    """Echopass Table 1: quarterly maintenance, 30 days."""
    start = dt.datetime(2026, 4, 16, 22, 0, tzinfo=MDT)
    end = start + dt.timedelta(hours=6)
    assert "at least 30 days" in rules(start, end, lead_days=20,
                                       window=Window.QUARTERLY)["lead_time"]
    assert rules(start, end, lead_days=31, window=Window.QUARTERLY) == {}


def test_annual_work_needs_ninety_days_notice():
    """Echopass Table 1: annual maintenance, 90 days."""
    start = dt.datetime(2026, 6, 18, 22, 0, tzinfo=MDT)
    assert "at least 90 days" in rules(start, start + dt.timedelta(hours=6), lead_days=60,
                                       window=Window.ANNUAL)["lead_time"]


def test_the_last_week_of_the_month_is_a_blackout():
    """From the last Tuesday of a month (31 Mar 2026) to its end: no planned work."""
    start = dt.datetime(2026, 3, 31, 23, 0, tzinfo=MDT)
    assert "month-end" in rules(start, start + dt.timedelta(hours=4))["month_end_blackout"]


def test_a_holiday_weekend_is_a_blackout_from_the_tuesday_before():
    """Memorial Day (Mon 25 May 2026): no planned work from Tue 19 May."""
    start = dt.datetime(2026, 5, 21, 23, 0, tzinfo=MDT)
    assert "Memorial Day" in rules(start, start + dt.timedelta(hours=4))["holiday_blackout"]


def test_a_monday_holiday_itself_is_in_its_blackout():
    """Labor Day (Mon 7 Sep 2026) is inside its own holiday weekend."""
    start = dt.datetime(2026, 9, 7, 1, 0, tzinfo=MDT)
    reason = rules(start, start + dt.timedelta(hours=2), lead_days=40,
                   window=Window.QUARTERLY)["holiday_blackout"]
    assert "Labor Day" in reason
    assert holiday_weekend(dt.date(2026, 9, 7)) == (dt.date(2026, 9, 1), dt.date(2026, 9, 7))


def test_cyber_monday_is_a_blackout():
    """The Thanksgiving weekend runs on to Cyber Monday (29 Nov 2027: not month end)."""
    start = dt.datetime(2027, 11, 29, 1, 0, tzinfo=MT)
    found = rules(start, start + dt.timedelta(hours=2), lead_days=40, window=Window.QUARTERLY)
    assert list(found) == ["holiday_blackout"] and "Cyber Monday" in found["holiday_blackout"]


def test_a_customer_holiday_is_a_blackout_for_that_customer_only(nrt, desk):
    """Ascension Day (Thu 14 May 2026) is a German holiday: refused for Acme, fine for
    Initech (US)."""
    nrt.clock.current = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.UTC)
    start = dt.datetime(2026, 5, 14, 23, 0, tzinfo=MDT)
    end = start + dt.timedelta(hours=4)
    with pytest.raises(Refused, match=r"holiday_blackout: .*Ascension Day"):
        create(nrt, starts_at=start, ends_at=end, organizations=("Acme",))
    assert create(nrt, starts_at=start, ends_at=end, organizations=("Initech",))


def test_a_blackout_agreed_with_one_organization_refuses_its_notices(nrt, desk):
    """Custom blackouts bind the organization they were agreed with, not the others."""
    start = dt.datetime(2026, 4, 9, 23, 0, tzinfo=MDT)  # Thu, 42 days after NOW
    with nrt.db.transaction() as s:
        service.add_blackout(s, org_name="Initech", starts_at=start - dt.timedelta(days=1),
                             ends_at=start + dt.timedelta(days=2), reason="quarter close",
                             now=NOW, actor="test")
    nrt.clock.current = start - dt.timedelta(days=10)
    end = start + dt.timedelta(hours=4)
    with pytest.raises(Refused, match=r"custom_blackout: .*quarter close"):
        create(nrt, starts_at=start, ends_at=end, organizations=("Initech",))
    assert create(nrt, starts_at=start, ends_at=end, organizations=("Acme",))


def test_a_blackout_is_agreed_thirty_to_ninety_days_ahead(nrt, desk):
    """Echopass: additional blackouts are set no less than 30 days before they start."""
    with nrt.db.transaction() as s, pytest.raises(Refused, match="30-90 days"):
        service.add_blackout(s, org_name="Acme", starts_at=NOW + dt.timedelta(days=10),
                             ends_at=NOW + dt.timedelta(days=11), reason="", now=NOW,
                             actor="test")


def test_a_refusal_lists_every_broken_rule(nrt, desk):
    """The operator learns everything wrong at once, not one rule per attempt."""
    start = dt.datetime(2026, 3, 31, 20, 0, tzinfo=MDT)  # month end, 20:00, 5 days ahead
    nrt.clock.current = start - dt.timedelta(days=5)
    with pytest.raises(Refused) as info:
        create(nrt, starts_at=start, ends_at=start + dt.timedelta(hours=2))
    assert {"lead_time", "weekly_window", "month_end_blackout"} <= {
        part.split(":")[0].strip() for part in str(info.value).removeprefix(
            "refused: ").split("; ")}


def test_forcing_records_the_justification(nrt, desk):
    """--force --why goes past the rules and leaves the reason on the notice and in audit."""
    nrt.clock.current = DST_START - dt.timedelta(days=3)
    ref = create(nrt, force_reason="security patch cannot wait a week")
    with nrt.db.transaction() as s:
        notice = s.scalars(select(Notice).where(Notice.reference == ref)).one()
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "notice.forced")).one()
        assert (notice.forced, notice.overridden) == (True, ["lead_time"])
        assert notice.force_reason == "security patch cannot wait a week"
        assert event.detail["rules"] == ["lead_time"]


def test_sending_later_checks_the_notice_period_again(nrt, desk):
    """A draft that waited too long is refused at send time: 7 days' notice means 7 days
    before it actually goes out."""
    ref = create(nrt)
    nrt.clock.current = DST_START - dt.timedelta(days=2)
    with pytest.raises(Refused, match="lead_time"):
        service.send_notice(nrt, ref, actor="test")


def test_emergency_maintenance_may_come_at_short_notice_in_a_blackout(nrt, desk):
    """Emergency work is the one kind allowed in blackouts, at under a day's notice."""
    start = dt.datetime(2026, 3, 31, 10, 0, tzinfo=MDT)
    nrt.clock.current = start - dt.timedelta(hours=6)
    assert create(nrt, NoticeKind.EMERGENCY, starts_at=start,
                  ends_at=start + dt.timedelta(hours=1), organizations=("Acme",))


@pytest.mark.parametrize(("kind", "fields", "message"), [
    (NoticeKind.ADVISORY, {"link": None}, "needs --link"),
    (NoticeKind.ADVISORY, {"link": "javascript:alert(1)"}, "not an http"),
    (NoticeKind.PLANNED, {"ends_at": None}, "needs --start and --end"),
    (NoticeKind.EMERGENCY, {"ends_at": DST_START}, "--end must come after"),
    (NoticeKind.INCIDENT, {"title": " "}, "needs a --title"),
])
def test_what_no_justification_can_force(nrt, desk, kind, fields, message):
    """A notice without its essentials is refused even with --force."""
    with pytest.raises(Refused, match=message):
        create(nrt, kind, force_reason="because", **fields)
