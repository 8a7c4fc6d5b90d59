"""Every real-world message in ../shared/corpus goes through `ingest` to a recorded outcome.

Nobody on this team wrote these messages (see the corpus README): bad dates, unparsable From,
odd transfer encodings, illegal boundaries, ISO-2022-JP, GB18030, TNEF, DSNs, uuencode.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import corpus_root
from workflows.domain import MessageStatus, Outcome
from workflows.inbound.intake import Envelope, accept_many
from workflows.inbound.process import process_message
from workflows.storage.models import InboundMessage

pytestmark = pytest.mark.corpus
FOLDERS = ("mikel_mail", "rt_emails")


def corpus_files():
    root = corpus_root()
    return sorted(p for folder in FOLDERS for p in (root / folder).rglob("*") if p.is_file())


def test_every_corpus_message_ends_in_a_recorded_outcome(rt, people):
    """None raises, none is lost: each is processed with an outcome and a reason."""
    files = corpus_files()
    assert len(files) > 100
    box = rt.settings.default_mailbox.address
    accepted = accept_many(rt.db, [(p.read_bytes(), Envelope(mailbox=box, source=str(p)))
                                   for p in files])
    results = {p.name: process_message(rt, a.inbound_id)
               for p, a in zip(files, accepted, strict=True) if a.created}
    failed = {name: r.error for name, r in results.items() if r.status != "processed"}
    assert failed == {}
    assert {r.outcome for r in results.values()} <= {o.value for o in Outcome}
    assert all(r.reason for r in results.values())
    with rt.db.transaction() as s:
        counts = dict(s.execute(select(InboundMessage.status, func.count())
                                .group_by(InboundMessage.status)).all())
    assert counts == {MessageStatus.PROCESSED.value: len({a.inbound_id for a in accepted})}
