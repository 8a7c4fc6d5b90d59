"""`ticketgate reply set|list|render|remove`: saved replies from the command line."""

from __future__ import annotations


def test_set_render_and_remove(cli, desk):
    made = cli("reply", "set", "model", "--body", "Hi {contact_name}, which model ({number})?")
    assert made.code == 0
    filled = cli("reply", "render", "model", "--case", "case-1001").out[0]
    assert filled["body"] == "Hi Alice, which model (CASE-1001)?"
    assert [r["name"] for r in cli("reply", "list").out] == ["model"]
    assert cli("reply", "remove", "model").code == 0 and cli("reply", "list").out == []


def test_an_unknown_placeholder_is_a_clear_error(cli, desk):
    run = cli("reply", "set", "typo", "--body", "Hi {contact}")
    assert run.code == 1 and "unknown placeholder(s) {contact}" in run.err
