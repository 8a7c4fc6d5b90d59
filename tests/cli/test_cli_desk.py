"""The desk's commands through the CLI: owners and queues, internal notes, search."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from sqlalchemy import select

from gateway.cli import main
from tests.support import new_mail, reply_to
from workflows.storage.db import Database
from workflows.storage.models import AuditEvent

ANALYST = "ana@desk.example"
OTHER = "otto@desk.example"


def outbox(tmp_path: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((tmp_path / "var" / "outbox").glob("*.eml"))]


def users(cli, *emails: str, role: str = "analyst", notify: bool = False) -> None:
    for address in emails:
        extra = ["--notify-by-mail"] if notify else []
        assert cli("user", "add", address, "--role", role, "--no-password", *extra).code == 0


def second_case(cli) -> None:
    assert cli("case", "open", "--org", "Acme", "--contact", "alice@acme.example",
               "--subject", "Fax jammed").code == 0


def test_assignee_and_unassigned_filters(cli, desk):
    """`case list --assignee` shows only that owner's cases, `--unassigned` the others."""
    users(cli, ANALYST)
    second_case(cli)
    assert cli("case", "assign", "CASE-1001", "--to", ANALYST).out == [
        {"number": "CASE-1001", "owner": ANALYST}]
    mine = cli("case", "list", "--assignee", ANALYST, "--json").out
    free = cli("case", "list", "--unassigned", "--json").out
    assert [c["number"] for c in mine] == ["CASE-1001"]
    assert [c["number"] for c in free] == ["CASE-1002"]


def test_status_and_org_filters_combine_with_owner(cli, desk):
    """--status narrows the owner's queue (CASE-1001 is awaiting_info)."""
    users(cli, ANALYST)
    second_case(cli)
    for number in ("CASE-1001", "CASE-1002"):
        cli("case", "assign", number, "--to", ANALYST)
    listed = cli("case", "list", "--assignee", ANALYST, "--status", "open", "--org", "Acme",
                 "--json").out
    assert [c["number"] for c in listed] == ["CASE-1002"]


def test_unknown_org_filter_is_an_error_naming_the_close_match(cli, desk):
    """`case list --org acme` on a desk with Acme: an error offering 'Acme', not an empty list
    (a typo would read as "Acme has no cases")."""
    listed = cli("case", "list", "--org", "acme", "--json")
    assert listed.code != 0
    assert listed.out == []
    assert "no organization named 'acme' (did you mean 'Acme'?)" in listed.err


def test_case_list_without_json_is_a_table(cli, desk, capsys):
    """People read a table; the owner column says who has it."""
    users(cli, ANALYST)
    cli("case", "assign", "CASE-1001", "--to", ANALYST)
    capsys.readouterr()
    assert main(["case", "list", "--assignee", ANALYST]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split()[:4] == ["NUMBER", "STATUS", "SEVERITY", "OWNER"]
    assert row.split()[:4] == ["CASE-1001", "awaiting_info", "high", ANALYST]


def test_unassign_with_none(cli, desk):
    """--none gives the case back to the queue."""
    users(cli, ANALYST)
    cli("case", "assign", "CASE-1001", "--to", ANALYST)
    assert cli("case", "assign", "CASE-1001", "--none").out[0]["owner"] is None
    assert [c["number"] for c in cli("case", "list", "--unassigned", "--json").out] == [
        "CASE-1001"]


def test_every_change_of_owner_is_audited(cli, desk, database_url):
    """Who gave the case to whom, and from whom, is in the audit log."""
    users(cli, ANALYST, OTHER)
    cli("case", "assign", "CASE-1001", "--to", ANALYST, "--as", "lead")
    cli("case", "assign", "CASE-1001", "--to", OTHER, "--as", "lead")
    cli("case", "assign", "CASE-1001", "--to", OTHER, "--as", "lead")  # no change: no event
    db = Database(database_url)
    with db.transaction() as s:
        events = [(e.actor, e.detail["owner"], e.detail["previous"]) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action == "case.assign").order_by(AuditEvent.id))]
    db.dispose()
    assert events == [("lead", ANALYST, None), ("lead", OTHER, ANALYST)]


