"""``decide(snapshot, mail) -> Decision``: where each inbound message goes, and why.

Place in the flow: after ``parsing.parse`` and ``workflows.inbound.snapshot.load_snapshot``; before
``workflows.inbound.apply``. Pure: no database, no clock, no settings beyond the snapshot.

The rules form a chain (GNU Mailman style): each is a tiny class with a ``name``, a one-line
``description`` and one ``check`` that returns a ``Decision`` or ``None`` to pass the message on.
The first rule that decides wins; every rule consulted leaves a line in the trace, which is
stored on the message so an operator can see why it went where it did.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import ClassVar

from parsing import AutomationClass, ParsedMail, TokenCandidate
from workflows.cases.state import CaseEvent, next_status
from workflows.domain import (
    CaseStatus,
    OutboundKind,
    Outcome,
    Reason,
    UpdateKind,
)
from workflows.inbound.decision import (
    AddUpdate,
    CaseView,
    ChangeStatus,
    Decision,
    Effect,
    FlagEscalated,
    MarkBounced,
    MarkNoticeBounced,
    OpenCase,
    QueueTriage,
    RecordComplaint,
    RecordNoticeInquiry,
    SenderView,
    SendMail,
    Snapshot,
)
from workflows.inbound.senders import ambiguity

ESCALATION_MARKER = "escalation request"


@dataclass
class _Context:
    snap: Snapshot
    mail: ParsedMail
    trace: list[str] = field(default_factory=list)
    rule: str = ""  # the rule being consulted: its line closes the trace of its decision

    def decision(self, outcome: Outcome, reason: Reason, **kw: object) -> Decision:
        """The decision of the rule being consulted, its trace closed by the rule's line
        (made once here rather than copied with the line added, as ``decide`` did)."""
        # StrEnums: str() is the value, without 3.11's slow ``.value`` (1.1 -> 0.3 us).
        self.trace.append(f"rule {self.rule}: {outcome!s}/{reason!s}")
        return Decision(outcome, reason, trace=tuple(self.trace), **kw)  # type: ignore[arg-type]

    @property
    def referenced(self) -> tuple[TokenCandidate, CaseView | None] | None:
        """The first valid token in precedence order (thread, subject, body) and its case."""
        for token in self.mail.valid_tokens:
            return token, self.snap.case(token.number)
        return None

    def recorded_case(self) -> str | None:
        """The case an automated message belongs to: its valid reference, else our mail it
        answers or reports on."""
        ref = self.referenced
        if ref and ref[1]:
            return ref[1].number
        for outbound in (self.snap.bounced_outbound, self.snap.replied_outbound):
            if outbound and outbound.case_number and self.snap.case(outbound.case_number):
                return outbound.case_number
        return None


class Rule:
    name: str = ""
    description: str = ""

    def check(self, ctx: _Context) -> Decision | None:  # pragma: no cover - interface
        raise NotImplementedError


class Duplicate(Rule):
    name = "duplicate"
    description = ("the same Message-ID already came to this mailbox, or to another one and is "
                   "on its case: add nothing twice")

    def check(self, ctx: _Context) -> Decision | None:
        if ctx.snap.earlier_duplicate_id is not None:
            ctx.trace.append(f"same Message-ID as message #{ctx.snap.earlier_duplicate_id}")
        elif ctx.snap.linked_copy_id is not None:
            # A reply-all to two of our mailboxes is one mail that an MX delivers once per
            # mailbox (and IMAP pollers fetch once per inbox): one update, not two.
            ctx.trace.append(f"same Message-ID as message #{ctx.snap.linked_copy_id}, "
                             "to another mailbox and already on its case")
        else:
            return None
        return ctx.decision(Outcome.DUPLICATE, Reason.SAME_MESSAGE_ID)


class Loop(Rule):
    name = "loop"
    description = "our own outbound mail came back: never answer or record it"

    def check(self, ctx: _Context) -> Decision | None:
        if ctx.mail.automation is not AutomationClass.LOOP:
            return None
        return ctx.decision(Outcome.IGNORED, Reason.LOOP)


class Spoofed(Rule):
    name = "spoofed"
    description = "a trusted receiving MTA says DMARC failed for a From domain"

    def check(self, ctx: _Context) -> Decision | None:
        trusted = ctx.snap.trusted_authserv_ids
        domains: set[str] | None = None  # only for a trusted failure: nearly no mail has one
        for result in ctx.mail.auth_results:
            if result.dmarc != "fail" or result.authserv_id.lower() not in trusted:
                continue
            if domains is None:
                # Every From domain, not the first: a second From must not slip past the gate.
                domains = {author.domain for author in ctx.mail.authors}
            if result.header_from and result.header_from.lower() not in domains:
                continue  # a verdict about another domain says nothing about this From
            about = result.header_from or ", ".join(sorted(domains)) or "?"
            ctx.trace.append(f"{result.authserv_id}: dmarc=fail for {about}")
            ref = ctx.referenced
            suggested = ref[1].number if ref and ref[1] else None
            return ctx.decision(
                Outcome.TRIAGED,
                Reason.SPOOFED_SENDER,
                suggested_case=suggested,
                effects=(QueueTriage(Reason.SPOOFED_SENDER, suggested),),
            )
        return None


class Bounced(Rule):
    """A bounce or a complaint about our own mail: the report is about the mail we sent, not
    an update from whoever relayed it, so it keeps this path whoever the sender is."""

    name = "bounced"
    description = ("a bounce or complaint naming our outbound mail marks it (undelivered, or "
                   "complained of), on its case")

    def check(self, ctx: _Context) -> Decision | None:
        bounce, complaint = ctx.mail.bounce, ctx.mail.complaint
        outbound, notice_delivery = ctx.snap.bounced_outbound, ctx.snap.bounced_notice_delivery
        is_bounce = ctx.mail.automation is AutomationClass.BOUNCE and bounce is not None
        # Only a complaint about our own mail suppresses anyone (RFC 5965 reports reach abuse
        # desks about all sorts of mail).
        is_complaint = (ctx.mail.automation is AutomationClass.COMPLAINT
                        and complaint is not None)
        if not (is_bounce or is_complaint) or (outbound is None and notice_delivery is None):
            return None
        effects: list[Effect] = []
        if bounce is not None and is_bounce:
            if outbound is not None:
                ctx.trace.append(f"bounce of our message #{outbound.id} to "
                                 f"{bounce.failed_recipients}")
                effects.append(MarkBounced(outbound.id, bounce.failed_recipients,
                                           bounce.permanent))
            if notice_delivery is not None:
                ctx.trace.append(f"bounce of our notice delivery #{notice_delivery}")
                effects.append(MarkNoticeBounced(notice_delivery, bounce.failed_recipients,
                                                 bounce.permanent))
            reason, update_kind = Reason.BOUNCE, UpdateKind.BOUNCE
        else:
            assert complaint is not None
            ctx.trace.append(f"{complaint.feedback_type} complaint about our message "
                             f"#{outbound.id if outbound else notice_delivery}")
            effects.append(RecordComplaint(outbound.id if outbound else None, notice_delivery,
                                           complaint.recipients, complaint.feedback_type))
            reason, update_kind = Reason.COMPLAINT, UpdateKind.COMPLAINT
        case_number = None
        if outbound is not None and outbound.case_number and ctx.snap.case(outbound.case_number):
            case_number = outbound.case_number
            ctx.trace.append(f"recorded on {case_number}; status unchanged")
            effects.append(AddUpdate(case_number, update_kind))
        return ctx.decision(Outcome.IGNORED, reason, case_number=case_number,
                            effects=tuple(effects))


class NoSender(Rule):
    name = "no_sender"
    description = "a message without a usable From address cannot be attributed to anyone"

    def check(self, ctx: _Context) -> Decision | None:
        if ctx.mail.from_ is not None and "@" in ctx.mail.from_.email:
            return None
        return ctx.decision(Outcome.REJECTED, Reason.NO_SENDER)


class Automated(Rule):
    """Auto-replies, list mail and bounces of nothing we sent: recorded where they belong,
    never change a case. Only an allowed sender's automated mail is listed on a case; a
    stranger's that names a case goes to triage instead (its text is the stranger's)."""

    name = "automated"
    description = "auto-replies and list mail never change a case and are never answered"
    _KINDS: ClassVar[dict[AutomationClass, tuple[Reason, UpdateKind]]] = {
        AutomationClass.BOUNCE: (Reason.BOUNCE, UpdateKind.BOUNCE),
        AutomationClass.AUTO_REPLY: (Reason.AUTO_REPLY, UpdateKind.AUTO_REPLY),
        AutomationClass.LIST: (Reason.LIST_MAIL, UpdateKind.LIST),
        AutomationClass.COMPLAINT: (Reason.COMPLAINT, UpdateKind.COMPLAINT),
    }

    def check(self, ctx: _Context) -> Decision | None:
        kind = self._KINDS.get(ctx.mail.automation)
        if kind is None:
            return None
        reason, update_kind = kind
        case = ctx.snap.case(ctx.recorded_case())
        if case is None:
            return ctx.decision(Outcome.IGNORED, reason)
        problem = _sender_problem(ctx, case)
        if problem is not None:
            ctx.trace.append(f"{ctx.mail.automation.value} names {case.number}: kept on the "
                             "message and sent to triage, not listed on the case")
            return _triage(ctx, problem, case.number)
        ctx.trace.append(f"recorded on {case.number}; status unchanged")
        return ctx.decision(Outcome.IGNORED, reason, case_number=case.number,
                            effects=(AddUpdate(case.number, update_kind),))


class AmbiguousSender(Rule):
    name = "ambiguous_sender"
    description = "several From mailboxes, or a Sender not aligned with From: never linked"

    def check(self, ctx: _Context) -> Decision | None:
        why = ambiguity(ctx.mail, ctx.snap.trusted_authserv_ids)
        if why is None:
            return None
        ctx.trace.append(why)
        ref = ctx.referenced
        suggested = ref[1].number if ref and ref[1] else None
        if suggested is None:
            suggested = next((n for n in ctx.mail.case_numbers if ctx.snap.case(n)), None)
        return _triage(ctx, Reason.AMBIGUOUS_SENDER, suggested)


class Referenced(Rule):
    name = "referenced"
    description = "a reply with a valid Reference ID from an allowed sender is added to its case"

    def check(self, ctx: _Context) -> Decision | None:
        ref = ctx.referenced
        if ref is None:
            return None
        token, case = ref
        ctx.trace.append(f"valid reference to {token.number} in {token.source!s}")
        if case is None:
            return _triage(ctx, Reason.UNKNOWN_CASE, None)
        problem = _sender_problem(ctx, case)
        if problem is not None:
            return _triage(ctx, problem, case.number)
        if case.status is CaseStatus.CLOSED:
            return _closed(ctx, case)
        return _link(ctx, case)


class InvalidReference(Rule):
    name = "invalid_reference"
    description = "a reference whose signature does not verify is never linked"

    def check(self, ctx: _Context) -> Decision | None:
        bad = ctx.mail.invalid_tokens
        if not bad:
            return None
        ctx.trace.append(f"reference to {bad[0].number} in {bad[0].source.value} fails "
                         "verification")
        suggested = bad[0].number if ctx.snap.case(bad[0].number) else None
        return _triage(ctx, Reason.INVALID_REFERENCE, suggested)


class NoticeInquiry(Rule):
    name = "notice_inquiry"
    description = "a mail quoting a notice reference goes to triage with the notice attached"

    def check(self, ctx: _Context) -> Decision | None:
        notice = ctx.snap.quoted_notice
        if notice is None:
            return None
        ctx.trace.append(f"quotes notice {notice.reference}")
        return ctx.decision(
            Outcome.TRIAGED,
            Reason.NOTICE_INQUIRY,
            effects=(QueueTriage(Reason.NOTICE_INQUIRY, None), RecordNoticeInquiry(notice.id)),
        )


class BareNumber(Rule):
    name = "bare_number"
    description = "a case number without a reference is a suggestion for the admin, never a link"

    def check(self, ctx: _Context) -> Decision | None:
        for number in ctx.mail.case_numbers:
            if ctx.snap.case(number):
                ctx.trace.append(f"mentions {number} without a reference")
                return _triage(ctx, Reason.NO_REFERENCE, number)
        return None


class NewCaseFlood(Rule):
    """Another help desk's autoresponder that marks nothing as automated (no Auto-Submitted,
    RFC 3834 5) answers each acknowledgement with a new mail, which opens a case, which we
    acknowledge: a ticket ping-pong. Its mail looks like a person's, so the count is the tell:
    past ``new_cases_per_sender`` cases opened by one sender's mail within the window, the
    next waits for a person, unanswered, which ends the exchange (RFC 3834 2: a responder
    must not answer the same sender without end). A person who did write that much loses
    nothing: the item can be opened as a case, or linked, like any other in triage."""

    name = "new_case_flood"
    description = ("new mail from a sender whose mail opened its share of cases lately waits "
                   "in triage, unanswered: a loop with another desk's autoresponder")

    def check(self, ctx: _Context) -> Decision | None:
        snap = ctx.snap
        if len(snap.sender_new_cases) < snap.new_cases_per_sender \
                or _case_opener(ctx.snap) is None:
            return None
        ctx.trace.append(f"no reference; the sender's mail opened {len(snap.sender_new_cases)} "
                         f"cases in {snap.new_cases_window_hours:g} h (limit "
                         f"{snap.new_cases_per_sender}): held, not acknowledged")
        return _triage(ctx, Reason.NEW_CASE_FLOOD, snap.sender_new_cases[0])


class NewMail(Rule):
    name = "new_mail"
    description = "mail without a reference follows its mailbox's policy (triage or open a case)"

    def check(self, ctx: _Context) -> Decision:
        policy = ctx.snap.mailbox.policy.value
        ctx.trace.append(f"no reference; mailbox {ctx.snap.mailbox.address} policy {policy}")
        if policy == "triage":
            return _triage(ctx, Reason.NEW_MAIL, None)
        sender = _case_opener(ctx.snap)
        if sender is None:
            ctx.trace.append("sender is not a designated contact")
            return _triage(ctx, Reason.UNKNOWN_SENDER, None)
        assert sender.organization_id is not None and sender.contact_id is not None
        subject = ctx.mail.subject or "(no subject)"
        acknowledge = not ctx.snap.acknowledged_lately
        if not acknowledge:
            # One acknowledgement per sender per window (RFC 3834 2): a peer autoresponder
            # answering each one must not get the next at mail speed. The case is opened all
            # the same; its number reaches the sender with the desk's first answer.
            ctx.trace.append("a case opened for this sender was acknowledged moments ago: "
                             "this one is not")
        return ctx.decision(
            Outcome.LINKED,
            Reason.NEW_CASE,
            effects=(OpenCase(sender.organization_id, sender.contact_id, subject,
                              acknowledge=acknowledge),),
        )


def _case_opener(snap: Snapshot) -> SenderView | None:
    """The sender, when their new mail to this mailbox opens a case: a mailbox of policy
    ``open_case`` and a designated contact (DOMAIN: Inbound mail)."""
    sender = snap.sender
    return sender if sender is not None and sender.opens_cases_in(snap.mailbox) else None


CHAIN: tuple[Rule, ...] = (
    Duplicate(),
    Loop(),
    Spoofed(),
    Bounced(),
    NoSender(),
    Automated(),
    AmbiguousSender(),
    Referenced(),
    InvalidReference(),
    NoticeInquiry(),
    BareNumber(),
    NewCaseFlood(),
    NewMail(),
)


def decide(snapshot: Snapshot, mail: ParsedMail) -> Decision:
    """Run the chain; the first rule that decides wins."""
    ctx = _Context(snapshot, mail)
    ctx.trace.append(f"automation={mail.automation!s}"  # StrEnum: str() is the value
                     + (f" ({', '.join(mail.automation_rules)})" if mail.automation_rules else ""))
    for rule in CHAIN:
        ctx.rule = rule.name
        decision = rule.check(ctx)
        if decision is not None:
            return decision
    raise AssertionError("NewMail always decides")  # pragma: no cover


def _sender_problem(ctx: _Context, case: CaseView) -> Reason | None:
    """Why this mail's sender may not touch ``case``; None when it may (DOMAIN: People)."""
    why = ambiguity(ctx.mail, ctx.snap.trusted_authserv_ids)
    if why is not None:
        ctx.trace.append(why)
        return Reason.AMBIGUOUS_SENDER
    sender = ctx.snap.sender
    if sender is None or not sender.may_update(case):
        ctx.trace.append(f"{ctx.mail.from_.email if ctx.mail.from_ else '?'} may not "
                         f"update {case.number}")
        return Reason.UNAUTHORIZED_SENDER
    return None


