"""Handlers for the lifecycle commands: ``timers run``, ``sla report``, ``case escalate`` and
the organizations with their business calendar (``org add``, ``org show``, ``org set``).

Place in the flow: the CLI edge of ``workflows.clock.scheduler``, ``workflows.clock`` and
``workflows.cases.organizations``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt

from gateway.cli.commands import _actor, _case_json, _runtime, org_json
from gateway.cli.output import emit, fail
from gateway.config import ConfigError
from gateway.timeinput import TimeInputError, read_time
from workflows.cases import directory, organizations
from workflows.clock.calendar import CalendarError
from workflows.clock.escalation import escalate_case
from workflows.clock.report import sla_report
from workflows.clock.store import set_business_calendar
from workflows.domain import Family


def parse_at(value: str, zone: str = "UTC") -> dt.datetime:
    """An ISO time for ``--at``; without an offset it is read in ``zone`` (the desk's,
    ``desk_timezone``, as everywhere: ``gateway.timeinput``), a bare date is 00:00 there."""
    try:
        return read_time(value, zone).at
    except TimeInputError as exc:
        raise ConfigError(f"--at {exc}") from None


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"{option} {value!r}: expected a date like 2026-03-31") from None


def _notify_list(text: str) -> list[str]:
    return [a.strip() for a in text.split(",") if a.strip()]


def org_add(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    try:  # an unknown zone or a malformed domain is a wrong argument (exit 2), as for org set
        organizations.check_timezone(args.tz)
        for domain in args.domain:
            organizations.check_domain(domain)
    except organizations.InvalidSetting as exc:
        raise ConfigError(str(exc)) from None
    with rt.db.transaction() as s:
        org = directory.add_organization(
            s, name=args.name, domains=args.domain, timezone=args.tz, country=args.country,
            notify=_notify_list(args.notify), now=rt.now())
        try:
            calendar = set_business_calendar(org, hours=args.hours, workdays=args.workdays,
                                             closed_days=args.closed)
        except CalendarError as exc:
            raise ConfigError(str(exc)) from None
        emit({"id": org.id, "name": org.name, "domains": org.domains, "tz": org.timezone,
              "country": org.country, "notify": org.notify, "calendar": calendar.describe()})
    return 0


def org_show(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        emit(org_json(organizations.organization_settings(s, args.name)))
    return 0


def _org_change(args: argparse.Namespace) -> organizations.OrganizationChange:
    return organizations.OrganizationChange(
        rename=args.rename, timezone=args.tz, country=args.country, hours=args.hours,
        workdays=args.workdays, add_closed_days=tuple(args.add_closed),
        remove_closed_days=tuple(args.remove_closed), add_domains=tuple(args.add_domain),
        remove_domains=tuple(args.remove_domain),
        notify=None if args.notify is None else tuple(_notify_list(args.notify)),
        add_notify=tuple(args.add_notify), remove_notify=tuple(args.remove_notify))


def org_set(args: argparse.Namespace) -> int:
    """Change an organization; prints it as ``org show`` does, plus what changed and how many
    pending timers moved (``null`` when the calendar did not change)."""
    change = _org_change(args)
    if change.empty:
        raise ConfigError("org set: nothing to change (see ticketgate org set --help)")
    rt = _runtime(args)
    try:
        with rt.db.transaction() as s:
            done = organizations.update_organization(
                s, rt.settings, name=args.name, change=change, actor=_actor(args),
                now=rt.now())
    except organizations.InvalidSetting as exc:
        raise ConfigError(str(exc)) from None
    timers = done.timers
    emit({**org_json(done.organization),
          "changed": {c.field.value: {"from": c.old, "to": c.new} for c in done.changes},
          "timers": None if timers is None else {
              "examined": timers.examined, "moved": timers.moved, "now_due": timers.now_due}})
    return 0


def timers_run(args: argparse.Namespace) -> int:
    # Every clock job's module (notices, reports, retries) comes with the scheduler; imported
    # here, the org, sla and escalate commands of this module do without it (0.13 s of CPU).
    from workflows.clock.scheduler import run_pass

    rt = _runtime(args)
    # ``is not None``: an empty --at (a script's unset variable) is refused, not "now".
    given = args.at is not None
    at = parse_at(args.at, rt.settings.desk_timezone) if given else rt.now()
    report = run_pass(rt, at, dry_run=args.dry_run)
    # Says which zone a --at without an offset meant (issue 11: one meaning for time).
    emit({**dataclasses.asdict(report), "times_read_in": rt.settings.desk_timezone}
         if given else report)
    failed = [f"{job.name} ({job.error})" for job in report.jobs if job.error]
    if failed:  # the others ran; what failed is due again on the next pass
        fail(f"clock job(s) failed: {'; '.join(failed)}")
        return 1
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
