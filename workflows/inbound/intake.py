"""The only way in: ``accept(raw, envelope)`` commits the raw bytes, and nothing else.

Place in the flow: SMTP/LMTP (after DATA), the IMAP poller (after FETCH, before MOVE) and the CLI
``ingest`` call this. Its commit is the durable boundary: only after it returns may SMTP answer
250 (RFC 5321 6.1: a 250 takes responsibility for delivery) or IMAP move the message. Parsing and
deciding happen later, in ``workflows.inbound.process``, on the committed row.

Redelivery is a no-op: the same bytes (sha256) are accepted once; the same Message-ID to the same
mailbox with other bytes is kept (nothing is lost) and later decided ``duplicate``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.exc import IntegrityError

from workflows.domain import MessageStatus
from workflows.storage.bulk import insert_returning, insert_rows
from workflows.storage.db import Database
from workflows.storage.models import InboundMessage, InboundRaw

# Header block only; Message-ID may be folded onto the next line (RFC 5322 2.2.3).
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(?:\r?\n[ \t]+)?<?([^\s<>]{1,990})>?", re.I | re.M)

log = logging.getLogger(__name__)

# Built once: SQLAlchemy Core on a connection, not an ORM session. The group commit runs on the
# listener's writer thread and its Python time is taken from the event loop (one interpreter
# lock): ORM session, statement building and bulk-insert bookkeeping were ~1.5 ms of CPU for a
# one-message transaction here, this 0.5-0.75 ms; per message at 5 a batch 450 -> 200 us
# (4 KB mails, SQLite FULL, the shared 2-core box).
_TABLE = cast(Table, InboundMessage.__table__)
_RAWS = cast(Table, InboundRaw.__table__)
_KNOWN = (select(_TABLE.c.sha256, _TABLE.c.id, _TABLE.c.message_id)
          .where(_TABLE.c.sha256.in_(bindparam("digests", expanding=True))))


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the transport says, kept apart from what the headers claim."""

    mailbox: str  # the declared mailbox this copy was delivered to
    mail_from: str = ""
    rcpt_tos: tuple[str, ...] = ()
    transport: str = "cli"  # smtp, lmtp, imap, cli
    source: str | None = None  # file path, peer address, imap mailbox/uidvalidity/uid


@dataclass(frozen=True, slots=True)
class AcceptResult:
    inbound_id: int
    created: bool  # False: these exact bytes were already accepted (redelivery)
    message_id: str | None


def _header_end(raw: bytes, limit: int) -> int:
    """Where the header block ends: the start of the first ``\r?\n\r?\n``, or ``limit``.
    Two bytes.find() calls instead of that regex, which steps through every byte in Python's
    engine: with the lower-cased search below, ``header_message_id`` of a bench mail (a 2 KB
    header block) went from 35 to 11 us of CPU (issue 15).

    The CRLF form is looked for only up to where the LF form was found: an earlier one ends
    within the two bytes past it, and none starts there. A mail whose lines end in LF holds
    no "\\n\\r\\n", and that find read the whole mail rather than its header block: 35k of
    ``header_message_id``'s 65k instructions a 7.7 KB bench mail (callgrind, issue 15)."""
    lf = raw.find(b"\n\n", 0, limit)
    crlf = raw.find(b"\n\r\n", 0, limit if lf == -1 else lf + 2)
    if lf == -1 and crlf == -1:
        return limit
    first = lf if crlf == -1 else crlf  # found both: the CRLF one comes first
    return first - 1 if first and raw[first - 1] == 0x0D else first


def header_message_id(raw: bytes) -> str | None:
    """The Message-ID from the header block, without parsing the message (cheap)."""
    head = raw[: _header_end(raw, 256 * 1024)]
    # The field name is found in a lower-cased copy (C speed), the regex tried only there
    # (the same answer as a search of the block with _MESSAGE_ID, a test checks).
    lowered = head.lower()
    at = lowered.find(b"message-id:")
    while at != -1:
        if at == 0 or lowered[at - 1] == 0x0A:  # at the start of a line, as ^ requires
            match = _MESSAGE_ID.match(head, at)
            if match:
                return match.group(1).decode("ascii", "replace")
        at = lowered.find(b"message-id:", at + 1)
    return None


def _values(raw: bytes, digest: str, envelope: Envelope, now: dt.datetime, *, claimed: bool
            ) -> dict[str, object]:
    return {
        "sha256": digest,
        "message_id": header_message_id(raw),
        "mailbox": envelope.mailbox.lower(),
        "envelope_from": envelope.mail_from,
        "envelope_to": list(envelope.rcpt_tos),
        "transport": envelope.transport,
        "source": envelope.source,
        "size": len(raw),
        "received_at": now,
        "status": MessageStatus.RECEIVED.value,
        # Claimed: the first attempt counted with the row, as ``process._count_attempts``
        # would count it in a commit of its own.
        "attempts": 1 if claimed else 0,
        "claimed_at": now if claimed else None,
        "trace": [],
        "defects": [],
    }


