"""Who wrote this mail: a person, an autoresponder, a mail system, a list, or we ourselves?

Place in the flow: ``parsing.parse`` builds ``Facts`` from the parsed headers and text and calls
``classify``; the class lands in ``ParsedMail.automation`` and every rule that hit in
``automation_rules``, so a decision trace can say *why* a mail was not treated as a customer
reply. An auto-reply or a bounce must never reopen a case or answer back (RFC 3834 2).

GNU Mailman style: each rule is a name, a one-line description and one check; ``RULES`` maps
rules to classes; when several classes hit, ``PRECEDENCE`` decides: LOOP > COMPLAINT
> BOUNCE > AUTO_REPLY > LIST > HUMAN (our own mail coming back matters most; a bounce of a list
post is a bounce).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from parsing import bounce, reference, ses
from parsing import classify_words as words
from parsing.model import Address, AutomationClass

MAX_HOPS = 25  # RFC 5321 6.3: a loop shows as a pile of Received fields; 25 is far past normal
LOOP_HEADER = "x-ticketgate-loop"  # set on everything we send; its value is our instance id


@dataclass(frozen=True, slots=True)
class Facts:
    """What the rules look at ("msg-ish"), built once per message."""

    headers: Mapping[str, list[str]]  # lower-case name -> raw values in order
    subject: str
    sender: Address | None
    message_id: str | None
    content_type: str  # of the message itself, lower case
    report_type: str  # the report-type parameter of multipart/report, lower case
    text_head: str  # the start of the text body
    hops: int  # Received fields
    key: bytes | None = None
    # Our X-Ticketgate-Loop value (settings.instance_id); None: any value counts (no settings,
    # e.g. `ticketgate parse` before `init`).
    loop_id: str | None = None
    # The subject as re.I compares it to ASCII letters: a word missing here spares a regex search
    # of the whole subject (classify 220k -> 120k instructions a bench mail, callgrind).
    subject_folded: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "subject_folded", reference.ascii_folded(self.subject))

    def has(self, name: str) -> bool:
        return name in self.headers

    def first(self, name: str) -> str:
        values = self.headers.get(name)
        return values[0].strip() if values else ""

    def tokens(self, name: str) -> set[str]:
        """Comma/semicolon-separated lower-case values of every ``name`` field."""
        values = self.headers.get(name)
        if not values:  # most mail has no Precedence or X-Auto-Response-Suppress field
            return set()
        return {
            t.strip().lower()
            for value in values
            for t in re.split(r"[,;]", value)
            if t.strip()
        }


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    description: str
    check: Callable[[Facts], bool]


def rule(name: str, description: str) -> Callable[[Callable[[Facts], bool]], Rule]:
    def wrap(check: Callable[[Facts], bool]) -> Rule:
        return Rule(name, description, check)

    return wrap


# --- LOOP: our own outbound mail came back -------------------------------------------------


@rule("loop_header", "carries X-Ticketgate-Loop with our instance id, set on all we send")
def _loop_header(f: Facts) -> bool:
    values = f.headers.get(LOOP_HEADER)
    if not values:
        return False
    if f.loop_id is None:
        return True
    # Another desk running ticketgate stamps its own id: its analysts' mail is a person's mail,
    # and its automated mail is caught by Auto-Submitted like anyone's (RFC 3834).
    ours = f.loop_id.strip().lower()
    return any(v.strip().lower() == ours for v in values)


@rule("own_message_id", "its Message-ID is one we generate (and verifies when a key is given)")
def _own_message_id(f: Facts) -> bool:
    match = reference.MESSAGE_ID_RE.match(f.message_id or "")
    if match is None:
        return False
    if f.key is None:
        return True
    return reference.same_mac(match.group(2), reference.sign(match.group(1), f.key))


@rule("too_many_hops", f"more than {MAX_HOPS} Received fields: it is going round in circles")
def _too_many_hops(f: Facts) -> bool:
    return f.hops > MAX_HOPS


# --- BOUNCE: a delivery status notification or a look-alike --------------------------------

_BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailer_daemon",
                             "mdaemon", "mail.delivery.system", "mailerdaemon"})


@rule("dsn_report", "multipart/report; report-type=delivery-status (RFC 3464)")
def _dsn_report(f: Facts) -> bool:
    return f.content_type == "multipart/report" and f.report_type == "delivery-status"


@rule("mailer_daemon_sender", "From is MAILER-DAEMON@, postmaster@ or 'Mail Delivery System'")
def _mailer_daemon(f: Facts) -> bool:
    if f.sender is None:
        return False
    local = f.sender.email.partition("@")[0].strip("\\")
    return local in _BOUNCE_SENDERS or words.bounce_name(f.sender.name.strip())


@rule("bounce_subject", "subject of a common non-delivery report (Postfix, Exchange, Gmail, ...)")
def _bounce_subject(f: Facts) -> bool:
    return words.bounce_subject(f.subject)


@rule("weak_bounce_subject", "a subject people use too, from a sender that looks like a machine")
def _weak_bounce_subject(f: Facts) -> bool:
    return words.weak_bounce_subject(f.subject) and _machine_sender(f)


def _null_sender(f: Facts) -> bool:
    """The null reverse-path of a delivery report (RFC 5321 4.5.5), or Exim's failed list."""
    return f.first("return-path").replace(" ", "") == "<>" or f.has("x-failed-recipients")