def _triage(ctx: _Context, reason: Reason, suggested: str | None) -> Decision:
    return ctx.decision(
        Outcome.TRIAGED,
        reason,
        suggested_case=suggested,
        effects=(QueueTriage(reason, suggested),),
    )


def _closed(ctx: _Context, case: CaseView) -> Decision:
    closed_at = case.closed_at or ctx.snap.now
    age = ctx.snap.now - closed_at
    if age <= dt.timedelta(days=ctx.snap.reopen_days):
        ctx.trace.append(f"{case.number} closed {age.days} days ago: a reopen request")
        return _triage(ctx, Reason.REOPEN_REQUEST, case.number)
    ctx.trace.append(f"{case.number} closed {age.days} days ago (> {ctx.snap.reopen_days})")
    effects: list[Effect] = [QueueTriage(Reason.CLOSED_TOO_LONG, case.number)]
    if ctx.snap.closed_notice_recently_sent:
        ctx.trace.append("already told this sender to open a new case lately: no reply")
    elif ctx.mail.from_ is not None:
        effects.append(SendMail(OutboundKind.CLOSED_TOO_LONG, (ctx.mail.from_.email,),
                                case.number))
    return ctx.decision(
        Outcome.TRIAGED, Reason.CLOSED_TOO_LONG, suggested_case=case.number,
        effects=tuple(effects),
    )


