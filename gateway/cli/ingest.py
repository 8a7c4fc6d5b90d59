"""``ticketgate ingest`` and ``ticketgate parse``: messages from files, folders or stdin.

``ingest`` goes through the same ``intake.accept`` as SMTP and IMAP, then processes each message
in-process; it prints exactly one JSON line per message. Unreadable paths, and folders that hold
no file, are reported on stderr and make the exit code 1, after every readable message has been
handled.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.cli.output import emit, fail
from gateway.config import load_settings
from parsing import parse
from workflows.domain import MessageStatus
from workflows.errors import Refused
from workflows.secret import SecretMissing, load_secret

if TYPE_CHECKING:
    from parsing import ParsedMail
    from parsing.model import Bounce
    from workflows.inbound.intake import AcceptResult
    from workflows.runtime import Runtime
    from workflows.settings import Settings

# Messages per group commit and processing transaction. Each batch costs two commits (the raw
# bytes, then the outcomes), each an fsync of the WAL (SQLite FULL) and a few ms: at 200 a batch
# that was 30 commits for 3,000 bench replies, at 1,000 six; ingest 605-655 -> 555-606 us a mail
# by the clock, CPU 574-621 -> 528-574 (quiet box, alternated runs; 2,000 gained nothing more).
# The price: ~35 MB more held at once, and a concurrent ``serve`` on the same SQLite file waits
# for the write lock up to one batch's decide-and-apply (~0.3 s) before its next 250.
BATCH = 1000
MAX_MESSAGE = 50 * 1024 * 1024  # a single file larger than this is refused, not read


def _sources(paths: list[str], problems: list[str]) -> Iterator[tuple[str, bytes]]:
    for spec in paths:
        if spec == "-":
            yield "-", sys.stdin.buffer.read()
            continue
        files = _files_under(spec) if os.path.isdir(spec) else [spec]
        if not files:
            # As a missing path: the operator named a place to take mail from and none came of
            # it (a wrong folder, a spool not mounted); silence and exit 0 would hide that.
            problems.append(f"no files under {Path(spec)}")
        shown = _Shown()
        for name in files:
            try:
                yield shown(name), _read(name)
            except OSError as exc:
                problems.append(f"cannot read {shown(name)}: {exc.strerror or exc}")


class _Shown:
    """A file's name as ``str(Path(name))`` shows it (the output's ``source``), with one Path
    per folder instead of one per file: a Path, its stat() and read_bytes() per file were
    ~15 us of a bench mail (issue 15)."""

    def __init__(self) -> None:
        self._prefixes: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        head, tail = os.path.split(name)
        if tail in ("", "."):  # Path drops a trailing "/" or "/."
            return str(Path(name))
        prefix = self._prefixes.get(head)
        if prefix is None:  # what Path puts before a child's name: "" for ".", "/" for "/"
            prefix = self._prefixes[head] = str(Path(head) / "x")[:-1]
        return prefix + tail


def _read(name: str) -> bytes:
    """The file's bytes; OSError when it cannot be read or is larger than ``MAX_MESSAGE``."""
    with open(name, "rb", buffering=0) as file:
        size = os.fstat(file.fileno()).st_size
        if size > MAX_MESSAGE:
            raise OSError(f"larger than {MAX_MESSAGE} bytes")
        return file.read()


def _files_under(folder: str) -> list[str]:
    """Every file under ``folder``, in the order of their path components (as sorted Paths
    would be). Strings: sorting 3,000 Path objects cost 0.3 s of a 3,000-mail ingest."""
    found = [os.path.join(top, name) for top, _dirs, names in os.walk(folder) for name in names]
    return sorted((f for f in found if os.path.isfile(f)), key=lambda name: name.split(os.sep))