def test_only_admins_and_analysts_own_cases(cli, desk):
    """A scheduler or an unknown address is refused with exit 1 and one line."""
    users(cli, "sched@desk.example", role="scheduler")
    refused = cli("case", "assign", "CASE-1001", "--to", "sched@desk.example")
    unknown = cli("case", "assign", "CASE-1001", "--to", "nobody@desk.example")
    assert (refused.code, unknown.code) == (1, 1)
    assert "only admins and analysts" in refused.err and "no user" in unknown.err


def test_a_note_never_reaches_the_outbox(cli, desk, tmp_path):
    """An internal note is recorded on the case, marked as a note, and mails nobody."""
    before = outbox(tmp_path)
    run = cli("case", "note", "CASE-1001", "--body", "Customer is grumpy; go gently.")
    assert run.code == 0 and run.out[0]["kind"] == "note"
    assert outbox(tmp_path) == before
    notes = [u for u in cli("case", "show", "CASE-1001").out[0]["updates"]
             if u["kind"] == "note"]
    assert [(n["direction"], n["visible_text"]) for n in notes] == [
        ("internal", "Customer is grumpy; go gently.")]


def test_a_note_is_not_quoted_in_the_next_mail(cli, desk, tmp_path):
    """The customer's thread never carries staff notes."""
    cli("case", "note", "CASE-1001", "--body", "Secret: refund approved up to 500")
    cli("case", "post", "CASE-1001", "--body", "We are on it.")
    for raw in outbox(tmp_path):
        text = email.message_from_bytes(raw, policy=email.policy.default).get_body(
            ("plain",)).get_content()
        assert "refund approved" not in text


def test_a_note_keeps_its_file_on_the_case_without_mailing_it(cli, desk, tmp_path):
    """`--attach` stores the file with the note; still nothing is mailed."""
    log = tmp_path / "trace.log"
    log.write_text("stack trace\n")
    before = outbox(tmp_path)
    assert cli("case", "note", "CASE-1001", "--body", "Trace attached",
               "--attach", str(log)).out[0]["attachments"] == ["trace.log"]
    assert outbox(tmp_path) == before
    files = cli("case", "show", "CASE-1001").out[0]["attachments"]
    assert [f["filename"] for f in files] == ["trace.log"]


def test_an_empty_note_is_refused(cli, desk):
    run = cli("case", "note", "CASE-1001", "--body", "  ")
    assert run.code == 1 and "empty" in run.err


def test_search_finds_a_word_only_in_a_customer_reply(cli, desk, tmp_path):
    """The body of the customer's reply is searchable as soon as it is processed."""
    reply = tmp_path / "reply.eml"
    reply.write_bytes(reply_to(outbox(tmp_path)[0], sender="Alice Liddell <alice@acme.example>",
                               body="The flux capacitor overheated again."))
    assert cli("ingest", str(reply)).out[0]["case"] == "CASE-1001"
    hits = cli("case", "search", "capacitor", "--json").out
    assert [(h["number"], h["source"]) for h in hits] == [("CASE-1001", "inbound")]
    assert "[capacitor]" in hits[0]["snippet"]
    by_name = cli("case", "search", "Liddell", "--json").out
    assert [h["number"] for h in by_name] == ["CASE-1001"]


def test_a_word_only_in_the_quoted_original_finds_our_mail_not_the_reply(cli, desk, tmp_path):
    """A reply's document holds what the customer wrote, not the case mail it quotes: that
    is our own update's already, and indexing the quote again would make every reply a hit
    for the words of the mail it answers (and cost a reply's indexing its quote's length)."""
    reply = tmp_path / "reply.eml"
    reply.write_bytes(reply_to(outbox(tmp_path)[0], sender="alice@acme.example",
                               body="It is a LaserJet 4000."))
    assert "> Which model?" in reply.read_text()  # the quote is in the reply's text
    assert cli("ingest", str(reply)).out[0]["case"] == "CASE-1001"
    hits = cli("case", "search", "model", "--json").out
    assert [(h["number"], h["source"]) for h in hits] == [("CASE-1001", "outbound")]
    laserjet = cli("case", "search", "laserjet", "--json").out
    assert [(h["number"], h["source"]) for h in laserjet] == [("CASE-1001", "inbound")]


