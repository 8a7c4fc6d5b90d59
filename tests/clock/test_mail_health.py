"""``ticketgate health`` shows case mail waiting for a retry and case mail that failed."""

from __future__ import annotations

from tests.support import open_case

ALICE = "alice@acme.example"


def test_health_counts_deferred_and_failed_case_mail(rt, people, sink, ticketgate):
    """A 451 leaves one mail deferred (with its next attempt), a 554 fails another at once:
    the operator reads both, with the case they belong to."""
    handler, _ = sink
    number = open_case(rt)
    handler.replies[ALICE] = "451 4.3.0 mailbox busy"
    assert ticketgate("case", "post", number, "--body", "First").code == 0
    handler.replies[ALICE] = "554 5.7.1 rejected"
    assert ticketgate("case", "post", number, "--body", "Second").code == 0
    done = ticketgate("health")
    assert done.code == 0, done.err
    health = done.out[0]
    assert (health["case_mail"]["deferred"], health["case_mail"]["failed"]) == (1, 1)
    # ISO 8601 as the API writes times, so scripts parse it (fromisoformat takes both, not all
    # tools do): "2026-...T...", not "2026-... ..."
    assert "T" in health["case_mail_next_retry"] and " " not in health["case_mail_next_retry"]
    waiting = {(m["case"], m["status"], m["attempts"]) for m in health["waiting"]}
    assert waiting == {(number, "deferred", 1), (number, "failed", 1)}