def _batches(items: Iterator[tuple[str, bytes]]) -> Iterator[list[tuple[str, bytes]]]:
    batch: list[tuple[str, bytes]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def ingest(args: argparse.Namespace) -> int:
    # The runtime, intake and processing are imported here: ``parse``, which needs no
    # database, shares this module (they made its start-up 0.7 s of CPU longer).
    from gateway.cli.commands import _runtime
    from workflows.runtime import start_up_frozen

    rt = _runtime(args)
    mailbox = rt.settings.default_mailbox.address
    if args.mailbox:
        if rt.settings.mailbox(args.mailbox) is None:
            known = ", ".join(m.address for m in rt.settings.mailboxes)
            raise Refused(f"unknown mailbox {args.mailbox} (declared: {known})")
        mailbox = args.mailbox
    # Its batches' commits leave WAL checkpoints to a thread (workflows.storage.checkpoint).
    with start_up_frozen(), rt.db.checkpoints_in_background():
        problems = _ingest(rt, args.paths, mailbox)
    for problem in problems:
        fail(problem)
    return 1 if problems else 0


def _ingest(rt: Runtime, paths: list[str], mailbox: str) -> list[str]:
    """Accept and process every message of ``paths``, a JSON line each; returns the paths'
    problems. Acts."""
    from workflows.inbound.intake import Envelope, accept_many
    from workflows.inbound.process import process_batch, result_of

    problems: list[str] = []
    batches = _batches(_sources(paths, problems))
    batch = next(batches, None)
    ahead = _ParsedAhead(rt, batch or [])
    while batch is not None:
        envelopes = [(raw, Envelope(mailbox=mailbox, rcpt_tos=(mailbox,), transport="cli",
                                    source=src)) for src, raw in batch]
        # Group commit: the batch's raw bytes are durable before any is processed, each new
        # row with its first attempt counted (claimed), processed next by this process.
        accepted = accept_many(rt.db, envelopes, now=rt.now(), claimed=True)
        raws = {a.inbound_id: raw for (_src, raw), a in zip(batch, accepted, strict=True)
                if a.created}
        parsed = ahead.by_id(accepted)
        # The next batch, read now and parsed while the server writes this one's rows.
        following = next(batches, None)
        ahead = _ParsedAhead(rt, following or [])
        fresh = list(raws)
        processed = dict(zip(fresh, process_batch(rt, fresh, claimed=True, raws=raws,
                                                  parsed=parsed, meanwhile=ahead),
                             strict=True))
        ahead()
        for (src, _raw), acc in zip(batch, accepted, strict=True):
            if acc.created:
                r = processed[acc.inbound_id]
                outcome, reason = r.outcome, r.reason
                if r.error:  # kept: "failed" for good, or back in the queue for a retry
                    failed = r.status is MessageStatus.FAILED
                    outcome, reason = ("failed" if failed else "will_retry"), r.error
            else:
                r = result_of(rt, acc.inbound_id)
                outcome, reason = "duplicate", "same_bytes"
            emit({"source": src, "message_id": r.message_id, "outcome": outcome,
                  "reason": reason, "case": r.case_number, "status": r.case_status})
        batch = following
    return problems


class _ParsedAhead:
    """A batch's mail parsed before it is accepted, once, when called (Acts): ``ingest`` calls
    it while the server writes the batch before, whose wait it would spend idle otherwise
    (issue 15: on PostgreSQL the server's indexing of a reply took as long as parsing one).
    Parsing reads nothing but the bytes, so it comes out as ``_parse_ahead``'s would."""

    def __init__(self, rt: Runtime, batch: list[tuple[str, bytes]]) -> None:
        self._rt, self._batch = rt, batch
        self._parsed: list[tuple[ParsedMail, float] | None] | None = None

    def __call__(self) -> None:
        from workflows.inbound.process import parse_timed  # the pipeline: ingest's import

        if self._parsed is None:
            self._parsed = [parse_timed(self._rt, raw, src) for src, raw in self._batch]

    def by_id(self, accepted: list[AcceptResult]) -> dict[int, tuple[ParsedMail, float]]:
        """The parsed mail of the rows ``accepted`` created, by their ids."""
        return {a.inbound_id: done for a, done in zip(accepted, self._parsed or (), strict=False)
                if a.created and done is not None}


def _key_if_initialized(settings: Settings) -> bytes | None:
    """The secret when this home has one, so references show as valid or invalid."""
    try:
        return load_secret(settings.secret_path)
    except SecretMissing:
        return None


def _bounce_view(bounce: Bounce | None) -> dict[str, object] | None:
    """A bounce for people and scripts: each recipient with its status, action, permanence."""
    if bounce is None:
        return None
    return {
        "original_message_id": bounce.original_message_id,
        "format": bounce.format,
        "reporting_mta": bounce.reporting_mta,
        "permanent": bounce.permanent,
        "recipients": [{"address": r.address, "status": r.status, "action": r.action.value,
                        "permanent": r.permanent, "diagnostic": r.diagnostic,
                        "remote_mta": r.remote_mta} for r in bounce.recipients],
    }


def parse_files(args: argparse.Namespace) -> int:
    problems: list[str] = []
    settings = load_settings(args.config)
    key = _key_if_initialized(settings)
    for src, raw in _sources(args.paths, problems):
        mail = parse(raw, key=key, loop_id=settings.instance_id)
        emit({
            "source": src,
            "message_id": mail.message_id,
            "from": mail.from_.email if mail.from_ else None,
            "subject": mail.subject,
            "automation": mail.automation.value,
            "automation_rules": list(mail.automation_rules),
            "references": [dataclasses.asdict(t) for t in mail.tokens],
            "case_numbers": list(mail.case_numbers),
            "visible_reply": mail.visible_reply,
            "bounce": _bounce_view(mail.bounce),
            "failed_recipients": list(mail.bounce.failed_recipients) if mail.bounce else [],
            "complaint": dataclasses.asdict(mail.complaint) if mail.complaint else None,
            "attachments": [{"filename": a.filename, "content_type": a.content_type,
                             "size": len(a.payload), "inline": a.inline}
                            for a in mail.attachments],
            "defects": [f"{d.where}: {d.description}" for d in mail.defects],
        })
    for problem in problems:
        fail(problem)
    return 1 if problems else 0
