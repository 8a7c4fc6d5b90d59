"""Nothing lost, nothing doubled over IMAP: crashes between steps, a dying server, redelivery."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest
from sqlalchemy import func, select

from gateway.imap import FolderDrain
from gateway.imap.connection import close_quietly, connect
from gateway.imap.poller import DrainFactory
from tests.gateway.imap.conftest import (
    WAIT,
    ImapUser,
    RunPoller,
    count_unprocessed,
    counting_fetches,
    inbound_rows,
    make_user,
    wait_until,
)
from tests.support import ingest, new_mail, open_case, post, reply_to
from workflows.inbound.intake import AcceptResult
from workflows.runtime import Runtime
from workflows.storage.db import DatabaseUnavailable
from workflows.storage.imap_state import load_folder_state
from workflows.storage.models import Case, CaseUpdate

REPLY_ID = "<reply-1@client.example>"


class ConnectionCut(ConnectionError):
    """Stands for the network (or the process) dying between two steps of a batch."""


def cut_once_after(step: str) -> DrainFactory:
    """A drain whose connection dies right after ``step``, once; the poller then stops, as if
    its process had died."""
    fired = threading.Event()

    class Cut(FolderDrain):
        pass

    def after_step(self: FolderDrain, *args: object) -> object:
        result = getattr(FolderDrain, step)(self, *args)
        if not fired.is_set():
            fired.set()
            self.stop.set()
            raise ConnectionCut(f"cut after {step}")
        return result

    setattr(Cut, step, after_step)
    return Cut


def inbound_updates(rt: Runtime, number: str) -> int:
    """Case updates made from inbound mail on case ``number``."""
    with rt.db.transaction() as session:
        return session.scalar(
            select(func.count()).select_from(CaseUpdate).join(Case, Case.id == CaseUpdate.case_id)
            .where(Case.number == number, CaseUpdate.inbound_message_id.is_not(None))) or 0


def wire(raw: bytes) -> bytes:
    """The message as it travels (CRLF line ends), which is also what IMAP gives back."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.mark.parametrize(("step", "fetched_again"), [
    ("accept_batch", [1]),  # committed, progress not recorded: fetched again, found by sha256
    ("record_progress", []),  # recorded, not moved: moved at restart without fetching
])
def test_cut_between_commit_and_move_is_exactly_once(
        rt: Runtime, people, imap_user: ImapUser, run_poller: RunPoller, step: str,
        fetched_again: list[int]):
    """The MOVE that follows the commit may never happen: the restart finishes it, once."""
    number = open_case(rt)
    imap_user.append(wire(reply_to(post(rt, number), sender=people["alice"])))
    first = run_poller(imap_user.account(), drain_factory=cut_once_after(step))
    first.thread.join(WAIT)
    assert (len(inbound_rows(rt)), imap_user.message_ids("INBOX")) == (1, [REPLY_ID])

    fetched: list[int] = []
    run_poller(imap_user.account(), drain_factory=counting_fetches(fetched))
    wait_until(lambda: imap_user.message_ids("Processed") == [REPLY_ID], "moved after restart")
    wait_until(lambda: count_unprocessed(rt) == 0, "the reply is processed")
    assert (fetched, len(inbound_rows(rt)), inbound_updates(rt, number)) == (fetched_again, 1, 1)
    assert imap_user.message_ids("INBOX") == []