def _local_part(f: Facts) -> str:
    return f.sender.email.partition("@")[0] if f.sender else ""


def _machine_sender(f: Facts) -> bool:
    """Signs in the envelope and headers that no person sent this (the body aside)."""
    if _null_sender(f) or f.first("auto-submitted").lower() not in ("", "no"):
        return True
    local = _local_part(f)
    return not local or words.machine_local_part(local)


def _daemon_sender(f: Facts) -> bool:
    """The mail system itself: the null reverse-path or a daemon's own mailbox."""
    return _null_sender(f) or words.daemon_local_part(_local_part(f))


@rule("qmail_bounce_text", "body of a qmail failure notice (qmail-send)")
def _qmail(f: Facts) -> bool:
    return bounce.QMAIL_SENTINEL in f.text_head


@rule("exim_bounce_text", "body of an Exim delivery failure or delay report")
def _exim(f: Facts) -> bool:
    return bounce.EXIM_SENTINEL in f.text_head


@rule("x_failed_recipients", "has X-Failed-Recipients (Exim and others on bounces)")
def _x_failed(f: Facts) -> bool:
    return f.has("x-failed-recipients")


@rule("report_text", "body opens like a non-delivery report and the subject speaks of delivery")
def _report_text(f: Facts) -> bool:
    # A reply or forward ("Re:", "Fwd:") that quotes a report is a person talking about it.
    if words.reply_prefix(f.subject):
        return False
    # A customer may paste a report into a new mail asking for help: a machine's sign too.
    return (words.report_subject_words(f.subject)
            and words.REPORT_OPENINGS.search(f.text_head[:4096]) is not None
            and _machine_sender(f))


@rule("machine_transcript", "a machine sender quoting an SMTP transcript that failed at RCPT TO")
def _machine_transcript(f: Facts) -> bool:
    # Apache James and others title the report "Re: <our subject>": the reply prefix of a
    # person is no sign here, the transcript is (a person forwarding one is no machine sender).
    if not _machine_sender(f):  # the cheap test first: nearly every mail stops here
        return False
    # A reply from a person's role address (admin@, it-system@) pasting a transcript into
    # "Re: <case subject>" is the customer's answer: on a reply, only a mail system's own
    # sender (the null reverse-path, postmaster, MAILER-DAEMON; RFC 5321 4.5.5) will do.
    if words.reply_prefix(f.subject) and not _daemon_sender(f):
        return False
    head = f.text_head[:4096]
    return (words.TRANSCRIPT_RCPT.search(head) is not None
            and words.TRANSCRIPT_FAILURE.search(head) is not None)


def _from_amazon(f: Facts) -> bool:
    return f.sender is not None and f.sender.domain.endswith(ses.SENDER_DOMAINS)


@rule("ses_bounce_notification", "an Amazon SES bounce notification (JSON) from Amazon")
def _ses_bounce(f: Facts) -> bool:
    return _from_amazon(f) and ses.notification_type(f.text_head) == "Bounce"


# --- COMPLAINT: abuse feedback reports, RFC 5965 ---------------------------------------------


@rule("ses_complaint_notification", "an Amazon SES complaint notification (JSON) from Amazon")
def _ses_complaint(f: Facts) -> bool:
    return _from_amazon(f) and ses.notification_type(f.text_head) == "Complaint"


@rule("jmrp_report", "a complaint of Microsoft's Junk Mail Reporting Program (staff@hotmail.com)")
def _jmrp(f: Facts) -> bool:
    # Microsoft's JMRP partner FAQ: complaints in the "RFC822 Attachment" format are forwarded
    # from staff@hotmail.com with the reported mail attached (not an RFC 5965 report).
    return (f.sender is not None and f.sender.email == "staff@hotmail.com"
            and f.content_type.startswith("multipart/"))


@rule("arf_report", "multipart/report; report-type=feedback-report (ARF, RFC 5965)")
def _arf(f: Facts) -> bool:
    return f.content_type == "multipart/report" and f.report_type == "feedback-report"


# --- AUTO_REPLY: autoresponders, RFC 3834 -------------------------------------------------

_AUTO_HEADERS = frozenset({"x-autoreply", "x-autorespond", "x-autoresponder", "x-auto-reply"})