def accept(db: Database, raw: bytes, envelope: Envelope, *, now: dt.datetime | None = None
           ) -> AcceptResult:
    """Commit ``raw`` as a new inbound message (or find it). Raises only when nothing was kept."""
    return accept_many(db, [(raw, envelope)], now=now)[0]


def accept_many(
    db: Database,
    items: Sequence[tuple[bytes, Envelope]],
    *,
    now: dt.datetime | None = None,
    claimed: bool = False,
) -> list[AcceptResult]:
    """``commit_many``, then ``log_accepted``: one result per item, in order."""
    results = commit_many(db, items, now=now, claimed=claimed)
    log_accepted(items, results)
    return results


def commit_many(
    db: Database,
    items: Sequence[tuple[bytes, Envelope]],
    *,
    now: dt.datetime | None = None,
    claimed: bool = False,
) -> list[AcceptResult]:
    """Commit many messages in one transaction (group commit), one result per item, in order.
    Logs nothing (``log_accepted`` does, once the caller has answered).

    ``claimed``: the caller processes the new rows itself right after, in this process (the
    CLI's ``ingest``): their first attempt is counted in this commit (``attempts`` 1,
    ``claimed_at`` now), and the caller passes ``claimed=True`` to ``process_batch``, which
    then skips its own counting commit. A process dying after this commit has spent that
    attempt, as it would have after ``_count_attempts``'s (issue 15: that commit and its fsync
    were ~4% of ingest's profile).

    One fsync for the batch is what makes durable intake cheap. A concurrent writer inserting the
    same bytes makes the batch fail its unique check; then each item is retried on its own.
    """
    now = now or dt.datetime.now(dt.UTC)
    digests = [hashlib.sha256(raw).hexdigest() for raw, _ in items]
    try:
        return _accept_batch(db, items, digests, now, claimed)
    except IntegrityError:
        if len(items) == 1:  # the other writer won: find its row
            return _accept_batch(db, items, digests, now, claimed)
        pairs = zip(items, digests, strict=True)
        return [_accept_batch(db, [item], [digest], now, claimed)[0] for item, digest in pairs]


def _accept_batch(
    db: Database,
    items: Sequence[tuple[bytes, Envelope]],
    digests: list[str],
    now: dt.datetime,
    claimed: bool,
) -> list[AcceptResult]:
    with db.writing() as conn:
        existing = {
            sha: (row_id, mid)
            for sha, row_id, mid in conn.execute(_KNOWN, {"digests": sorted(set(digests))})
        }
        new_rows: dict[str, dict[str, object]] = {}
        new_raws: dict[str, bytes] = {}
        for (raw, envelope), digest in zip(items, digests, strict=True):
            if digest not in existing and digest not in new_rows:
                new_rows[digest] = _values(raw, digest, envelope, now, claimed=claimed)
                new_raws[digest] = raw
        created: dict[str, tuple[int, str | None]] = {}
        if new_rows:
            # One INSERT ... RETURNING for the batch (pipelined by psycopg on PostgreSQL),
            # then the bytes under the new ids, in the same transaction.
            for row_id, sha, mid in insert_returning(conn, _TABLE, list(new_rows.values()),
                                                     ("id", "sha256", "message_id")):
                created[sha] = (row_id, mid)
            insert_rows(conn, _RAWS, [{"id": created[digest][0], "raw": raw}
                                      for digest, raw in new_raws.items()])
    results = []
    seen: set[str] = set()
    for digest in digests:
        if digest in created:
            row_id, mid = created[digest]
            results.append(AcceptResult(row_id, digest not in seen, mid))
            seen.add(digest)
        else:
            row_id, mid = existing[digest]
            results.append(AcceptResult(row_id, False, mid))
    return results


def log_accepted(items: Sequence[tuple[bytes, Envelope]], results: Sequence[AcceptResult]
                 ) -> None:
    """One ``mail.accepted`` line at INFO per message a commit kept for the first time. Acts.

    Apart from the commit so that the SMTP writer can send its 250s first: twenty of these
    lines were ~0.35-0.7 ms (17-34 us each) between a batch's fsync and its replies."""
    if not log.isEnabledFor(logging.INFO):
        return
    for (raw, envelope), result in zip(items, results, strict=True):
        if result.created:
            log.info("mail accepted", extra={
                "event": "mail.accepted", "inbound_id": result.inbound_id,
                "message_id": result.message_id, "mailbox": envelope.mailbox.lower(),
                "size": len(raw), "transport": envelope.transport})
