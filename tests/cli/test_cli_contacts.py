"""`ticketgate contact list|set|remove`: who may touch a case, changed from the CLI and
proven through `ticketgate ingest` (the same intake as SMTP and IMAP)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.support import reply_to
from workflows.storage.models import AuditEvent

ALICE = "alice@acme.example"


def outbox_mail(tmp_path: Path) -> bytes:
    [path] = (tmp_path / "var" / "outbox").glob("*.eml")
    return path.read_bytes()


def alice_replies(cli, tmp_path: Path) -> dict:
    reply = tmp_path / "reply.eml"
    reply.write_bytes(reply_to(outbox_mail(tmp_path), sender=ALICE))
    return cli("ingest", str(reply)).out[0]


def audit_actions(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    with Session(engine) as s:
        actions = list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    engine.dispose()
    return actions


def test_undesignating_turns_the_next_reply_into_unauthorized_sender(cli, desk, tmp_path):
    """Alice is un-designated: her reply with a valid reference goes to triage."""
    done = cli("contact", "set", ALICE, "--no-designated")
    assert done.code == 0 and done.out[0]["changed"] == {
        "designated": {"from": True, "to": False}}
    landed = alice_replies(cli, tmp_path)
    assert (landed["outcome"], landed["reason"]) == ("triaged", "unauthorized_sender")


def test_a_removed_contact_counts_as_a_stranger(cli, desk, tmp_path):
    """`contact remove` keeps the row but her reply no longer reaches the case."""
    assert cli("contact", "remove", ALICE).code == 0
    assert alice_replies(cli, tmp_path)["reason"] == "unauthorized_sender"


def test_remove_keeps_history_and_is_audited(cli, desk, database_url):
    """The removed contact is listed with --removed, and the removal is in the audit trail."""
    cli("contact", "remove", ALICE, "--as", "ops@desk.example")
    active = [c["email"] for c in cli("contact", "list", "Acme", "--json").out]
    everyone = {c["email"]: c["removed_at"] for c in
                cli("contact", "list", "Acme", "--json", "--removed").out}
    assert ALICE not in active and everyone[ALICE] is not None
    assert "contact.remove" in audit_actions(database_url)


def test_set_with_org_brings_a_removed_contact_back(cli, desk, tmp_path):
    cli("contact", "remove", ALICE)
    back = cli("contact", "set", ALICE, "--org", "Acme")
    assert back.code == 0 and back.out[0]["changed"] == {"removed": {"from": True, "to": False}}
    assert alice_replies(cli, tmp_path)["outcome"] == "linked"


def test_set_adds_a_new_contact_and_warns_about_a_foreign_domain(cli, desk):
    """A contact outside the organization's domains is stored, with a warning."""
    made = cli("contact", "set", "dave@contractor.example", "--org", "Acme", "--name", "Dave")
    assert made.code == 0 and made.out[0]["created"] is True
    assert made.out[0]["foreign_domain"] is True
    assert "contractor.example is not one of Acme's mail domains" in made.err


def test_list_warns_below_two_designated_contacts(cli, desk):
    """Acme has one designated contact (alice): stderr says so; a second one clears it."""
    first = cli("contact", "list", "Acme", "--json")
    assert "has 1 designated contact; the guides ask for at least 2" in first.err
    cli("contact", "set", "bob@acme.example", "--designated")
    assert "designated contact" not in cli("contact", "list", "Acme", "--json").err


def test_a_new_address_without_org_is_a_clear_error(cli, desk):
    run = cli("contact", "set", "nobody@acme.example", "--designated")
    assert run.code == 1 and "give --org" in run.err and "Traceback" not in run.err


def test_removing_twice_is_a_clear_error(cli, desk):
    cli("contact", "remove", ALICE)
    again = cli("contact", "remove", ALICE)
    assert again.code == 1 and "removed already" in again.err


def test_a_malformed_address_is_refused(cli, desk):
    run = cli("contact", "set", "not an address", "--org", "Acme")
    assert run.code == 2 and "Traceback" not in run.err