@rule("auto_submitted", "Auto-Submitted other than 'no' (RFC 3834 5.1)")
def _auto_submitted(f: Facts) -> bool:
    value = f.first("auto-submitted").partition(";")[0].strip().lower()
    return bool(value) and value != "no"


@rule("x_autoreply", "X-Autoreply / X-Autorespond style header from an autoresponder")
def _x_autoreply(f: Facts) -> bool:
    if _AUTO_HEADERS.isdisjoint(f.headers):  # one set operation for the usual mail
        return False
    return any(f.first(h).lower() not in ("no", "false", "0") for h in _AUTO_HEADERS if f.has(h))


@rule("precedence_auto_reply", "Precedence: auto_reply")
def _precedence_auto(f: Facts) -> bool:
    return "auto_reply" in f.tokens("precedence")


@rule("auto_reply_subject", "subject starts like an out-of-office or automatic reply")
def _auto_subject(f: Facts) -> bool:
    # An explicit "Auto-Submitted: no" is the sender saying a person wrote it (RFC 3834 5.1):
    # it outranks a guess from the subject.
    if f.first("auto-submitted").lower().startswith("no"):
        return False
    return words.auto_subject(f.subject) or (
        b"is out of " in f.subject_folded
        and words.notes_away_subject(f.subject)
    )


@rule("ms_inbox_rules_loop", "X-MS-Exchange-Inbox-Rules-Loop: generated by an Outlook rule")
def _inbox_rules(f: Facts) -> bool:
    return f.has("x-ms-exchange-inbox-rules-loop")


@rule("suppress_with_auto_signal", "X-Auto-Response-Suppress All/OOF plus another weak signal")
def _suppress(f: Facts) -> bool:
    # Outlook sets X-Auto-Response-Suppress on ordinary mail too: it asks others not to answer,
    # it does not say this mail is automatic. Only with a second, weak hint does it count.
    if not f.tokens("x-auto-response-suppress") & {"all", "oof"}:
        return False
    null_return_path = f.first("return-path").replace(" ", "") == "<>"
    return null_return_path or words.AUTO_PHRASE.search(f.subject) is not None


@rule("challenge_response", "asks the sender to prove being human before delivery")
def _challenge(f: Facts) -> bool:
    return (words.challenge_subject_hint(f.subject_folded)
            and words.challenge_subject(f.subject)
            and words.CHALLENGE_TEXT.search(f.text_head[:4096]) is not None)


@rule("ses_delivery_notification", "an Amazon SES delivery notification (JSON) from Amazon")
def _ses_delivery(f: Facts) -> bool:
    # A success report: no failure to act on, and nothing a person wrote.
    return _from_amazon(f) and ses.notification_type(f.text_head) == "Delivery"


@rule("mdn_report", "multipart/report; report-type=disposition-notification (read receipt)")
def _mdn(f: Facts) -> bool:
    return f.content_type == "multipart/report" and f.report_type == "disposition-notification"


# --- LIST: mailing lists and bulk mail -----------------------------------------------------


@rule("list_id", "has List-Id (RFC 2919)")
def _list_id(f: Facts) -> bool:
    return f.has("list-id")


@rule("list_unsubscribe", "has List-Unsubscribe (RFC 2369)")
def _list_unsubscribe(f: Facts) -> bool:
    return f.has("list-unsubscribe")


_LIST_HEADERS = frozenset({"list-post", "list-help", "list-subscribe", "list-owner"})


@rule("list_headers", "has another RFC 2369 List-* field (Post, Help, Subscribe, Owner, Archive)")
def _list_headers(f: Facts) -> bool:
    return not _LIST_HEADERS.isdisjoint(f.headers)


@rule("precedence_bulk", "Precedence: bulk, list or junk (RFC 3834 2 asks not to answer them)")
def _precedence_bulk(f: Facts) -> bool:
    return bool(f.tokens("precedence") & {"bulk", "list", "junk"})


_LIST_MANAGER_HEADERS = frozenset({"x-mailing-list", "mailing-list", "x-ml-name", "x-mlserver"})


@rule("x_mailing_list", "X-Mailing-List, Mailing-List (ezmlm) or X-ML-Name/X-MLServer (fml)")
def _x_mailing_list(f: Facts) -> bool:
    return not _LIST_MANAGER_HEADERS.isdisjoint(f.headers)


_CAMPAIGN_HEADERS = (
    "list-unsubscribe-post",  # RFC 8058 one-click unsubscribe
    "x-campaign",
    "x-campaign-id",
    "x-mc-user",  # Mailchimp
    "x-csa-complaints",
)


@rule("esp_bulk", "Feedback-ID of a bulk sender together with campaign headers")
def _esp_bulk(f: Facts) -> bool:
    return f.has("feedback-id") and any(f.has(h) for h in _CAMPAIGN_HEADERS)