# Characters of a text's start split first: a reply's first line is nearly always in them.
_FIRST_LINE_PREFIX = 256


def _first_line(text: str) -> str:
    """The first line of ``text`` that is not blank (``str.splitlines``' line breaks)."""
    # Fast path: split only the start of a reply (2 KB on the bench) when a non-blank line
    # ends inside it. Every line of a prefix's split but its last is a whole line of the
    # text's split, the same: a break is found from the characters at it (CR LF one break).
    # The last may be cut, so it never answers here. A bench reply's
    # visible text (2 KB): 1.55 -> 0.40 us.
    head = text[:_FIRST_LINE_PREFIX].splitlines()
    for line in head[:-1]:
        if line.strip():
            return line
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def _link(ctx: _Context, case: CaseView) -> Decision:
    effects: list[Effect] = [AddUpdate(case.number, UpdateKind.REPLY)]
    new_status = next_status(case.status, CaseEvent.CUSTOMER_REPLIED)
    if new_status is not case.status:
        ctx.trace.append(f"{case.number}: {case.status.value} -> {new_status.value}")
        effects.append(ChangeStatus(case.number, new_status, CaseEvent.CUSTOMER_REPLIED))
    reason = Reason.REPLY
    first = _first_line(ctx.mail.visible_reply or ctx.mail.text)
    if ESCALATION_MARKER in first.lower() or ctx.snap.mailbox.escalation:
        why = "escalation alias" if ctx.snap.mailbox.escalation else "first line"
        ctx.trace.append(f"escalation request ({why})")
        reason = Reason.ESCALATION_REQUEST
        effects.append(FlagEscalated(case.number))
        effects.append(SendMail(OutboundKind.ESCALATION, (), case.number))
    return ctx.decision(Outcome.LINKED, reason, case_number=case.number, effects=tuple(effects))
