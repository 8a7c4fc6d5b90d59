"""Handlers for the lifecycle commands: ``timers run``, ``sla report``, ``case escalate`` and
``org add`` with a business calendar.

Place in the flow: the CLI edge of ``workflows.scheduler`` and ``workflows.timers``.
"""

from __future__ import annotations

import argparse
import datetime as dt

from gateway.cli.commands import _actor, _case_json, _runtime
from gateway.cli.output import emit
from gateway.config import ConfigError
from workflows import directory
from workflows.calendar import CalendarError
from workflows.domain import Family
from workflows.scheduler import run_pass
from workflows.timers.escalation import escalate_case
from workflows.timers.report import sla_report
from workflows.timers.store import set_business_calendar


def parse_at(value: str) -> dt.datetime:
    """An ISO time for ``--at``; without an offset it is UTC, a bare date is 00:00 UTC."""
    try:
        at = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--at {value!r}: expected an ISO time like 2026-03-04T09:00+01:00"
                          ) from None
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"{option} {value!r}: expected a date like 2026-03-31") from None


def org_add(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        org = directory.add_organization(
            s, name=args.name, domains=args.domain, timezone=args.tz, country=args.country,
            notify=[a.strip() for a in args.notify.split(",") if a.strip()], now=rt.now())
        try:
            calendar = set_business_calendar(org, hours=args.hours, workdays=args.workdays,
                                             closed_days=args.closed)
        except CalendarError as exc:
            raise ConfigError(str(exc)) from None
        emit({"id": org.id, "name": org.name, "domains": org.domains, "tz": org.timezone,
              "country": org.country, "notify": org.notify, "calendar": calendar.describe()})
    return 0


def timers_run(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    at = parse_at(args.at) if args.at else rt.now()
    emit(run_pass(rt, at, dry_run=args.dry_run))
    return 0


def sla_report_cmd(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    start, end = _date(args.date_from, "--from"), _date(args.date_to, "--to")
    if start and end and end < start:
        raise ConfigError("--to comes before --from")
    with rt.db.transaction() as s:
        if args.org:
            directory.find_organization(s, args.org)  # a clear "no organization" error
        emit(sla_report(s, rt.settings, organization=args.org, start=start, end=end))
    return 0


def case_escalate(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        done = escalate_case(s, rt.settings, rt.key, number=args.number,
                             to=Family(args.to), now=rt.now(), actor=_actor(args))
    sent = rt.send_outbox([done.outbound_id]).sent == 1 if done.outbound_id else False
    emit({"number": done.original, "linked": done.linked, "family": done.family.value,
          "contact_told": sent, "case": _case_json(rt, done.linked)})
    return 0
