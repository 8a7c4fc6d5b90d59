"""``/metrics`` and ``/healthz``: what a monitoring system scrapes, computed from the database.

Place in the flow: outside the message flow; reads only. Every figure is counted from the rows
(inbound outcomes and reasons, queue depths, outbox and notice deliveries, bounces), so the
numbers agree across processes and restarts and need no in-memory counters
(``prometheus_client`` would count per process). Output follows the Prometheus text exposition
format 0.0.4.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from workflows.domain import MessageStatus, OutboundStatus, TriageState
from workflows.runtime import Runtime
from workflows.storage.models import (
    InboundMessage,
    NoticeDelivery,
    OutboundMessage,
    TriageItem,
)

log = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
LATENCY_SAMPLE = 1000  # the most recent processed messages


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _series(name: str, labels: dict[str, object], value: float) -> str:
    inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
    number = repr(float(value)) if not float(value).is_integer() else str(int(value))
    return f"{name}{{{inner}}} {number}" if inner else f"{name} {number}"


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    kind: str  # counter, gauge, histogram
    help: str
    lines: tuple[str, ...]

    def render(self) -> str:
        return "\n".join((f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}",
                          *self.lines))


def _grouped(session: Session, *columns: object, where: Iterable[object] = ()
             ) -> list[tuple[object, ...]]:
    query = select(*columns, func.count()).group_by(*columns)  # type: ignore[call-overload]
    for condition in where:
        query = query.where(condition)
    return [tuple(row) for row in session.execute(query)]


def _latency(session: Session) -> Family:
    rows = session.execute(
        select(InboundMessage.received_at, InboundMessage.processed_at)
        .where(InboundMessage.processed_at.is_not(None))
        .order_by(InboundMessage.id.desc()).limit(LATENCY_SAMPLE)).all()
    seconds = [max(0.0, (done - got).total_seconds()) for got, done in rows]
    name = "ticketgate_intake_latency_seconds"
    lines = [_series(f"{name}_bucket", {"le": b}, sum(1 for s in seconds if s <= b))
             for b in LATENCY_BUCKETS]
    lines += [_series(f"{name}_bucket", {"le": "+Inf"}, len(seconds)),
              _series(f"{name}_sum", {}, round(sum(seconds), 6)),
              _series(f"{name}_count", {}, len(seconds))]
    return Family(name, "histogram", f"Seconds from the intake commit to the applied decision, "
                  f"over the last {LATENCY_SAMPLE} processed messages.", tuple(lines))


def collect(session: Session, now: dt.datetime) -> list[Family]:
    processed = _grouped(session, InboundMessage.outcome, InboundMessage.reason,
                         where=[InboundMessage.status == MessageStatus.PROCESSED.value])
    by_status = dict.fromkeys((s.value for s in MessageStatus), 0) | {
        str(s): int(n) for s, n in _grouped(session, InboundMessage.status)}  # type: ignore[misc]
    outbound = _grouped(session, OutboundMessage.kind, OutboundMessage.status)
    notices = _grouped(session, NoticeDelivery.status)
    pending_triage = TriageItem.state == TriageState.PENDING.value
    triage_depth = session.scalar(select(func.count()).select_from(TriageItem)
                                  .where(pending_triage)) or 0
    oldest = session.scalar(select(func.min(TriageItem.created_at)).where(pending_triage))
    # Deferred mail (a 4xx, waiting for its retry) is still waiting to leave: it counts.
    outbox_depth = session.scalar(select(func.count()).select_from(OutboundMessage).where(
        OutboundMessage.status.in_([OutboundStatus.QUEUED.value,
                                    OutboundStatus.DEFERRED.value]))) or 0
    bounced_out = session.scalar(select(func.count()).select_from(OutboundMessage).where(
        OutboundMessage.bounced_at.is_not(None))) or 0
    bounced_notices = session.scalar(select(func.count()).select_from(NoticeDelivery).where(
        NoticeDelivery.bounced_at.is_not(None))) or 0
    return [
        Family("ticketgate_messages_total", "counter",
               "Inbound messages processed, by outcome and reason.",
               tuple(_series("ticketgate_messages_total", {"outcome": o, "reason": r}, n)
                     for o, r, n in sorted(processed, key=str))),
        Family("ticketgate_messages", "gauge", "Inbound messages by processing status.",
               tuple(_series("ticketgate_messages", {"status": s}, n)
                     for s, n in sorted(by_status.items()))),
        _latency(session),
        Family("ticketgate_queue_depth", "gauge",
               "Work waiting: inbound not yet processed, outbox not yet sent, triage pending.",
               (_series("ticketgate_queue_depth", {"queue": "inbound"},
                        by_status[MessageStatus.RECEIVED.value]
                        + by_status[MessageStatus.PROCESSING.value]),
                _series("ticketgate_queue_depth", {"queue": "outbox"}, outbox_depth),
                _series("ticketgate_queue_depth", {"queue": "triage"}, triage_depth))),
        Family("ticketgate_triage_oldest_age_seconds", "gauge",
               "How long the oldest pending triage item has waited (0: none).",
               (_series("ticketgate_triage_oldest_age_seconds", {},
                        max(0, int((now - oldest).total_seconds())) if oldest else 0),)),
        Family("ticketgate_outbound_messages_total", "counter",
               "Case mail queued, by kind and status.",
               tuple(_series("ticketgate_outbound_messages_total", {"kind": k, "status": s}, n)
                     for k, s, n in sorted(outbound, key=str))),
        Family("ticketgate_notices_sent_total", "counter",
               "Notice deliveries (one per recipient and mailing), by status.",
               tuple(_series("ticketgate_notices_sent_total", {"status": s}, n)
                     for s, n in sorted(notices, key=str))),
        Family("ticketgate_bounces_total", "counter",
               "Our mail reported bounced, by what bounced.",
               (_series("ticketgate_bounces_total", {"source": "case_mail"}, bounced_out),
                _series("ticketgate_bounces_total", {"source": "notice"}, bounced_notices))),
    ]


def render_metrics(rt: Runtime) -> str:
    with rt.db.transaction() as session:
        families = collect(session, rt.now())
    return "\n".join(f.render() for f in families) + "\n"


# --- /healthz ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_database(rt: Runtime) -> Check:
    try:
        with rt.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # a probe boundary: report, never raise
        log.warning("health: database unreachable: %s", exc)
        return Check("database", False, type(exc).__name__)
    return Check("database", True, rt.db.dialect)


def check_broker(rt: Runtime, timeout: float = 2.0) -> Check:
    url = rt.settings.broker_url
    if not url:
        return Check("broker", True, "embedded workers (no broker configured)")
    from kombu import Connection  # lazy: only with a broker

    scheme = urlsplit(url).scheme
    try:
        with Connection(url, connect_timeout=timeout,
                        transport_options={"socket_connect_timeout": timeout}) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:  # a probe boundary: report, never raise
        log.warning("health: broker (%s) unreachable: %s", scheme, exc)
        return Check("broker", False, f"{scheme}: {type(exc).__name__}")
    return Check("broker", True, scheme)
