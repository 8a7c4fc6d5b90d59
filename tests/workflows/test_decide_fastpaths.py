"""The shortcuts of deciding (issue 15) against the general paths they stand for.

- ``prefetch``'s Core reads (senders as values, earlier Message-IDs) give every snapshot of a
  batch what ``load_snapshot`` reads alone, message by message, without them;
- ``_first_line`` splits only a text's start when a non-blank line ends there;
- ``decide`` closes a trace with its rule's line once (``_Context.decision``), where it used to
  copy the decision with the line added.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from parsing import Address, AuthResult, AutomationClass, ReferenceSource, parse
from parsing.model import Bounce
from tests.support import open_case, post, reply_to
from tests.workflows.test_decide import CASE, mail, snap
from workflows import domain
from workflows.cases.contacts import remove_contact
from workflows.domain import CaseStatus, MailboxPolicy
from workflows.inbound import decide as decide_module
from workflows.inbound.decide import CHAIN, decide
from workflows.inbound.decision import NoticeView, OutboundView, SenderView
from workflows.inbound.intake import Envelope, accept_many
from workflows.inbound.snapshot import case_view, load_snapshot, prefetch
from workflows.settings import Mailbox
from workflows.storage.models import Case, InboundMessage

CARE = "care@desk.example"

# --- _first_line ------------------------------------------------------------------------------

# Every line break str.splitlines knows, whitespace that strips, and plain letters.
_PIECES = ["\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029",
           " ", "\t", "\u3000", "\xa0", "a", "Escalation Request", "x y"]


def _first_line_general(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


@given(st.lists(st.sampled_from(_PIECES), max_size=40).map("".join),
       st.integers(min_value=1, max_value=12))
def test_first_line_of_a_prefix_is_the_first_line_of_the_text(text, prefix):
    saved = decide_module._FIRST_LINE_PREFIX
    decide_module._FIRST_LINE_PREFIX = prefix  # small: the prefix cuts lines, breaks, CR LF
    try:
        assert decide_module._first_line(text) == _first_line_general(text)
    finally:
        decide_module._FIRST_LINE_PREFIX = saved


# --- the trace's closing line -----------------------------------------------------------------

_OPEN = dataclasses.replace(CASE, status=CaseStatus.OPEN)
_CLOSED = dataclasses.replace(CASE, status=CaseStatus.CLOSED, closed_at=snap().now)
_BOUNCE = Bounce(original_message_id="out-1@desk.example", failed_recipients=("a@x.example",),
                 permanent=True)
_FAIL = AuthResult(authserv_id="mx.desk.example", dmarc="fail", header_from="acme.example")
_CASES = [  # (snapshot changes, mail changes): one or more for every rule of the chain
    ({"earlier_duplicate_id": 3}, {}),
    ({}, {"automation": AutomationClass.LOOP}),
    ({}, {"auth_results": (_FAIL,)}),
    ({"bounced_outbound": OutboundView(1, "out-1@desk.example", "CASE-1001")},
     {"automation": AutomationClass.BOUNCE, "bounce": _BOUNCE}),
    ({}, {"from_": None}),
    ({}, {"automation": AutomationClass.AUTO_REPLY}),
    ({}, {"from_all": (Address("alice@acme.example"), Address("eve@evil.example"))}),
    ({}, {}),
    ({"cases": (_OPEN,)}, {"visible_reply": "\n  Escalation Request\nplease"}),
    ({"sender": SenderView("bob@acme.example")}, {}),
    ({"cases": (_CLOSED,)}, {}),
    ({}, {"tokens": (dataclasses.replace(mail().tokens[0], valid=False),)}),
    ({"quoted_notice": NoticeView(4, "MNT-2026-0042")}, {"tokens": ()}),
    ({}, {"tokens": (), "case_numbers": ("CASE-1001",)}),
    ({}, {"tokens": ()}),
    ({"mailbox": Mailbox(CARE, policy=MailboxPolicy.OPEN_CASE)}, {"tokens": ()}),
    ({"mailbox": Mailbox(CARE, policy=MailboxPolicy.OPEN_CASE), "new_cases_per_sender": 1,
      "sender_new_cases": ("CASE-1001",)}, {"tokens": ()}),
]


@pytest.mark.parametrize(("snap_kw", "mail_kw"), _CASES)
def test_a_trace_ends_with_its_rule_once(snap_kw, mail_kw):
    """What ``decide`` used to append to every decision: one line naming the rule, last."""
    d = decide(snap(**snap_kw), mail(**mail_kw))
    rules = {rule.name for rule in CHAIN}
    closing = [line for line in d.trace if line.startswith("rule ")]
    assert closing == [d.trace[-1]]
    name = d.trace[-1].removeprefix("rule ").split(":")[0]
    assert name in rules
    assert d.trace[-1] == f"rule {name}: {d.outcome.value}/{d.reason.value}"


def test_every_rule_of_the_chain_is_exercised():
    names = {decide(snap(**s), mail(**m)).trace[-1].split(":")[0].removeprefix("rule ")
             for s, m in _CASES}
    assert names == {rule.name for rule in CHAIN}


# --- prefetch against message-by-message reads ------------------------------------------------


def test_prefetched_snapshots_are_the_ones_read_alone(rt, people):
    """Designated, non-designated, removed and unknown senders, a Message-ID that came twice
    (and one already kept before the batch): each snapshot the same with and without the
    batch's prefetch."""
    sent = post(rt, open_case(rt))
    with rt.db.transaction() as session:
        remove_contact(session, email=people["carol"], actor="admin@desk.example", now=rt.now())
    senders = [people["alice"], people["bob"], people["carol"], "stranger@else.example"]
    earlier = reply_to(sent, sender=people["alice"], message_id="<again@client.example>",
                       body="the first copy")
    accept_many(rt.db, [(earlier, Envelope(mailbox=CARE, rcpt_tos=(CARE,)))], now=rt.now())
    raws = [reply_to(sent, sender=s, message_id=f"<fp-{k}@client.example>", body=f"n{k}")
            for k, s in enumerate(senders)]
    raws += [reply_to(sent, sender=people["alice"], message_id="<twice@client.example>",
                      body=f"copy {k}") for k in range(2)]
    raws.append(reply_to(sent, sender=people["bob"], message_id="<again@client.example>",
                         body="the second copy"))
    accepted = accept_many(rt.db, [(raw, Envelope(mailbox=CARE, rcpt_tos=(CARE,)))
                                   for raw in raws], now=rt.now())
    ids = [a.inbound_id for a in accepted]
    now = rt.now()

    def snapshots(batch: bool) -> list[object]:
        with rt.db.transaction() as session:
            rows = session.scalars(select(InboundMessage).where(InboundMessage.id.in_(ids))
                                   .order_by(InboundMessage.id)).all()
            mails = [parse(row.raw, key=rt.key) for row in rows]
            if batch:
                prefetch(session, rows, (m.from_.email for m in mails if m.from_), mails)
                assert len(session.info["senders_by_email"]) == len(senders)
            return [load_snapshot(session, rt.settings, Mailbox(CARE), row, m, now)
                    for row, m in zip(rows, mails, strict=True)]

    alone, batched = snapshots(False), snapshots(True)
    assert batched == alone
    assert [s.sender.designated for s in alone if s.sender] == [True, False, False, False,
                                                                True, True, False]
    assert [s.earlier_duplicate_id is not None for s in alone] == [False] * 5 + [True, True]


# --- enum values read without ``.value`` ----------------------------------------------------


def _str_enums() -> list[type[StrEnum]]:
    return [e for e in (*vars(domain).values(), AutomationClass, ReferenceSource)
            if isinstance(e, type) and issubclass(e, StrEnum) and e is not StrEnum]


def test_str_of_every_member_is_its_value_as_a_plain_str():
    """apply and decide write ``str(member)`` (and ``{member!s}``) where ``.value`` was."""
    members = [m for enum in _str_enums() for m in enum]
    assert len(members) > 50
    for m in members:
        assert type(str(m)) is str and str(m) == m.value and f"{m!s}" == m.value


@pytest.mark.parametrize("value", [*(s.value for s in CaseStatus), "reopened", ""])
def test_a_case_view_reads_its_status_as_the_enum_call_does(value):
    case = Case(id=1, number="CASE-1001", status=value, organization_id=7, subject="s")
    try:
        expected = CaseStatus(value)
    except ValueError:
        with pytest.raises(ValueError):
            case_view(case)
        return
    assert case_view(case).status is expected