RULES: tuple[tuple[Rule, AutomationClass], ...] = (
    (_loop_header, AutomationClass.LOOP),
    (_own_message_id, AutomationClass.LOOP),
    (_too_many_hops, AutomationClass.LOOP),
    (_dsn_report, AutomationClass.BOUNCE),
    (_mailer_daemon, AutomationClass.BOUNCE),
    (_bounce_subject, AutomationClass.BOUNCE),
    (_weak_bounce_subject, AutomationClass.BOUNCE),
    (_qmail, AutomationClass.BOUNCE),
    (_exim, AutomationClass.BOUNCE),
    (_x_failed, AutomationClass.BOUNCE),
    (_report_text, AutomationClass.BOUNCE),
    (_machine_transcript, AutomationClass.BOUNCE),
    (_ses_bounce, AutomationClass.BOUNCE),
    (_arf, AutomationClass.COMPLAINT),
    (_jmrp, AutomationClass.COMPLAINT),
    (_ses_complaint, AutomationClass.COMPLAINT),
    (_auto_submitted, AutomationClass.AUTO_REPLY),
    (_x_autoreply, AutomationClass.AUTO_REPLY),
    (_precedence_auto, AutomationClass.AUTO_REPLY),
    (_auto_subject, AutomationClass.AUTO_REPLY),
    (_inbox_rules, AutomationClass.AUTO_REPLY),
    (_suppress, AutomationClass.AUTO_REPLY),
    (_challenge, AutomationClass.AUTO_REPLY),
    (_ses_delivery, AutomationClass.AUTO_REPLY),
    (_mdn, AutomationClass.AUTO_REPLY),
    (_list_id, AutomationClass.LIST),
    (_list_unsubscribe, AutomationClass.LIST),
    (_list_headers, AutomationClass.LIST),
    (_precedence_bulk, AutomationClass.LIST),
    (_x_mailing_list, AutomationClass.LIST),
    (_esp_bulk, AutomationClass.LIST),
)
PRECEDENCE = (
    AutomationClass.LOOP,
    AutomationClass.COMPLAINT,  # a complaint quotes our mail and may look like a bounce
    AutomationClass.BOUNCE,
    AutomationClass.AUTO_REPLY,
    AutomationClass.LIST,
)


# Rules that return False unless the mail has one of these fields, is a multipart/report or
# comes from Amazon: a mail with none of the three (nearly every reply) is tried against the
# other twelve only, in table order: parse 1,823k -> 1,810k instructions a bench mail (callgrind),
# classify 16 -> 12.7 us CPU (loaded box, best of 5 x 20k). tests/parsing/test_parse_caches.py
# checks this against trying every rule.
GATED_BY_FIELD: dict[Rule, frozenset[str]] = {
    _loop_header: frozenset({LOOP_HEADER}),
    _x_failed: frozenset({"x-failed-recipients"}),
    _auto_submitted: frozenset({"auto-submitted"}),
    _x_autoreply: _AUTO_HEADERS,
    _precedence_auto: frozenset({"precedence"}),
    _inbox_rules: frozenset({"x-ms-exchange-inbox-rules-loop"}),
    _suppress: frozenset({"x-auto-response-suppress"}),
    _list_id: frozenset({"list-id"}),
    _list_unsubscribe: frozenset({"list-unsubscribe"}),
    _list_headers: _LIST_HEADERS,
    _precedence_bulk: frozenset({"precedence"}),
    _x_mailing_list: _LIST_MANAGER_HEADERS,
    _esp_bulk: frozenset({"feedback-id"}),
}
GATED_BY_REPORT = frozenset({_dsn_report, _arf, _mdn})  # content type multipart/report
GATED_BY_AMAZON = frozenset({_ses_bounce, _ses_complaint, _ses_delivery})  # _from_amazon
_GATE_FIELDS = frozenset().union(*GATED_BY_FIELD.values())
_UNGATED_RULES = tuple(
    (r, cls) for r, cls in RULES
    if r not in GATED_BY_FIELD and r not in GATED_BY_REPORT and r not in GATED_BY_AMAZON
)


def classify(facts: Facts) -> tuple[AutomationClass, tuple[str, ...]]:
    """The winning class and the names of all rules that hit, in table order."""
    rules = RULES
    if (_GATE_FIELDS.isdisjoint(facts.headers) and facts.content_type != "multipart/report"
            and not _from_amazon(facts)):
        rules = _UNGATED_RULES
    hits = [(r.name, cls) for r, cls in rules if r.check(facts)]
    classes = {cls for _, cls in hits}
    winner = next((c for c in PRECEDENCE if c in classes), AutomationClass.HUMAN)
    return winner, tuple(name for name, _ in hits)
