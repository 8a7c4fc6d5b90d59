"""Bounce and complaint reading against the public corpus in tests/fixtures/bounces/.

Each ``NAME.eml`` has a ``NAME.json`` with what a person reading it finds: the kind (bounce,
complaint, not a bounce), the failed recipients, permanent or not, and where known the RFC 3463
status and our original Message-ID. Sources and licences: tests/fixtures/bounces/NOTES.md.
The per-family figures are printed by ``bench/bounces.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parsing import parse
from parsing.model import AutomationClass, DeliveryAction

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "bounces"
CASES = sorted(p.relative_to(CORPUS).with_suffix("").as_posix() for p in CORPUS.rglob("*.json"))


def _load(name: str) -> tuple[bytes, dict]:  # type: ignore[type-arg]
    return (CORPUS / f"{name}.eml").read_bytes(), json.loads((CORPUS / f"{name}.json").read_text())


@pytest.mark.parametrize("name", CASES)
def test_corpus_message_reads_as_expected(name: str) -> None:
    """Kind, exact recipient set, permanence, status and original id as the expectation says."""
    raw, want = _load(name)
    mail = parse(raw)
    if want["kind"] == "complaint":
        assert mail.automation is AutomationClass.COMPLAINT
        assert mail.complaint is not None
        assert set(mail.complaint.recipients) == set(want["recipients"])
        assert mail.complaint.feedback_type == want["feedback_type"]
        assert mail.complaint.original_message_id == want["original_message_id"]
        return
    if want["kind"] != "bounce":
        assert mail.automation is not AutomationClass.BOUNCE
        if want["kind"] in ("auto_reply", "list"):  # machine mail of another kind: never human
            assert mail.automation is AutomationClass(want["kind"])
        return
    assert mail.automation is AutomationClass.BOUNCE
    assert mail.bounce is not None
    assert {r.address for r in mail.bounce.recipients} == set(want["recipients"])
    if want["recipients"]:
        final = set(want.get("failed", want["recipients"] if want["permanent"] else []))
        assert {r.address for r in mail.bounce.recipients if r.permanent} == final
        assert mail.bounce.permanent is want["permanent"]
    elif "permanent" in want:  # a report naming no failure (a success DSN) is never final
        assert mail.bounce.permanent is want["permanent"]
    if "status" in want:
        assert {r.status for r in mail.bounce.recipients} == {want["status"]}
    if "original_message_id" in want:
        assert mail.bounce.original_message_id == want["original_message_id"]


def test_corpus_covers_the_families_the_issue_names() -> None:
    """Every MTA family issue 14 lists has at least one sample with an expectation."""
    families = {json.loads((CORPUS / f"{n}.json").read_text())["family"] for n in CASES}
    wanted = {"dsn", "postfix", "exim", "sendmail", "qmail", "courier", "exchange2003",
              "exchange2007", "office365", "gmail", "yahoo", "outlook.com", "amazonses",
              "sendgrid", "mailgun", "googlegroups", "domino", "groupwise",
              "x-failed-recipients", "arf"}
    assert wanted <= families, wanted - families


def test_mixed_report_lists_only_the_final_failures_as_failed() -> None:
    """RFC 3464 2.3.3: a 'delayed' recipient next to a 'failed' one is not bounced."""
    bounce = parse(_load("documented/postfix-mixed")[0]).bounce
    assert bounce is not None
    assert bounce.failed_recipients == ("gone@customer.example",)
    assert bounce.permanent is True
    actions = {r.address: r.action for r in bounce.recipients}
    assert actions == {"gone@customer.example": DeliveryAction.FAILED,
                       "busy@customer.example": DeliveryAction.DELAYED}


def test_delayed_report_is_not_permanent() -> None:
    """A delay warning names its recipient but never as a final failure."""
    bounce = parse(_load("documented/postfix-delay")[0]).bounce
    assert bounce is not None
    assert (bounce.permanent, bounce.failed_recipients) == (False, ("slow@customer.example",))


def test_dsn_gives_diagnostic_remote_and_reporting_mta() -> None:
    """The reason shown to an analyst comes from Diagnostic-Code; the MTAs from their fields."""
    bounce = parse(_load("sisimai/email-sendmail-01")[0]).bounce
    assert bounce is not None
    [recipient] = bounce.recipients
    assert recipient.diagnostic == "550 5.1.1 <userunknown@bouncehammer.jp>... User Unknown"
    assert recipient.remote_mta == "mx.bouncehammer.jp"
    assert bounce.reporting_mta == "smtpgw.example.jp"


def test_prose_report_gives_each_recipient_its_own_status() -> None:
    """Exim lists two recipients with different codes; each keeps its own."""
    bounce = parse(_load("sisimai/email-exim-02")[0]).bounce
    assert bounce is not None
    assert {r.address: r.status for r in bounce.recipients} == {
        "kijitora@example.jp": "5.1.1", "sabatora@example.jp": "5.2.1"}


def test_odd_formats_fall_back_to_flufl_bounce() -> None:
    """SMTP32 (an old Windows MTA) has no anchor sentence we know: GNU Mailman's detector
    finds the recipient."""
    bounce = parse(_load("flufl/smtp32_01")[0]).bounce
    assert bounce is not None
    assert (bounce.format, bounce.failed_recipients) == ("flufl.bounce", ("userx@example.ph",))


def test_qmail_that_gave_up_on_a_temporary_error_is_permanent() -> None:
    """'(#4.4.1) I'm not going to try again': the code is 4.x.x, the outcome final."""
    bounce = parse(_load("documented/qmail-gave-up")[0]).bounce
    assert bounce is not None and bounce.permanent is True
    assert bounce.recipients[0].status == "4.4.1"


def test_ses_transient_notification_is_delayed() -> None:
    """SES JSON: bounceType Transient never makes the recipient a final failure."""
    bounce = parse(_load("documented/amazonses-json-transient")[0]).bounce
    assert bounce is not None
    assert (bounce.format, bounce.permanent) == ("amazonses-json", False)
    assert bounce.recipients[0].action is DeliveryAction.DELAYED


def test_ses_json_from_someone_else_is_not_a_bounce() -> None:
    """The JSON shape alone proves nothing: only Amazon's senders are believed."""
    raw = _load("documented/amazonses-json-transient")[0].replace(
        b"no-reply@sns.amazonaws.com", b"dev@customer.example")
    assert parse(raw).automation is AutomationClass.HUMAN


def test_delay_warning_naming_nobody_is_not_permanent() -> None:
    """Without a recipient to go by, the subject's "delayed" still keeps it transient."""
    raw = (b"From: MAILER-DAEMON@mx.example\r\nTo: support@example.com\r\n"
           b"Subject: Delayed Mail (still being retried)\r\n\r\nStill trying.\r\n")
    bounce = parse(raw).bounce
    assert bounce is not None
    assert (bounce.recipients, bounce.permanent) == ((), False)
