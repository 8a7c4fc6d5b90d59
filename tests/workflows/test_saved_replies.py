"""Saved replies: placeholders filled from the case, checked when saved, never evaluated."""

from __future__ import annotations

import pytest

from tests.support import open_case
from workflows.cases import assignment, saved_replies
from workflows.errors import Refused


def save(rt, name: str, body: str):
    with rt.db.transaction() as s:
        return saved_replies.set_reply(s, name=name, body=body, actor="t", now=rt.now())


def filled(rt, name: str, number: str) -> str:
    with rt.db.transaction() as s:
        return saved_replies.render_reply(s, name=name, number=number)


def test_placeholders_take_the_cases_fields(rt, people):
    number = open_case(rt, subject="Printer on fire")
    save(rt, "ack", "Hello {contact_name}, {number} ({subject}, {severity}) for "
         "{organization} is with {owner}. {{literal}}")
    assert filled(rt, "ack", number) == (
        f"Hello alice, {number} (Printer on fire, medium) for Acme is with the care team. "
        "{literal}")


def test_the_owner_placeholder_names_the_owner(rt, people, desk_user):
    number = open_case(rt)
    with rt.db.transaction() as s:
        assignment.assign(s, number=number, owner=desk_user, actor="t", now=rt.now())
    save(rt, "owner", "Your analyst: {owner}")
    assert filled(rt, "owner", number) == f"Your analyst: {desk_user}"


@pytest.mark.parametrize("body", ["Hi {name}", "Hi {contact_name.__class__}", "Hi {0}",
                                  "a lone { brace"])
def test_an_unknown_placeholder_is_refused_when_saved(rt, people, body):
    with pytest.raises(Refused, match="unknown placeholder"):
        save(rt, "bad", body)


def test_saving_again_replaces_the_text(rt, people):
    save(rt, "r", "one")
    save(rt, "r", "two")
    with rt.db.transaction() as s:
        assert [(r.name, r.body) for r in saved_replies.list_replies(s)] == [("r", "two")]


@pytest.fixture
def desk_user(rt) -> str:
    from gateway.http.accounts import Role, add_user

    with rt.db.transaction() as s:
        add_user(s, email="analyst@desk.example", role=Role.ANALYST,
                 password="correct horse battery", now=rt.now(), actor="t")
    return "analyst@desk.example"
