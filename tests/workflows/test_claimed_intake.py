"""``ingest`` counts each new message's first attempt in its intake commit (``claimed``)
instead of a commit of its own: the rows end as the two-commit path leaves them, and an
attempt that takes the process down is still counted (issue 15)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support import CARE, new_mail
from workflows.inbound import process
from workflows.inbound.intake import Envelope, accept_many
from workflows.storage.models import InboundMessage

_COLUMNS = ("status", "attempts", "outcome", "reason", "trace", "defects", "automation",
            "from_address", "subject", "error")


def _items(tag: str, n: int = 3):
    return [(new_mail(sender="alice@acme.example", subject=f"Help {tag}{i}",
                      message_id=f"<claimed-{tag}{i}@client.example>"),
             Envelope(mailbox=CARE, rcpt_tos=(CARE,))) for i in range(n)]


def _rows(rt, ids):
    with rt.db.transaction() as s:
        rows = {r.id: r for r in s.scalars(select(InboundMessage)
                                           .where(InboundMessage.id.in_(ids)))}
        return [{c: getattr(rows[i], c) for c in _COLUMNS} | {"claimed": bool(rows[i].claimed_at)}
                for i in ids]


def _strip_tag(rows, tag):
    return [{k: (v.replace(tag, "") if isinstance(v, str) else v) for k, v in r.items()}
            for r in rows]


def test_claimed_rows_end_as_counted_ones(rt, people):
    """Same mail through both paths (``ingest``'s hands over its bytes too): the same
    columns after processing, results alike."""
    plain = [a.inbound_id for a in accept_many(rt.db, _items("~p~"), now=rt.now())]
    items = _items("~c~")
    claimed = [a.inbound_id for a in accept_many(rt.db, items, now=rt.now(), claimed=True)]
    # The bytes handed over for two of the three (the third read back, as without them).
    raws = {i: raw for i, (raw, _envelope) in zip(claimed[1:], items[1:], strict=True)}
    assert _rows(rt, claimed)[0] | {"claimed": None} == {
        **dict.fromkeys(_COLUMNS), "status": "received", "attempts": 1, "trace": [],
        "defects": [], "claimed": None}
    by_plain = process.process_batch(rt, plain)
    by_claimed = process.process_batch(rt, claimed, claimed=True, raws=raws)
    assert _strip_tag(_rows(rt, claimed), "~c~") == _strip_tag(_rows(rt, plain), "~p~")
    assert [(r.status, r.outcome, r.reason) for r in by_claimed] == [
        (r.status, r.outcome, r.reason) for r in by_plain]
    assert {r["attempts"] for r in _rows(rt, claimed)} == {1}


def test_a_claimed_attempt_that_takes_the_process_down_counts(rt, people, monkeypatch):
    """The claimed first attempt dies; the sweeper's next is the second, processed alone."""
    real = process.decide

    def deadly(snapshot, mail):
        raise SystemExit("the process died")

    [bad] = [a.inbound_id for a in accept_many(rt.db, _items("d", 1), now=rt.now(),
                                               claimed=True)]
    monkeypatch.setattr(process, "decide", deadly)
    with pytest.raises(SystemExit):
        process.process_batch(rt, [bad], claimed=True)
    assert [(r["status"], r["attempts"]) for r in _rows(rt, [bad])] == [("received", 1)]
    monkeypatch.setattr(process, "decide", real)
    [result] = process.process_batch(rt, [bad])
    assert (result.status, _rows(rt, [bad])[0]["attempts"]) == ("processed", 2)
