"""``/metrics`` and ``/healthz``: what a monitoring system scrapes, computed from the database.

Place in the flow: outside the message flow; reads only. Every figure is counted from the rows
(inbound outcomes and reasons, queue depths, outbox and notice deliveries, bounces), so the
numbers agree across processes and restarts and need no in-memory counters (which would count
per process): a custom ``prometheus_client`` collector reads them at scrape time, and
``prometheus_client`` writes the exposition format.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, exposition
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import ColumnExpressionArgument, SQLColumnExpression, func, select, text
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
CONTENT_TYPE = exposition.CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
LATENCY_SAMPLE = 1000  # the most recent processed messages / sent mails


def _grouped(session: Session, *columns: SQLColumnExpression[Any],
             where: Iterable[ColumnExpressionArgument[bool]] = ()) -> list[tuple[Any, ...]]:
    """(value of each column..., count) rows; the values are what the columns hold."""
    query = select(*columns, func.count()).group_by(*columns)
    for condition in where:
        query = query.where(condition)
    return [tuple(row) for row in session.execute(query)]


def _histogram(name: str, documentation: str, seconds: list[float]) -> HistogramMetricFamily:
    buckets = [(str(b), float(sum(1 for s in seconds if s <= b))) for b in LATENCY_BUCKETS]
    buckets.append(("+Inf", float(len(seconds))))
    family = HistogramMetricFamily(name, documentation)
    family.add_metric([], buckets, sum_value=round(sum(seconds), 6))
    return family


def _intake_latency(session: Session) -> HistogramMetricFamily:
    rows = session.execute(
        select(InboundMessage.received_at, InboundMessage.processed_at)
        .where(InboundMessage.processed_at.is_not(None))
        .order_by(InboundMessage.id.desc()).limit(LATENCY_SAMPLE)).all()
    return _histogram("ticketgate_intake_latency_seconds",
                      "Seconds from the intake commit to the applied decision, over the last "
                      f"{LATENCY_SAMPLE} processed messages.",
                      [max(0.0, (done - got).total_seconds()) for got, done in rows
                       if done is not None])  # none: the WHERE excludes NULL; tells mypy


def _send_latency(session: Session) -> HistogramMetricFamily:
    """Queued to taken by the relay, case mail and notice deliveries alike (retries included:
    a mail deferred for an hour is an hour late to its reader)."""
    seconds: list[float] = []
    for model in (OutboundMessage, NoticeDelivery):
        rows = session.execute(
            select(model.created_at, model.sent_at).where(model.sent_at.is_not(None))
            .order_by(model.id.desc()).limit(LATENCY_SAMPLE)).all()
        seconds += [max(0.0, (sent - made).total_seconds()) for made, sent in rows
                    if sent is not None]  # none: the WHERE excludes NULL; tells mypy
    return _histogram("ticketgate_send_latency_seconds",
                      "Seconds from queueing an outbound mail to its acceptance by the relay, "
                      f"over the last {LATENCY_SAMPLE} case mails and notice deliveries.",
                      seconds)


def _labelled(family: CounterMetricFamily | GaugeMetricFamily,
              rows: Iterable[tuple[Any, ...]]) -> CounterMetricFamily | GaugeMetricFamily:
    """One sample a row: (label values..., number)."""
    for *labels, value in sorted(rows, key=str):
        family.add_metric([str(v) for v in labels], float(value))
    return family


def collect(session: Session, now: dt.datetime) -> list[Metric]:
    processed = _grouped(session, InboundMessage.outcome, InboundMessage.reason,
                         where=[InboundMessage.status == MessageStatus.PROCESSED.value])
    by_status = dict.fromkeys((s.value for s in MessageStatus), 0) | {
        str(s): int(n) for s, n in _grouped(session, InboundMessage.status)}
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
    inbound = by_status[MessageStatus.RECEIVED.value] + by_status[MessageStatus.PROCESSING.value]
    return [
        _labelled(CounterMetricFamily("ticketgate_messages",
                                      "Inbound messages processed, by outcome and reason.",
                                      labels=["outcome", "reason"]), processed),
        _labelled(GaugeMetricFamily("ticketgate_messages_by_status",
                                    "Inbound messages by processing status.",
                                    labels=["status"]), by_status.items()),
        _intake_latency(session),
        _send_latency(session),
        _labelled(GaugeMetricFamily(
            "ticketgate_queue_depth",
            "Work waiting: inbound not yet processed, outbox not yet sent, triage pending.",
            labels=["queue"]),
            [("inbound", inbound), ("outbox", outbox_depth), ("triage", triage_depth)]),
        GaugeMetricFamily("ticketgate_triage_oldest_age_seconds",
                          "How long the oldest pending triage item has waited (0: none).",
                          value=max(0, int((now - oldest).total_seconds())) if oldest else 0),
        _labelled(CounterMetricFamily("ticketgate_outbound_messages",
                                      "Case mail queued, by kind and status.",
                                      labels=["kind", "status"]),
                  _grouped(session, OutboundMessage.kind, OutboundMessage.status)),
        _labelled(CounterMetricFamily("ticketgate_notices_sent",
                                      "Notice deliveries (one per recipient and mailing), "
                                      "by status.", labels=["status"]),
                  _grouped(session, NoticeDelivery.status)),
        _labelled(CounterMetricFamily("ticketgate_bounces", "Our mail reported bounced, by "
                                      "what bounced.", labels=["source"]),
                  [("case_mail", bounced_out), ("notice", bounced_notices)]),
    ]


class _DatabaseCollector(Collector):
    """Collects at scrape time from the rows, in one transaction."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterator[Metric]:
        with self.rt.db.transaction() as session:
            yield from collect(session, self.rt.now())

    def describe(self) -> list[Metric]:
        return []  # no query at registration; the names are fixed in ``collect``


def render_metrics(rt: Runtime) -> str:
    """The exposition text, through ``prometheus_client`` (it owns the format's rules)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_DatabaseCollector(rt))
    return exposition.generate_latest(registry).decode("utf-8")


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