def test_search_finds_case_numbers_subjects_and_organizations(cli, desk):
    """The case's own document: number, subject, organization."""
    second_case(cli)
    assert [h["number"] for h in cli("case", "search", "CASE-1002", "--json").out] == [
        "CASE-1002"]
    assert [h["number"] for h in cli("case", "search", "printer", "--json").out] == [
        "CASE-1001"]
    assert {h["number"] for h in cli("case", "search", "acme", "--json").out} >= {
        "CASE-1001", "CASE-1002"}


def test_search_syntax_is_never_an_error(cli, desk):
    """Quotes, stars and operators are just characters: no hit, no failure."""
    for query in ('"', 'AND OR NOT', '*', 'NEAR(a b)', "col:x", "'); DROP TABLE cases; --"):
        run = cli("case", "search", query, "--json")
        assert run.code == 0, (query, run.err)


def test_reindex_rebuilds_what_search_finds(cli, desk):
    """`search reindex` gives the same answers as the index kept on every write."""
    cli("case", "note", "CASE-1001", "--body", "Escalated to the toner vendor")
    before = cli("case", "search", "toner", "--json").out
    run = cli("search", "reindex")
    assert run.out == [{"cases": 1, "updates": 2}]
    assert cli("case", "search", "toner", "--json").out == before != []


def test_owner_who_opted_in_is_mailed_on_a_customer_reply(cli, desk, tmp_path):
    """The owner's unread flag is set and, as asked, a mail tells them."""
    users(cli, ANALYST, notify=True)
    cli("case", "assign", "CASE-1001", "--to", ANALYST)
    reply = tmp_path / "reply.eml"
    reply.write_bytes(reply_to(outbox(tmp_path)[0], sender="alice@acme.example",
                               body="Model HP 4000."))
    cli("ingest", str(reply))
    to_owner = [m for m in outbox(tmp_path) if f"To: {ANALYST}".encode() in m]
    assert len(to_owner) == 1 and b"Model HP 4000." in to_owner[0]
    assert b"[ref:" not in to_owner[0]  # an answer to it must not land on the case
    assert cli("case", "list", "--assignee", ANALYST, "--json").out[0]["unread"] is True


def test_owner_mail_gives_the_status_the_reply_left_the_case_in(cli, desk, tmp_path):
    """CASE-1001 awaits info; the customer's reply reopens it: the owner reads "open"."""
    users(cli, ANALYST, notify=True)
    cli("case", "assign", "CASE-1001", "--to", ANALYST)
    reply = tmp_path / "reply.eml"
    reply.write_bytes(reply_to(outbox(tmp_path)[0], sender="alice@acme.example"))
    cli("ingest", str(reply))
    [raw] = [m for m in outbox(tmp_path) if f"To: {ANALYST}".encode() in m]
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "It is now open." in " ".join(text.split())


def test_owner_mail_of_a_reply_linked_from_triage_gives_the_new_status(cli, desk, tmp_path):
    """A mail without a reference, linked by hand to CASE-1001 (awaiting info): "open"."""
    users(cli, ANALYST, notify=True)
    cli("case", "assign", "CASE-1001", "--to", ANALYST)
    mail = tmp_path / "no-ref.eml"
    mail.write_bytes(new_mail(sender="alice@acme.example", subject="the model"))
    cli("ingest", str(mail))
    [item] = cli("triage", "list").out
    assert cli("triage", "link", str(item["id"]), "CASE-1001").code == 0
    cli("timers", "run")  # the owner's mail goes out with the next outbox pass
    [raw] = [m for m in outbox(tmp_path) if f"To: {ANALYST}".encode() in m]
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "It is now open." in " ".join(text.split())


