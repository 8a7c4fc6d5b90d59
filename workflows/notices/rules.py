"""The rules a planned maintenance notice must keep, as small named checks. Pure.

Place in the flow: ``service.create_notice`` (and ``send_notice``, ``reschedule``) run
``check_plan`` before anything is stored or sent. A notice that breaks a rule is refused with
every reason at once, unless the operator forces it with a justification, which is recorded on
the notice and in the audit log (Echopass "Maintenance & Change Window Policy", Table 1 and
"Blackout Periods"). Emergency maintenance is exempt: it is the only work allowed in a blackout
and may come at short notice. ``check_shape`` holds what is never forceable: a notice without a
title, a maintenance without times, an advisory without a link.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from workflows.clock.calendar import parse_hours, parse_workdays
from workflows.errors import Refused
from workflows.notices.blackout import Period, blackouts_between
from workflows.notices.model import NoticeKind, Refusal, Window
from workflows.notices.timefmt import duration, local_time, zone_of
from workflows.settings import Settings

DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class RuleConfig:
    zone: ZoneInfo
    lead_days: tuple[int, int]
    quarterly_days: int
    annual_days: int
    window_days: frozenset[int]
    window_opens: int  # minutes after local midnight
    window_closes: int  # minutes after the *next* local midnight when <= opens
    countries: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings, countries: Sequence[str] = ()) -> RuleConfig:
        opens_text, _, closes_text = settings.notice_window_hours.partition("-")
        opens, _ = parse_hours(f"{opens_text}-24:00")
        closes = parse_hours(f"00:00-{closes_text}")[1]
        return cls(zone_of(settings.notice_zone), settings.notice_lead_days,
                   settings.notice_quarterly_days, settings.notice_annual_days,
                   parse_workdays(settings.notice_window_days), opens, closes,
                   tuple(sorted({settings.notice_holiday_country, *countries} - {""})))


@dataclass(frozen=True, slots=True)
class Plan:
    """A planned maintenance as the rules see it."""

    window: Window
    starts_at: dt.datetime
    ends_at: dt.datetime
    now: dt.datetime  # when it is being sent
    custom: tuple[Period, ...] = ()  # agreed blackouts of the audience (and global ones)
    announced: bool = False  # a reschedule of a sent notice: "too early" no longer applies


class Rule:
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def check(self, plan: Plan, cfg: RuleConfig, periods: Sequence[Period]
              ) -> Refusal | None:  # pragma: no cover - interface
        raise NotImplementedError


class LeadTime(Rule):
    name = "lead_time"
    description = "weekly work is announced 7-14 days ahead, quarterly 30 days, annual 90"

    def check(self, plan: Plan, cfg: RuleConfig, periods: Sequence[Period]) -> Refusal | None:
        lead = plan.starts_at - plan.now
        minimum, maximum = {Window.WEEKLY: cfg.lead_days,
                            Window.QUARTERLY: (cfg.quarterly_days, None),
                            Window.ANNUAL: (cfg.annual_days, None)}[plan.window]
        start = local_time(plan.starts_at, cfg.zone)
        if lead < minimum * DAY:
            return Refusal(self.name, f"{plan.window.value} maintenance needs at least "
                           f"{minimum} days' notice; starting {start} gives {duration(lead)}")
        if maximum is not None and lead > maximum * DAY and not plan.announced:
            earliest = local_time(plan.starts_at - maximum * DAY, cfg.zone)
            return Refusal(self.name, f"{plan.window.value} maintenance is announced at most "
                           f"{maximum} days ahead; send it on or after {earliest}")
        return None


class WeeklyWindow(Rule):
    name = "weekly_window"
    description = "weekly work fits one window: Tue/Thu/Sat 23:00-04:00 America/Denver"

    def check(self, plan: Plan, cfg: RuleConfig, periods: Sequence[Period]) -> Refusal | None:
        if plan.window is not Window.WEEKLY:
            return None
        local_start = plan.starts_at.astimezone(cfg.zone)
        for day in (local_start.date(), local_start.date() - DAY):
            if day.weekday() not in cfg.window_days:
                continue
            opens = _at(day, cfg.window_opens, cfg.zone)
            closes = _at(day + DAY if cfg.window_closes <= cfg.window_opens else day,
                         cfg.window_closes, cfg.zone)
            if opens <= plan.starts_at and plan.ends_at <= closes:
                return None
        days = ", ".join(day for i, day in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
                                                      "Sun")) if i in cfg.window_days)
        return Refusal(self.name, f"weekly maintenance must fit one window ({days} "
                       f"{_hhmm(cfg.window_opens)}-{_hhmm(cfg.window_closes)} {cfg.zone.key}); "
                       f"{local_time(plan.starts_at, cfg.zone)} to "
                       f"{local_time(plan.ends_at, cfg.zone)} does not")


class Blackout(Rule):
    kind: ClassVar[str] = ""

    def check(self, plan: Plan, cfg: RuleConfig, periods: Sequence[Period]) -> Refusal | None:
        hits = [p for p in periods if p.kind == self.kind]
        if not hits:
            return None
        return Refusal(self.name, "falls in a blackout period: " + "; ".join(
            f"{p.reason} ({local_time(p.starts_at, cfg.zone)} to "
            f"{local_time(p.ends_at, cfg.zone)})" for p in hits))


class MonthEndBlackout(Blackout):
    name = "month_end_blackout"
    description = "no planned work from the last Tuesday of a month to its end"
    kind = "month_end"


class HolidayBlackout(Blackout):
    name = "holiday_blackout"
    description = "no planned work from the Tuesday before a holiday through its weekend"
    kind = "holiday"


class CustomBlackout(Blackout):
    name = "custom_blackout"
    description = "no planned work in a blackout agreed with an organization"
    kind = "custom"


PLANNED_RULES: tuple[Rule, ...] = (LeadTime(), WeeklyWindow(), MonthEndBlackout(),
                                   HolidayBlackout(), CustomBlackout())


def check_plan(plan: Plan, cfg: RuleConfig) -> tuple[Refusal, ...]:
    """Every rule ``plan`` breaks (empty: it may go)."""
    periods = blackouts_between(plan.starts_at, plan.ends_at, cfg.zone, cfg.countries,
                                plan.custom)
    return tuple(r for r in (rule.check(plan, cfg, periods) for rule in PLANNED_RULES) if r)


def check_shape(kind: NoticeKind, *, title: str, impact: str, starts_at: dt.datetime | None,
                ends_at: dt.datetime | None, link: str | None, window: Window | None) -> None:
    """Raise ``Refused`` for what no justification can force."""
    if not title.strip():
        raise Refused("a notice needs a --title")
    if not impact.strip():
        raise Refused("a notice needs an --impact")
    if kind.maintenance:
        if starts_at is None or ends_at is None:
            raise Refused(f"{kind.label.lower()} needs --start and --end")
        if ends_at <= starts_at:
            raise Refused("--end must come after --start")
    elif ends_at is not None and starts_at is not None and ends_at <= starts_at:
        raise Refused("--end must come after --start")
    if window is not None and kind is not NoticeKind.PLANNED:
        raise Refused("--window applies to planned maintenance only")
    if kind is NoticeKind.ADVISORY and not link:
        raise Refused("an advisory needs --link to more information")
    if link is not None:
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.netloc or any(
                c.isspace() for c in link):
            raise Refused(f"--link {link!r} is not an http(s) URL")


def _at(day: dt.date, minutes: int, zone: ZoneInfo) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time(minutes // 60 % 24, minutes % 60), tzinfo=zone)
    return local.astimezone(dt.UTC)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"
