"""The poller's small parts, without a server: UID sets, disposal, URLs, state, backoff, tokens."""

from __future__ import annotations

import dataclasses
import random
import threading

import pytest

from gateway.imap import Backoff, start_pollers
from gateway.imap.connection import (
    Disposal,
    choose_disposal,
    message_url,
    uid_set,
)
from gateway.oauth2 import OAuth2TokenError, fetch_oauth2_token
from workflows.runtime import Runtime
from workflows.settings import ImapAccount
from workflows.storage.imap_state import (
    FolderState,
    load_folder_state,
    record_folder_state,
    resume_point,
)

ACCOUNT = ImapAccount(name="care", host="imap.example.net", user="care@desk.example",
                      mailbox="care@desk.example", password="x")


def test_uid_set_collapses_runs():
    """A batch becomes one short command, whatever the order of its UIDs."""
    assert uid_set([7, 1, 2, 3, 5, 6, 10, 3]) == "1:3,5:7,10"


def test_disposal_prefers_move_then_uidplus():
    """MOVE is atomic; without it only UIDPLUS can expunge just our own messages."""
    assert [choose_disposal(caps, "Processed") for caps in
            ([b"IMAP4REV1", b"MOVE", b"UIDPLUS"], [b"UIDPLUS"], [b"IMAP4REV1"])] == [
        Disposal.MOVE, Disposal.COPY_EXPUNGE, Disposal.COPY_DELETE]


def test_no_processed_folder_means_flagging():
    """An empty processed folder leaves mail in place, marked \\Seen."""
    assert choose_disposal([b"MOVE"], "") is Disposal.FLAG


def test_message_url_follows_rfc_5092():
    """The source column names the exact message: user, host, folder, UIDVALIDITY, UID."""
    url = message_url(dataclasses.replace(ACCOUNT, port=993), "Support/Été", 38575, 20)
    assert url == ("imap://care%40desk.example@imap.example.net:993/Support%2F%C3%89t%C3%A9"
                   ";UIDVALIDITY=38575/;UID=20")


def test_resume_point_restarts_on_new_uidvalidity():
    """UIDs of another UIDVALIDITY mean nothing: read the folder again from the start."""
    stored = FolderState("care", "INBOX", uidvalidity=5, last_uid=42)
    assert [resume_point(None, 5), resume_point(stored, 5), resume_point(stored, 6)] == [0, 42, 0]


def test_folder_state_is_stored_and_overwritten(rt: Runtime):
    """Progress survives a restart and moves forward in place (UIDs beyond 2^31 included)."""
    record_folder_state(rt.db, FolderState("care", "INBOX", 4_000_000_000, 7), now=rt.now())
    record_folder_state(rt.db, FolderState("care", "INBOX", 4_000_000_000, 3_000_000_000),
                        now=rt.now())
    assert load_folder_state(rt.db, "care", "INBOX") == FolderState(
        "care", "INBOX", 4_000_000_000, 3_000_000_000)
    assert load_folder_state(rt.db, "care", "Other") is None


def test_backoff_doubles_up_to_its_cap_with_jitter():
    """Reconnects slow down against a dead server but never wait longer than the cap."""
    backoff, rng = Backoff(initial=1.0, cap=8.0), random.Random(1)
    delays = [backoff.delay(n, rng) for n in range(1, 8)]
    ceilings = [1, 2, 4, 8, 8, 8, 8]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))


def test_token_command_output_is_the_token():
    """XOAUTH2: the command's stdout, stripped, is the access token."""
    # A generous limit: on a loaded machine forking a shell alone can take seconds.
    assert fetch_oauth2_token("printf 'ya29.token\\n'", timeout=60) == "ya29.token"


@pytest.mark.parametrize("command", ["exit 3", "true"])
def test_failing_or_silent_token_command_is_an_error(command: str):
    """No token, no login attempt: the account is retried later, the others go on."""
    with pytest.raises(OAuth2TokenError):
        fetch_oauth2_token(command, timeout=60)  # fails on its own, not by the limit


def test_account_names_must_be_unique(rt: Runtime):
    """Progress is stored per account name; two accounts sharing one would corrupt it."""
    accounts = (ACCOUNT, dataclasses.replace(ACCOUNT, host="other.example.net"))
    runtime = dataclasses.replace(rt, settings=dataclasses.replace(rt.settings, imap=accounts))
    with pytest.raises(ValueError, match="care"):
        start_pollers(runtime, _NoDispatch(), threading.Event())


class _NoDispatch:
    def submit(self, inbound_ids: object) -> None:
        raise AssertionError("nothing should be submitted")
