"""Health page, /healthz and /metrics: figures counted from the database."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.http.server import start_http_server
from tests.conftest import require_service
from tests.http.conftest import csrf_of
from tests.support import CARE, ingest, new_mail, open_case, post
from workflows.cases import service as cases
from workflows.domain import MessageStatus
from workflows.inbound.intake import Envelope, accept
from workflows.outbound.outbox import TransportError, send_queued
from workflows.storage.db import Database
from workflows.storage.models import InboundMessage


def test_healthz_reports_the_database_without_a_session(client):
    """Load balancers probe it anonymously; it says ok or not, nothing more."""
    response = client.get("/healthz")
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


@pytest.mark.services
def test_healthz_reaches_a_real_broker(desk):
    """With Redis configured, the probe connects to it."""
    url = require_service("TICKETGATE_TEST_REDIS_URL", "Redis")
    rt = dataclasses.replace(desk.rt, settings=dataclasses.replace(desk.rt.settings,
                                                                   broker_url=url))
    handle = start_http_server(rt, "127.0.0.1", 0)
    try:
        response = httpx.get(f"{handle.url}/healthz", timeout=30)
    finally:
        handle.stop()
    assert (response.status_code, response.json()["checks"]["broker"]) == (200, "ok")


def test_healthz_fails_when_the_broker_is_unreachable(desk):
    """A closed port: the probe says unavailable (503) instead of hanging or lying."""
    rt = dataclasses.replace(desk.rt, settings=dataclasses.replace(
        desk.rt.settings, broker_url="redis://127.0.0.1:9/0"))
    handle = start_http_server(rt, "127.0.0.1", 0)
    try:
        response = httpx.get(f"{handle.url}/healthz", timeout=30)
    finally:
        handle.stop()
    assert (response.status_code, response.json()["checks"]["broker"]) == (503, "unreachable")


def test_metrics_count_messages_by_outcome_and_reason(desk, client):
    """Prometheus text, scraped with an API token."""
    ingest(desk.rt, new_mail(sender="alice@acme.example"))
    text = client.get("/metrics", headers=desk.bearer()).text
    assert 'ticketgate_messages_total{outcome="triaged",reason="new_mail"} 1' in text
    assert 'ticketgate_queue_depth{queue="triage"} 1' in text
    assert "# TYPE ticketgate_intake_latency_seconds histogram" in text


def test_metrics_parse_as_prometheus_text_with_a_send_latency_histogram(desk, client):
    """What a Prometheus server would read: every family parses; a sent mail is counted in
    the send latency histogram."""
    post(desk.rt, open_case(desk.rt))
    text = client.get("/metrics", headers=desk.bearer()).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert {"ticketgate_messages", "ticketgate_intake_latency_seconds",
            "ticketgate_send_latency_seconds", "ticketgate_queue_depth"} <= set(families)
    count = [s.value for s in families["ticketgate_send_latency_seconds"].samples
             if s.name == "ticketgate_send_latency_seconds_count"]
    assert count == [1.0]


def test_a_failed_message_is_retried_from_the_health_page(desk, admin):
    """The operator sees the failure and replays it with one click."""
    # Committed but never applied, then marked as a worker marks a message that raised.
    accept(desk.rt.db, new_mail(sender="alice@acme.example"), Envelope(mailbox=CARE),
           now=desk.rt.now())
    with desk.rt.db.transaction() as s:
        row = s.get(InboundMessage, 1)
        assert row is not None
        row.status, row.error = MessageStatus.FAILED.value, "RuntimeError: boom"
        s.add(row)
    page = admin.get("/health").text
    assert "RuntimeError: boom" in page
    admin.post("/health/failed/1/retry", data={"csrf_token": csrf_of(page)})
    assert "None." in admin.get("/health").text.split("Failed messages")[1].split("Bounces")[0]


class _Busy:
    """A transport whose server answers 451 (a temporary failure) to everything."""

    def send(self, raw: bytes, sender: str, recipients, message_id: str) -> None:  # type: ignore[no-untyped-def]
        raise TransportError("end of DATA: 451 4.3.0 mailbox busy", temporary=True)


def test_the_health_page_shows_case_mail_waiting_for_a_retry(desk, admin):
    """Case mail deferred by a 4xx is on the page: counted, with its case and next attempt."""
    number = open_case(desk.rt)
    with desk.rt.db.transaction() as s:
        out_id = cases.post_update(s, desk.rt.settings, desk.rt.key, number=number,
                                   body="Which model?", action=None, now=desk.rt.now(),
                                   actor="analyst@desk.example").id
    assert send_queued(desk.rt.db, _Busy(), CARE, ids=[out_id], now=desk.rt.now()).deferred == 1
    page = admin.get("/health").text
    retries = page.split("Mail retries")[1].split("</div>")[0]
    assert "<b>1</b> deferred" in retries.split("Notice deliveries")[0]
    waiting = page.split("Case mail deferred, failed or held")[1].split("</section>")[0]
    assert number in waiting and "451 4.3.0 mailbox busy" in waiting


def test_the_health_page_shows_an_acknowledgement_held_by_the_hourly_limit(desk, admin):
    """Past ``automated_per_hour`` a new case's acknowledgement is held, not failed: the page
    counts it apart and lists it with its reason, so a burst of auto-replies does not read as
    failures."""
    rt = dataclasses.replace(desk.rt, settings=dataclasses.replace(
        desk.rt.settings, automated_per_hour=1, new_case_ack_minutes=0))
    for i in (1, 2):
        ingest(rt, new_mail(sender="alice@acme.example", subject=f"Printer {i}",
                            message_id=f"<burst-{i}@acme.example>"), mailbox="new@desk.example")
    page = admin.get("/health").text
    retries = page.split("Mail retries")[1].split("Notice deliveries")[0]
    assert "<b>0</b> failed" in retries and "<b>1</b> held" in retries
    waiting = page.split("Case mail deferred, failed or held")[1].split("</section>")[0]
    assert "<td>held</td>" in waiting and "automated_per_hour" in waiting


def test_console_page_says_503_when_the_database_is_down(desk, admin, tmp_path):
    """A signed-in analyst's page during an outage: the API's 503, not a bare 500 (the error
    page must not look up the session in the database that is down)."""
    down = dataclasses.replace(desk.rt, db=Database(f"sqlite:///{tmp_path}/missing/x.db"))
    handle = start_http_server(down, "127.0.0.1", 0)
    try:
        response = httpx.get(f"{handle.url}/cases", cookies=admin.cookies, timeout=30)
    finally:
        handle.stop()
    assert response.status_code == 503
    assert "the database is unavailable" in response.text
