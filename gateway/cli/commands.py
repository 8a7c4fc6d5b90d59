"""Handlers for the directory, case, triage and failed-message commands."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
from pathlib import Path

from gateway.app import build_runtime, initialize
from gateway.cli.output import emit
from gateway.config import load_settings
from gateway.http.reasons import REASON_TEXT
from workflows.cases import directory, organizations, views
from workflows.cases import mail as case_mail
from workflows.cases import service as cases
from workflows.domain import Family, Severity
from workflows.errors import Refused
from workflows.outbound.files import Limits, Upload, check_sizes, clean_filename, files_of
from workflows.runtime import Runtime

# Imported by the commands that need them, not by every command of this module: the processing
# chain (workflows.inbound.process, with Celery's task module: 0.26 s of CPU on top of the case
# services) by failed_retry and process_pending; the triage actions (workflows.inbound.triage,
# with the mail parser: 0.1 s once gateway.app no longer imports the inbound side) by
# _triage_action.

_OPENED: list[Runtime] = []


def _runtime(args: argparse.Namespace) -> Runtime:
    """The runtime for this command; ``close_runtimes`` releases it when the command ends."""
    rt = build_runtime(load_settings(args.config))
    _OPENED.append(rt)
    return rt


def close_runtimes() -> None:
    """Close database connections so none outlives the command (PostgreSQL counts them)."""
    while _OPENED:
        _OPENED.pop().db.dispose()


def _actor(args: argparse.Namespace) -> str:
    return getattr(args, "actor", None) or f"cli:{getpass.getuser()}"


def init(args: argparse.Namespace) -> int:
    emit(initialize(load_settings(args.config)))
    return 0


def org_json(org: organizations.OrganizationSettings) -> dict[str, object]:
    """An organization as ``org add`` prints it (``tz``, ``calendar``), for list/show/set."""
    return {"id": org.id, "name": org.name, "domains": list(org.domains), "tz": org.timezone,
            "country": org.country, "notify": list(org.notify),
            "calendar": {"timezone": org.timezone, "hours": org.hours,
                         "workdays": org.workdays, "country": org.country,
                         "closed_days": list(org.closed_days)},
            "created_at": org.created_at.isoformat()}


def org_list(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        for org in organizations.all_organization_settings(s):
            emit(org_json(org))
    return 0


def contact_add(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        c = directory.add_contact(s, organization=args.org, email=args.email, name=args.name,
                                  designated=args.designated, now=rt.now())
        emit({"id": c.id, "email": c.email, "name": c.name, "designated": c.designated,
              "org": args.org})
    return 0


def _case_json(rt: Runtime, number: str) -> dict[str, object]:
    with rt.db.transaction() as s:
        return dataclasses.asdict(views.case_detail(s, number, settings=rt.settings,
                                                    now=rt.now()))


def case_open(args: argparse.Namespace) -> int:
    if not args.subject.strip():  # as the console and the API (gateway.http.actions.open_case)
        raise Refused("a case needs a subject")
    rt = _runtime(args)
    with rt.db.transaction() as s:
        org = directory.find_organization(s, args.org)
        contact = directory.find_contact(s, args.contact)
        case = cases.open_case(
            s, organization_id=org.id, contact=contact, subject=args.subject,
            family=Family(args.family), severity=Severity(args.severity),
            case_type=args.type, now=rt.now(), actor=_actor(args))
        number = case.number
        ack = case_mail.acknowledge_if_configured(s, rt.settings, rt.key, case=case,
                                                  now=rt.now())
        ack_id = ack.id if ack else None
    if ack_id is not None:
        rt.send_outbox([ack_id])
    emit(_case_json(rt, number))
    return 0


def _read_files(paths: list[str], limits: Limits) -> list[Upload]:
    """The ``--attach`` files, sizes checked before any is read (a 4 GB file is refused, not
    loaded); a missing or unreadable one is refused in one line naming it."""
    found: list[tuple[Path, int]] = []
    for spec in paths:
        path = Path(spec)
        try:
            if not path.is_file():
                raise Refused(f"cannot attach {spec}: " + ("not a file" if path.exists()
                                                           else "no such file"))
            found.append((path, path.stat().st_size))
        except OSError as exc:
            raise Refused(f"cannot attach {spec}: {exc.strerror or exc}") from None
    check_sizes([(clean_filename(p.name, i), size) for i, (p, size) in enumerate(found)],
                limits)
    uploads = []
    for path, _size in found:
        try:
            with path.open("rb") as fh:  # at most one byte over: prepare() refuses a grown file
                uploads.append(Upload(path.name, fh.read(limits.per_file + 1)))
        except OSError as exc:
            raise Refused(f"cannot read {path}: {exc.strerror or exc}") from None
    return uploads


def case_post(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    uploads = _read_files(args.attach, Limits.of(rt.settings))
    with rt.db.transaction() as s:
        out = cases.post_update(s, rt.settings, rt.key, number=args.number, body=args.body,
                                action=args.action, now=rt.now(), actor=_actor(args),
                                attachments=uploads, cc=getattr(args, "cc", []))
        out_id, message_id, number = out.id, out.message_id, args.number.upper()
        found = cases.find_case(s, number)
        status, cc = found.status, list(found.cc or ())
        files = [dataclasses.asdict(f) for f in files_of(s, out_id)]
    report = rt.send_outbox([out_id])
    emit({"number": number, "status": status, "message_id": message_id,
          "sent": report.sent == 1, "attachments": files, "cc": cc})
    return 0


def case_close(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        found = cases.close_case(s, number=args.number, cancelled=args.cancelled,
                                 now=rt.now(), actor=_actor(args))
        number = found.number
        closed = case_mail.closed_mail_if_configured(s, rt.settings, rt.key, case=found,
                                                     now=rt.now())
        closed_id = closed.id if closed else None
    if closed_id is not None:
        rt.send_outbox([closed_id])
    emit(_case_json(rt, number))
    return 0


def case_reopen(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        number = cases.reopen_case(s, number=args.number, reopen_days=rt.settings.reopen_days,
                                   now=rt.now(), actor=_actor(args)).number
    emit(_case_json(rt, number))
    return 0


def case_show(args: argparse.Namespace) -> int:
    emit(_case_json(_runtime(args), args.number))
    return 0


def _triage_json(line: views.TriageLine) -> dict[str, object]:
    data = dataclasses.asdict(line)
    data["from"] = data.pop("from_address")
    # The reason in words, what to do included (the API's ``why``, the console's line).
    data["why"] = REASON_TEXT.get(line.reason, "")
    return data


def triage_list(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        for line in views.triage_lines(s, reason=args.reason,
                                       state=None if args.all else "pending"):
            emit(_triage_json(line))
    return 0


def triage_show(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        detail, raw = views.triage_detail(s, args.id)
    from parsing import parse

    mail = parse(raw, key=rt.key)
    data = dataclasses.asdict(detail)
    data["item"] = _triage_json(detail.item)
    data["visible_reply"] = mail.visible_reply
    data["text"] = mail.text
    data["attachments"] = [{"filename": a.filename, "content_type": a.content_type,
                            "size": len(a.payload)} for a in mail.attachments]
    emit(data)
    return 0


def _triage_action(args: argparse.Namespace, action: str) -> int:
    from workflows.inbound import triage

    rt = _runtime(args)
    acks: list[int] = []
    with rt.db.transaction() as s:
        kw = {"item_id": args.id, "actor": _actor(args), "now": rt.now()}
        if action == "link":
            case = triage.link(s, rt.settings, rt.key, number=args.case,
                               flip_status=not args.keep_status, **kw)
        elif action == "reopen":
            case = triage.reopen(s, rt.settings, rt.key, number=args.case, **kw)
        elif action == "open":
            case = triage.open_for_sender(s, rt.settings, rt.key, **kw)
            acks = case_mail.queued_ids(s, case.id)  # the acknowledgement, if configured
        else:
            triage.discard(s, **kw)
            case = None
        result = {"id": args.id, "action": action, "case": case.number if case else None,
                  "status": case.status if case else None}
    if acks:
        result["acknowledged"] = rt.send_outbox(acks).sent == len(acks)
    emit(result)
    return 0


def triage_link(args: argparse.Namespace) -> int:
    return _triage_action(args, "link")


def triage_reopen(args: argparse.Namespace) -> int:
    return _triage_action(args, "reopen")


def triage_open(args: argparse.Namespace) -> int:
    return _triage_action(args, "open")


def triage_discard(args: argparse.Namespace) -> int:
    return _triage_action(args, "discard")


def failed_list(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    with rt.db.transaction() as s:
        for line in views.failed_lines(s):
            emit(line)
    return 0


def failed_retry(args: argparse.Namespace) -> int:
    from workflows.inbound.queue import retry_failed

    rt = _runtime(args)
    results = retry_failed(rt, None if args.all else [args.id])
    if not args.all and not results:
        from workflows.errors import NotFound

        raise NotFound(f"no failed message #{args.id}")
    for r in results:
        emit({"id": r.inbound_id, "message_id": r.message_id, "status": r.status.value,
              "outcome": r.outcome, "reason": r.reason, "case": r.case_number,
              "error": r.error})
    return 0 if all(r.error is None for r in results) else 1


def process_pending(args: argparse.Namespace) -> int:
    from workflows.inbound.process import process_message
    from workflows.inbound.queue import pending_ids

    rt = _runtime(args)
    for inbound_id in pending_ids(rt):
        r = process_message(rt, inbound_id)
        emit({"id": r.inbound_id, "message_id": r.message_id, "outcome": r.outcome,
              "reason": r.reason, "case": r.case_number, "status": r.case_status,
              "message_status": r.status.value, "error": r.error})
    return 0