def test_owner_who_did_not_opt_in_is_not_mailed(cli, desk, tmp_path):
    """By default only the console tells the owner."""
    users(cli, ANALYST)
    cli("case", "assign", "CASE-1001", "--to", ANALYST)
    reply = tmp_path / "reply.eml"
    reply.write_bytes(reply_to(outbox(tmp_path)[0], sender="alice@acme.example"))
    cli("ingest", str(reply))
    assert not [m for m in outbox(tmp_path) if f"To: {ANALYST}".encode() in m]
    assert cli("case", "list", "--assignee", ANALYST, "--json").out[0]["unread"] is True
    assert cli("user", "set", ANALYST, "--notify-by-mail").out == [
        {"email": ANALYST, "notify_by_mail": True}]


def test_auto_assignment_goes_round_robin_over_enabled_analysts(cli, desk, tmp_path):
    """A mailbox with auto_assign hands new cases to each enabled analyst in turn."""
    config = tmp_path / "config.toml"
    config.write_text(config.read_text().replace(
        'policy = "open_case"\n', 'policy = "open_case"\nauto_assign = true\n'))
    users(cli, ANALYST, OTHER, "off@desk.example")
    cli("user", "disable", "off@desk.example")
    owners = []
    for i in range(3):
        mail = tmp_path / f"new{i}.eml"
        mail.write_bytes(new_mail(sender="alice@acme.example", to="new@desk.example",
                                  subject=f"Problem {i}", message_id=f"<n{i}@acme.example>"))
        number = cli("ingest", str(mail), "--mailbox", "new@desk.example").out[0]["case"]
        owners.append(next(c["owner"] for c in cli("case", "list", "--json").out
                           if c["number"] == number))
    assert owners == [ANALYST, OTHER, ANALYST]


def test_no_auto_assignment_by_default(cli, desk, tmp_path):
    """Without auto_assign a new case waits unassigned."""
    users(cli, ANALYST)
    mail = tmp_path / "new.eml"
    mail.write_bytes(new_mail(sender="alice@acme.example", to="new@desk.example"))
    number = cli("ingest", str(mail), "--mailbox", "new@desk.example").out[0]["case"]
    assert number in [c["number"] for c in cli("case", "list", "--unassigned", "--json").out]


def test_a_case_opened_from_triage_is_auto_assigned_too(cli, desk, tmp_path):
    """`triage open` on mail to an auto_assign mailbox gives the new case an owner."""
    config = tmp_path / "config.toml"
    config.write_text(config.read_text().replace(
        '[[mailbox]]\naddress = "care@desk.example"\n',
        '[[mailbox]]\naddress = "care@desk.example"\nauto_assign = true\n'))
    users(cli, ANALYST)
    mail = tmp_path / "new.eml"
    mail.write_bytes(new_mail(sender="alice@acme.example", subject="Toner"))
    cli("ingest", str(mail))
    [item] = cli("triage", "list").out
    number = cli("triage", "open", str(item["id"])).out[0]["case"]
    assert [c["number"] for c in cli("case", "list", "--assignee", ANALYST, "--json").out] == [
        number]


def test_a_disabled_users_cases_can_still_be_listed(cli, desk):
    """Disabling someone does not hide what they own: the lead can hand it on."""
    users(cli, ANALYST)
    cli("case", "assign", "CASE-1001", "--to", ANALYST)
    cli("user", "disable", ANALYST)
    listed = cli("case", "list", "--assignee", ANALYST, "--json")
    assert listed.code == 0 and [c["number"] for c in listed.out] == ["CASE-1001"]
    assert cli("case", "assign", "CASE-1001", "--to", ANALYST).code == 1


def test_search_table_counts_its_hits_in_english(cli, desk, capsys):
    """The table's last line says "1 hit" or "2 hits", not "hit(s)"."""
    from gateway.cli import main

    capsys.readouterr()
    assert main(["case", "search", "CASE-1001"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("1 hit; page 1 of 1")
