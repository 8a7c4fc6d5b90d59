"""``ticketgate notice ...``: outbound notices from the command line. The arguments are in
``gateway.cli.groups``.

Place in the flow: the CLI edge of ``workflows.notices``. Every command prints JSON on stdout
(``create`` prints the notice's ``reference``); a refusal (a broken rule, a notice in the wrong
state) is one line on stderr and exit 1. Long sends draw a progress bar on stderr when stderr is
a terminal, and nothing extra otherwise. Times: ISO 8601; without an offset they are read in the
desk's zone (``desk_timezone``, UTC by default; ``gateway.timeinput``), as the API and the
console read them, and every command that reads a time prints that zone as ``times_read_in``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.cli.commands import _actor, _runtime
from gateway.cli.output import emit
from gateway.config import ConfigError
from gateway.timeinput import TimeInputError, read_time
from workflows.notices import service, views
from workflows.notices.availability import monthly_availability
from workflows.notices.delivery import Progress, requeue_uncertain, send_pending
from workflows.notices.model import Cadence, NoticeKind, NoticeRequest, Window
from workflows.notices.reports import schedule_report
from workflows.settings import Settings
from workflows.storage.models import (
    NoticeBlackout,
    NoticeMailing,
    NoticeReportSchedule,
    Organization,
)


def _time(value: str | None, settings: Settings, option: str) -> dt.datetime | None:
    """``value`` as an instant; without an offset, wall-clock time in ``desk_timezone``."""
    if value is None:
        return None
    try:
        return read_time(value, settings.desk_timezone).at
    except TimeInputError as exc:
        raise ConfigError(f"{option} {exc}") from None


def _read_in(settings: Settings, *values: str | None) -> dict[str, str]:
    """``{"times_read_in": zone}`` when a time was given: says which zone a time without an
    offset meant (issue 11: every surface names the zone it read)."""
    return {"times_read_in": settings.desk_timezone} if any(values) else {}


def _agents(values: list[str]) -> tuple[tuple[str, int], ...]:
    pairs = []
    for value in values:
        name, _, count = value.rpartition("=")
        try:
            pairs.append((name.strip(), int(count)))
        except ValueError:
            raise ConfigError(f"--agents {value!r}: expected ORG=N, e.g. Acme=40") from None
        if not name.strip() or pairs[-1][1] < 0:
            raise ConfigError(f"--agents {value!r}: expected ORG=N, e.g. Acme=40")
    return tuple(pairs)


def _why(args: argparse.Namespace) -> str | None:
    """--force and --why come together: a forced notice records its justification."""
    force, why = getattr(args, "force", False), getattr(args, "why", None)
    if force and not (why and why.strip()):
        raise ConfigError("--force needs --why TEXT: the justification is recorded")
    if why and not force:
        raise ConfigError("--why goes with --force")
    return why if force else None


def _progress() -> Progress | None:
    if not sys.stderr.isatty():
        return None

    def draw(done: int, total: int) -> None:
        filled = int(30 * done / total) if total else 30
        sys.stderr.write(f"\r[{'#' * filled}{' ' * (30 - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return draw


def _emit_mailed(mailed: service.Mailed) -> None:
    emit({"reference": mailed.reference, "state": mailed.state, "mailing": mailed.mailing_id,
          "deliveries": mailed.deliveries, "without_list": list(mailed.without_list),
          **dataclasses.asdict(mailed.report)})


def create(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    settings = rt.settings
    request = NoticeRequest(
        kind=NoticeKind(args.kind), title=args.title, impact=args.impact,
        starts_at=_time(args.start, settings, "--start"),
        ends_at=_time(args.end, settings, "--end"), link=args.link, details=args.details,
        recommendation=args.recommendation,
        window=Window(args.window) if args.window else None, organizations=tuple(args.org),
        components=tuple(args.component), agents=_agents(args.agents),
        force_reason=_why(args))
    with rt.db.transaction() as s:
        created = service.create_notice(s, settings, request, now=rt.now(), actor=_actor(args))
    emit({**dataclasses.asdict(created), **_read_in(settings, args.start, args.end)})
    return 0


def preview(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        for item in views.preview(s, rt.settings, args.ref, org_name=args.org, now=rt.now()):
            emit(item)
    return 0


def send(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    why = _why(args)
    if args.resend_uncertain:  # the operator's call: these may have gone out already
        with rt.db.transaction() as s:
            notice = service.find_notice(s, args.ref)
            mailings = list(s.scalars(select(NoticeMailing.id).where(
                NoticeMailing.notice_id == notice.id)))
            requeued = requeue_uncertain(s, mailings)
        report = send_pending(rt, at=rt.now(), mailing_ids=mailings, progress=_progress())
        emit({"reference": notice.reference, "requeued": requeued,
              **dataclasses.asdict(report)})
        return 0
    _emit_mailed(service.send_notice(rt, args.ref, actor=_actor(args), why=why,
                                     progress=_progress()))
    return 0


def update(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    why = _why(args)
    if not (args.status or args.start or args.end or args.agents):
        raise ConfigError("notice update needs --status, --start/--end or --agents")
    if bool(args.start) != bool(args.end):
        raise ConfigError("a reschedule needs both --start and --end")
    out: dict[str, object] = {"reference": args.ref.strip().upper()}
    with rt.db.transaction() as s:
        if args.agents:
            service.set_agents(s, args.ref, _agents(args.agents))
            out["agents"] = dict(_agents(args.agents))
        if args.status:
            row = service.post_status(s, args.ref, args.status, now=rt.now(),
                                      actor=_actor(args))
            out["status"] = row.text
    if args.start:
        start, end = _time(args.start, rt.settings, "--start"), _time(args.end, rt.settings,
                                                                       "--end")
        assert start is not None and end is not None
        mailed = service.reschedule(rt, args.ref, starts_at=start, ends_at=end,
                                    actor=_actor(args), why=why, progress=_progress())
        out.update(rescheduled=True, mailing=mailed.mailing_id, deliveries=mailed.deliveries,
                   **dataclasses.asdict(mailed.report), **_read_in(rt.settings, args.start))
    emit(out)
    return 0


def all_clear(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    _emit_mailed(service.all_clear(rt, args.ref, args.text, actor=_actor(args),
                                   progress=_progress()))
    return 0


def cancel(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    _emit_mailed(service.cancel(rt, args.ref, actor=_actor(args), progress=_progress()))
    return 0


def rca(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    _emit_mailed(service.deliver_rca(rt, args.ref, args.link, actor=_actor(args),
                                     progress=_progress()))
    return 0


def list_notices(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        for line in views.notice_lines(s):
            emit(line)
    return 0


def show(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        emit(views.notice_detail(s, args.ref))
    return 0


def availability(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    now = rt.now()
    try:
        year, month = (int(p) for p in (args.month or f"{now:%Y-%m}").split("-"))
        dt.date(year, month, 1)
    except ValueError:
        raise ConfigError(f"--month {args.month!r}: expected YYYY-MM") from None
    with rt.db.transaction() as s:
        for item in monthly_availability(s, year, month, now=now, organizations=args.org):
            emit(item)
    return 0


def profile(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        row = service.set_profile(s, args.org, agents=args.agents,
                                  components=args.component or None)
        emit({"organization": args.org, "agents": row.agents, "components": row.components})
    return 0


def blackout_add(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    start, end = _time(args.start, rt.settings, "--start"), _time(args.end, rt.settings,
                                                                   "--end")
    assert start is not None and end is not None
    with rt.db.transaction() as s:
        row = service.add_blackout(s, org_name=args.org, starts_at=start, ends_at=end,
                                   reason=args.reason, now=rt.now(), actor=_actor(args),
                                   why=_why(args))
        emit({"id": row.id, "organization": args.org, "starts_at": start.isoformat(),
              "ends_at": end.isoformat(), "reason": row.reason,
              **_read_in(rt.settings, args.start)})
    return 0


def _organization_names(session: Session) -> dict[int | None, str]:
    return {org_id: name for org_id, name in
            session.execute(select(Organization.id, Organization.name))}


def blackout_list(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        names = _organization_names(s)
        for b in s.scalars(select(NoticeBlackout).order_by(NoticeBlackout.starts_at)):
            # By name, as `blackout add` prints it and people type it (none: every one).
            emit({"id": b.id, "organization": names.get(b.organization_id),
                  "starts_at": b.starts_at.isoformat(), "ends_at": b.ends_at.isoformat(),
                  "reason": b.reason})
    return 0


def report_add(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        row = schedule_report(s, org_name=args.org, cadence=Cadence(args.every),
                              recipients=args.to,
                              first_due=_time(args.first, rt.settings, "--first"), now=rt.now())
        emit({"id": row.id, "organization": args.org, "cadence": row.cadence,
              "recipients": row.recipients, "next_due_at": row.next_due_at.isoformat(),
              **_read_in(rt.settings, args.first)})
    return 0


def report_list(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        names = _organization_names(s)
        for r in s.scalars(select(NoticeReportSchedule).order_by(NoticeReportSchedule.id)):
            emit({"id": r.id, "organization": names.get(r.organization_id),
                  "cadence": r.cadence,
                  "recipients": r.recipients, "next_due_at": r.next_due_at.isoformat(),
                  "last_due_at": r.last_due_at.isoformat() if r.last_due_at else None})
    return 0
