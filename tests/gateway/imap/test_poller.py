"""The IMAP poller against a real Dovecot: fetch, commit, process, move; batches; accounts."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence

import pytest

from gateway.imap import FolderDrain, start_pollers
from gateway.imap.connection import Disposal
from tests.gateway.imap.conftest import (
    FAST_BACKOFF,
    WAIT,
    ImapUser,
    RunPoller,
    count_unprocessed,
    counting_fetches,
    inbound_rows,
    make_user,
    wait_until,
)
from tests.gateway.imap.dovecot import free_port
from tests.support import new_mail
from workflows.domain import MessageStatus
from workflows.inbound.dispatch import EmbeddedWorker
from workflows.inbound.intake import AcceptResult
from workflows.runtime import Runtime
from workflows.storage.imap_state import load_folder_state

ALICE = "alice@acme.example"


def mails(count: int, tag: str = "m") -> list[bytes]:
    return [new_mail(sender=ALICE, subject=f"Help {tag}{i}", message_id=f"<{tag}{i}@acme.example>")
            for i in range(count)]


def test_new_mail_is_committed_processed_and_moved(rt: Runtime, people, imap_user: ImapUser,
                                                    run_poller: RunPoller):
    """The whole IMAP path: a mail in INBOX becomes a decided row and leaves INBOX."""
    run_poller(imap_user.account())
    imap_user.append(mails(1)[0])
    wait_until(lambda: imap_user.message_ids("Processed") == ["<m0@acme.example>"],
               "the mail is moved to Processed")
    wait_until(lambda: count_unprocessed(rt) == 0, "the mail is processed")
    [row] = inbound_rows(rt)
    state = load_folder_state(rt.db, imap_user.name, "INBOX")
    assert state is not None
    assert (row.transport, row.mailbox, row.status, row.outcome is not None, row.source) == (
        "imap", "care@desk.example", MessageStatus.PROCESSED, True,
        f"imap://{imap_user.name.replace('@', '%40')}@127.0.0.1:{imap_user.server.port}"
        f"/INBOX;UIDVALIDITY={state.uidvalidity}/;UID=1")
    assert imap_user.message_ids("INBOX") == []


def test_idle_brings_mail_without_waiting_for_the_poll(rt: Runtime, imap_user: ImapUser,
                                                      run_poller: RunPoller):
    """Mail arriving while the poller idles comes at once (RFC 2177), not at the next poll."""
    idling = threading.Event()

    class Watching(FolderDrain):
        def open(self) -> None:
            super().open()
            start_idle = self.client.idle

            def idle() -> None:
                start_idle()
                idling.set()

            self.client.idle = idle  # type: ignore[method-assign]

    run_poller(imap_user.account(poll_interval=600.0), drain_factory=Watching)
    assert idling.wait(WAIT)
    imap_user.append(mails(1)[0])
    wait_until(lambda: len(imap_user.message_ids("Processed")) == 1, "IDLE announced it")
    assert imap_user.message_ids("INBOX") == []


def test_without_idle_a_timed_poll_finds_mail(rt: Runtime, imap_user: ImapUser,
                                              run_poller: RunPoller):
    """Servers without IDLE (or ``idle = false``): the poll every ``poll_interval`` works."""
    run_poller(imap_user.account(idle=False, poll_interval=0.2))
    imap_user.append(mails(1)[0])
    wait_until(lambda: len(imap_user.message_ids("Processed")) == 1, "a poll found it")
    assert len(inbound_rows(rt)) == 1


def test_fetching_never_marks_mail_as_read(rt: Runtime, imap_user: ImapUser,
                                           run_poller: RunPoller):
    """BODY.PEEK[]: a message the gateway failed to commit must still look unread to people."""
    flags_before_commit: list[tuple[bytes, ...]] = []

    class Watching(FolderDrain):
        def accept_batch(self, uids: Sequence[int], raws: dict[int, bytes]
                         ) -> list[AcceptResult]:
            with imap_user.client() as other:
                other.select_folder(self.folder, readonly=True)
                flags_before_commit.extend(f[b"FLAGS"] for f in
                                           other.fetch(list(uids), [b"FLAGS"]).values())
            return super().accept_batch(uids, raws)

    imap_user.append(*mails(3))
    run_poller(imap_user.account(), drain_factory=Watching)
    wait_until(lambda: len(imap_user.message_ids("Processed")) == 3, "all three are moved")
    with imap_user.client() as client:
        client.select_folder("Processed", readonly=True)
        uids = client.search(["ALL"])
        flags_after = [f[b"FLAGS"] for f in client.fetch(uids, [b"FLAGS"]).values()]
    seen = b"\\Seen"
    assert len(flags_before_commit) == 3
    assert not any(seen in flags for flags in flags_before_commit + flags_after)


def test_batches_are_no_larger_than_batch_size(rt: Runtime, imap_user: ImapUser,
                                               run_poller: RunPoller):
    """A full mailbox is drained in bounded batches, one commit each, and nothing is left."""
    sizes: list[int] = []

    class Counting(FolderDrain):
        def accept_batch(self, uids: Sequence[int], raws: dict[int, bytes]
                         ) -> list[AcceptResult]:
            sizes.append(len(uids))
            return super().accept_batch(uids, raws)

    imap_user.append(*mails(25))
    run_poller(imap_user.account(batch_size=10), drain_factory=Counting)
    wait_until(lambda: len(imap_user.message_ids("Processed")) == 25, "all 25 are moved")
    assert (sizes, len(inbound_rows(rt))) == ([10, 10, 5], 25)


def test_new_uidvalidity_reads_the_folder_again(rt: Runtime, imap_user: ImapUser,
                                                run_poller: RunPoller):
    """Re-created folder: UIDs restart at 1, so a stale last UID would skip (lose) mail."""
    first, again = mails(3), mails(1, tag="new")
    with imap_user.client() as client:
        client.create_folder("Support")
    imap_user.append(*first, folder="Support")
    run_poller(imap_user.account(folder="Support"))
    wait_until(lambda: len(imap_user.message_ids("Processed")) == 3, "the first 3 are moved")
    before = load_folder_state(rt.db, imap_user.name, "Support")
    assert before is not None and before.last_uid == 3
    with imap_user.client() as client:
        client.delete_folder("Support")
        client.create_folder("Support")
    # The new mail gets UID 1, below the old last UID; then the same three again.
    imap_user.append(*again, *first, folder="Support")

    def reread() -> bool:
        state = load_folder_state(rt.db, imap_user.name, "Support")
        return (state is not None and state.uidvalidity != before.uidvalidity
                and imap_user.message_ids("Support") == [])

    wait_until(reread, "the re-created folder is read again and emptied")
    ids = sorted(r.message_id or "" for r in inbound_rows(rt))
    assert ids == ["m0@acme.example", "m1@acme.example", "m2@acme.example", "new0@acme.example"]


def test_a_broken_account_never_stops_a_good_one(rt: Runtime, dovecot, dovecot_factory,
                                                worker: EmbeddedWorker,
                                                caplog: pytest.LogCaptureFixture):
    """Wrong password and a dead server retry on their own threads; the good mailbox flows."""
    # The wrong password gets a server of its own: Dovecot's auth penalty would otherwise slow
    # every later test's logins from 127.0.0.1.
    good, wrong = make_user(dovecot), make_user(dovecot_factory())
    accounts = (
        wrong.account(name="wrong-password", password="not-it"),
        good.account(name="good"),
        good.account(name="closed-port", port=free_port()),
    )
    stop = threading.Event()
    runtime = dataclasses.replace(rt, settings=dataclasses.replace(rt.settings, imap=accounts))

    def failed(name: str, error: str) -> bool:
        return any(r.getMessage().startswith(f"imap {name}: {error}") for r in caplog.records)

    with caplog.at_level(logging.WARNING, logger="gateway.imap"):
        threads = start_pollers(runtime, worker, stop, backoff=FAST_BACKOFF)
        try:
            good.append(*mails(2))
            wait_until(lambda: len(good.message_ids("Processed")) == 2, "the good one flows")
            wait_until(lambda: failed("wrong-password", "LoginError")
                       and failed("closed-port", "ConnectionRefusedError"),
                       "both broken accounts were tried and failed")
            alive = [t.is_alive() for t in threads]
        finally:
            stop.set()
            for thread in threads:
                thread.join(WAIT)
    assert alive == [True, True, True]
    assert [t.is_alive() for t in threads] == [False, False, False]
    assert sorted(r.message_id or "" for r in inbound_rows(rt)) == [
        "m0@acme.example", "m1@acme.example"]


def test_xoauth2_token_command_logs_in(rt: Runtime, imap_user: ImapUser,
                                       run_poller: RunPoller):
    """Microsoft 365 and Gmail need XOAUTH2: the token comes from the configured command."""
    account = imap_user.account(password=None,
                                oauth2_token_command=f"printf '%s\\n' {imap_user.password}")
    run_poller(account)
    imap_user.append(mails(1)[0])
    wait_until(lambda: imap_user.message_ids("Processed") == ["<m0@acme.example>"],
               "the mail is fetched over an XOAUTH2 login")
    assert len(inbound_rows(rt)) == 1


@pytest.mark.parametrize(("capability", "disposal", "left_flagged"), [
    ("IMAP4rev1 IDLE UIDPLUS", Disposal.COPY_EXPUNGE, 0),  # UID EXPUNGE: only our messages
    ("IMAP4rev1 IDLE", Disposal.COPY_DELETE, 3),  # a plain EXPUNGE could hit others' mail
])
def test_without_move_messages_are_copied_and_deleted(
        rt: Runtime, dovecot_factory, run_poller: RunPoller, capability: str,
        disposal: Disposal, left_flagged: int):
    """Servers without MOVE (RFC 6851): COPY, then \\Deleted, then UID EXPUNGE if possible."""
    user = make_user(dovecot_factory(f"imap_capability = {capability}"))
    user.append(*mails(3))
    drains: list[FolderDrain] = []

    class Recording(FolderDrain):
        def open(self) -> None:
            drains.append(self)
            super().open()

    run_poller(user.account(), drain_factory=Recording)
    wait_until(lambda: len(user.message_ids("Processed")) == 3, "all three are copied")
    wait_until(lambda: user.count("INBOX", "UNDELETED") == 0, "and deleted from INBOX")
    # UID EXPUNGE is a command of its own after STORE \Deleted: wait for it, do not race it.
    wait_until(lambda: user.count("INBOX") == left_flagged,
               f"{left_flagged} flagged message(s) left in INBOX")
    assert (drains[0].disposal, user.count("INBOX"), len(inbound_rows(rt))) == (
        disposal, left_flagged, 3)


def test_without_processed_folder_mail_is_flagged_and_not_fetched_again(
        rt: Runtime, imap_user: ImapUser, run_poller: RunPoller):
    """Flag-only mode leaves mail in place: the last UID alone keeps it from coming back."""
    imap_user.append(*mails(3))
    account = imap_user.account(processed_folder="")
    first = run_poller(account)
    wait_until(lambda: imap_user.count("INBOX", "SEEN") == 3, "all three are flagged \\Seen")
    first.halt()
    fetched: list[int] = []
    run_poller(account, drain_factory=counting_fetches(fetched))
    imap_user.append(mails(1, tag="later")[0])
    wait_until(lambda: imap_user.count("INBOX", "SEEN") == 4, "the new one is flagged too")
    assert (fetched, len(inbound_rows(rt)), imap_user.count("INBOX")) == ([4], 4, 4)
