"""``ticketgate health`` shows case mail waiting for a retry, case mail that failed, and the
acknowledgements the hourly limit held back."""

from __future__ import annotations

from tests.support import new_mail, open_case

ALICE = "alice@acme.example"
NEW = "new@desk.example"  # an open_case mailbox (tests/conftest.py MAILBOXES)


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


def test_an_acknowledgement_the_hourly_limit_holds_is_held_not_failed(
        rt, people, sink, ticketgate, settings, tmp_path):
    """A designated contact's new mail past ``automated_per_hour`` opens its case, but the
    acknowledgement is not sent: ``ticketgate health`` counts it ``held`` with the limit as its
    reason (it was ``failed``, which after a burst of auto-replies read as an outage), and
    ``case resend`` refuses it: an automated answer is never sent late."""
    config = settings.home / "config.toml"  # written by the ticketgate fixture
    config.write_text(config.read_text().replace(
        "[gateway]\n", "[gateway]\nnew_case_ack_minutes = 0\n", 1)
        + "\n[notices]\nautomated_per_hour = 1\n")
    handler, _ = sink
    for i in (1, 2):
        path = tmp_path / f"new-{i}.eml"
        path.write_bytes(new_mail(sender=ALICE, subject=f"Printer {i}", to=NEW,
                                  message_id=f"<burst-{i}@acme.example>"))
        done = ticketgate("ingest", "--mailbox", NEW, str(path))
        assert done.code == 0, done.err
        assert done.out[0]["outcome"] == "linked", done.out
    assert len(handler.messages) == 1  # the first acknowledgement only
    done = ticketgate("health")
    assert done.code == 0, done.err
    health = done.out[0]
    assert (health["case_mail"]["held"], health["case_mail"]["failed"]) == (1, 0)
    [held] = health["waiting"]
    assert (held["kind"], held["status"]) == ("new_case_ack", "held")
    assert "automated_per_hour" in held["last_error"]
    refused = ticketgate("case", "resend", held["message_id"])
    assert refused.code == 1 and "never sent late" in refused.err
    assert len(handler.messages) == 1
