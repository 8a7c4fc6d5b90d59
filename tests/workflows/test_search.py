"""Search as a service: the rank window, repair by reindex, notes found, case docs current."""

from __future__ import annotations

from sqlalchemy import delete, select

from tests.support import CARE, open_case, post, reply_to
from workflows.cases import notes
from workflows.cases.organizations import OrganizationChange, update_organization
from workflows.inbound.intake import Envelope, accept
from workflows.inbound.process import process_batch
from workflows.search import query
from workflows.search.index import reindex
from workflows.storage.models import CaseUpdate, SearchDocument


def test_a_query_matching_more_than_the_window_ranks_the_newest(rt, people, monkeypatch):
    """Past RANK_WINDOW matches, the newest are ranked and the page says there are more."""
    monkeypatch.setattr(query, "RANK_WINDOW", 2)
    numbers = [open_case(rt, subject=f"Toner low {i}") for i in range(4)]
    with rt.db.transaction() as s:
        found = query.search(s, "toner")
    assert (found.total, found.more) == (2, True)
    assert {h.number for h in found.items} == set(numbers[-2:])


def test_reindex_repairs_a_lost_index(rt, people):
    """Documents deleted behind the service's back come back with `reindex`."""
    number = open_case(rt, subject="Scanner jams")
    with rt.db.transaction() as s:
        s.execute(delete(SearchDocument))
    with rt.db.transaction() as s:
        assert query.search(s, "scanner").total == 0
        done = reindex(s)
    with rt.db.transaction() as s:
        assert [h.number for h in query.search(s, "scanner").items] == [number]
    assert (done.cases, done.updates) == (1, 0)


def test_a_note_is_found_and_marked_as_a_note(rt, people):
    """Staff search their own notes; the hit says it is one."""
    number = open_case(rt)
    with rt.db.transaction() as s:
        notes.add_note(s, rt.settings, number=number, body="Vendor ticket VX-99812 opened",
                       actor="ana@desk.example", now=rt.now())
    with rt.db.transaction() as s:
        [hit] = query.search(s, "VX-99812").items
    assert (hit.number, hit.source, hit.author) == (number, "note", "ana@desk.example")


def test_a_rolled_back_update_is_never_found(rt, people):
    """The index is written in the update's transaction: no commit, no hit."""
    number = open_case(rt)
    try:
        with rt.db.transaction() as s:
            notes.add_note(s, rt.settings, number=number, body="quasar", actor="a",
                           now=rt.now())
            raise RuntimeError("the request failed after the note")
    except RuntimeError:
        pass
    with rt.db.transaction() as s:
        assert query.search(s, "quasar").total == 0


def test_a_renamed_organization_is_found_by_its_new_name(rt, people):
    """`org set --rename` updates the cases' documents in the same transaction."""
    number = open_case(rt)
    with rt.db.transaction() as s:
        update_organization(s, rt.settings, name="Acme",
                            change=OrganizationChange(rename="Initech"), actor="t",
                            now=rt.now())
    with rt.db.transaction() as s:
        assert [h.number for h in query.search(s, "initech").items] == [number]



def test_every_reply_of_a_processed_batch_is_found_on_its_own_update(rt, people):
    """Processing's batch writes the search documents after its one flush: each reply's
    document names that reply's update, none is missing or shared."""
    number = open_case(rt)
    sent = post(rt, number)
    raws = [reply_to(sent, sender="alice@acme.example", body=f"Serial token zq{i}x",
                     message_id=f"<batch-{i}@client.example>") for i in range(5)]
    ids = [accept(rt.db, raw, Envelope(mailbox=CARE, rcpt_tos=(CARE,)), now=rt.now()
                  ).inbound_id for raw in raws]
    assert {r.outcome for r in process_batch(rt, ids)} == {"linked"}
    with rt.db.transaction() as s:
        for i, inbound_id in enumerate(ids):
            assert [h.number for h in query.search(s, f"zq{i}x").items] == [number]
            update_id = s.scalar(select(CaseUpdate.id).where(
                CaseUpdate.inbound_message_id == inbound_id))
            doc = s.scalars(select(SearchDocument).where(
                SearchDocument.body.contains(f"zq{i}x"))).one()
            assert doc.update_id == update_id


def test_a_hit_in_an_update_s_text_shows_that_text_without_its_author(rt, people):
    """The snippet is the words around the hit in what was written; the author is shown on
    the hit of its own (``author``), not run on after the last sentence."""
    number = open_case(rt)
    with rt.db.transaction() as s:
        notes.add_note(s, rt.settings, number=number, body="Vendor ticket VX-99812 opened",
                       actor="ana@desk.example", now=rt.now())
    with rt.db.transaction() as s:
        [hit] = query.search(s, "VX-99812").items
    # (PostgreSQL marks "VX" and "-99812" as two hits, SQLite the whole word: the text is
    # the same.)
    assert "".join(f.text for f in hit.snippet).strip() == "Vendor ticket VX-99812 opened"
    assert any(f.hit for f in hit.snippet)


def test_a_hit_on_an_update_s_author_shows_the_author(rt, people):
    """Searching for who wrote an update finds it, and its snippet shows the name found."""
    number = open_case(rt)
    with rt.db.transaction() as s:
        notes.add_note(s, rt.settings, number=number, body="Called the vendor",
                       actor="ana@desk.example", now=rt.now())
    with rt.db.transaction() as s:
        [hit] = [h for h in query.search(s, "ana@desk.example").items if h.source == "note"]
    assert "ana" in "".join(f.text for f in hit.snippet if f.hit)