def test_a_failed_commit_stops_the_batches_behind_it(rt: Runtime, imap_user: ImapUser):
    """Commits are pipelined: progress must never jump over a batch not in the database."""
    imap_user.append(*(new_mail(sender="alice@acme.example", message_id=f"<p{i}@acme.example>")
                       for i in range(30)))
    accepted: list[list[int]] = []
    second_fetched = threading.Event()

    class DatabaseDownOnce(FolderDrain):
        def fetch_batch(self, uids: Sequence[int]) -> dict[int, bytes]:
            raws = super().fetch_batch(uids)
            if uids[0] == 11:
                second_fetched.set()
            return raws

        def accept_batch(self, uids: Sequence[int], raws: dict[int, bytes]
                         ) -> list[AcceptResult]:
            accepted.append(list(uids))
            if len(accepted) == 1:
                # Fail only once the next batch is queued behind this commit (its submission
                # follows its fetch at once): the case where progress could jump over this one.
                second_fetched.wait(WAIT)
                time.sleep(0.2)
                raise DatabaseUnavailable("database error: the server is gone")
            return super().accept_batch(uids, raws)

    submitted: list[int] = []
    account = imap_user.account(batch_size=10)
    for attempt in (1, 2):  # the first drain fails, the next connection starts over
        client = connect(account)
        try:
            drain = DatabaseDownOnce(rt, _Recorder(submitted), account, client,
                                     threading.Event())
            drain.open()
            if attempt == 1:
                with pytest.raises(DatabaseUnavailable):
                    drain.drain()
                assert (accepted, inbound_rows(rt), imap_user.count("INBOX")) == (
                    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], [], 30)
                assert load_folder_state(rt.db, account.name, "INBOX") is None
            else:
                assert drain.drain() == 30
        finally:
            close_quietly(client)
    assert (len(inbound_rows(rt)), len(set(submitted)), imap_user.count("INBOX")) == (30, 30, 0)


class _Recorder:
    def __init__(self, into: list[int]) -> None:
        self.into = into

    def submit(self, inbound_ids: Sequence[int]) -> None:
        self.into.extend(inbound_ids)


def test_server_killed_mid_fetch_loses_and_doubles_nothing(rt: Runtime, dovecot_factory,
                                                          run_poller: RunPoller):
    """Dovecot dies while the poller drains: it reconnects after the restart and finishes."""
    server = dovecot_factory()
    user = make_user(server)
    expected = [f"<k{i:02d}@acme.example>" for i in range(60)]
    user.append(*(new_mail(sender="alice@acme.example", subject=f"Help {mid}", message_id=mid)
                  for mid in expected))
    third_fetch, killed = threading.Event(), threading.Event()

    class PausingOnThirdFetch(FolderDrain):
        calls = 0

        def fetch_batch(self, uids: Sequence[int]) -> dict[int, bytes]:
            PausingOnThirdFetch.calls += 1
            if PausingOnThirdFetch.calls == 3:
                third_fetch.set()
                killed.wait(WAIT)
            return super().fetch_batch(uids)

    running = run_poller(user.account(batch_size=10), drain_factory=PausingOnThirdFetch)
    assert third_fetch.wait(WAIT)
    server.kill()
    killed.set()
    wait_until(lambda: running.poller.failures > 0, "the poller notices the dead server")
    server.start()
    wait_until(lambda: user.message_ids("INBOX") == [], "the rest is drained after restart")
    wait_until(lambda: count_unprocessed(rt) == 0, "everything is processed")
    assert sorted(f"<{r.message_id}>" for r in inbound_rows(rt)) == expected
    assert user.message_ids("Processed") == expected


def test_redelivery_over_imap_adds_no_update(rt: Runtime, people, imap_user: ImapUser,
                                             run_poller: RunPoller):
    """The same reply again, twice, from an IMAP mailbox: the case does not change."""
    number = open_case(rt)
    reply = wire(reply_to(post(rt, number), sender=people["alice"]))
    assert ingest(rt, reply).outcome == "linked"  # first delivered over SMTP
    before = inbound_updates(rt, number)
    imap_user.append(reply, reply)
    run_poller(imap_user.account())
    wait_until(lambda: imap_user.message_ids("Processed") == [REPLY_ID, REPLY_ID],
               "both copies are moved")
    wait_until(lambda: count_unprocessed(rt) == 0, "and processed")
    assert (before, inbound_updates(rt, number), len(inbound_rows(rt))) == (1, 1, 1)
