"""Failed recipients in the words of a human-readable failure report (no RFC 3464 part).

Place in the flow: ``parsing.bounce.extract`` asks this module when a bounce carries no
``message/delivery-status`` part (or one that names nobody). Many MTAs write only prose: qmail,
Exim and Postfix without DSN, Sendmail's transcript, Exchange 2003 and 2007+, Microsoft 365,
Gmail and Google Groups, Yahoo, Lotus Notes/Domino, GroupWise, Mailgun. Each speaks in its own
sentences, but all follow one plan: an *anchor* sentence ("The following address(es) failed:",
"was not delivered to:", "Delivery has failed to these recipients or groups:"), then the
recipients with the server's words, then a copy of our mail. So this module finds the report
(the text before the copy), reads the addresses after the anchors, and for each recipient the
nearest RFC 3463 code (``5.1.1``) or SMTP reply code (``550``) that follows it.

Pure and bounded: regexes with bounded repetition over at most ``MAX_REPORT`` characters.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from parsing.model import DeliveryAction

MAX_REPORT = 64 * 1024
STATUS_WINDOW = 600  # characters after an address searched for its status code
MAX_ANCHORS = 20  # anchor sentences read: a real report has one or two
MAX_CANDIDATES = 100  # addresses of a report without anchors considered

# Where the report ends and our returned mail begins (the copy would add our own addresses).
_COPY_MARKERS = re.compile(
    r"^[ \t>]*(?:-{2,}[ \t]*(?:Below this line is a copy of the message|Enclosed are the original"
    r" headers|This is a copy of the message|Original message follows|Original message headers"
    r"|Header of the source mail attached|Original Message|Returned message|The original message"
    r" was received)|------ This is a copy of|Original message headers:|Original Message Headers"
    r"|----- Original message -----|------ Original message ------"
    r"|-----Original Message-----|--- Original message ---|Received: from |Return-Path: "
    r"|Message-ID: )",
    re.I | re.M,
)
_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]{1,128}@[A-Za-z0-9][A-Za-z0-9.\-]{0,252}"
                      r"\.[A-Za-z]{2,24}")
# "not accepting mail from x@y", "MAIL FROM:<x@y>": an address the report mentions as the
# sender, not a recipient.
_FROM_ADDRESS = re.compile(r"\bfrom:?[\s<\"']{1,3}(" + _ADDRESS.pattern + ")", re.I)
# A transcript's "RCPT TO:<x@y>" names the recipient of the session (RFC 5321 3.3).
_RCPT_TO = re.compile(r"\brcpt to:[\s<\"']{0,3}(" + _ADDRESS.pattern + ")", re.I)
ENHANCED_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP_REPLY = re.compile(r"(?<![\d.#])([45])([0-5])(\d)(?=[ \-])")

# Sentences after which the failed recipients are listed, from the MTAs named above.
_ANCHORS = re.compile(
    r"(?:following address(?:\(es\)|es)? failed"  # Exim
    r"|has not yet been delivered|could not be delivered to the following"
    r"|could not be delivered to one or more|were not delivered to|was not delivered to"  # Domino
    r"|following recipient\(s\) could not be reached|could not be delivered to:"  # Exchange 2003
    r"|delivery has failed to these recipients|delivery to the following recipients? (?:failed|"
    r"has been delayed)|your message to .{0,200}? couldn'?t be delivered"  # Exchange 2007+, Gmail
    r"|your message wasn'?t delivered to|message wasn'?t delivered to"
    r"|unable to deliver (?:your )?message to the following|undeliverable to the following"
    r"|permanent fatal errors|transient non-fatal errors|addresses had (?:permanent|transient)"
    r"|could not deliver (?:mail|the message|your message) to|following recipients? failed"
    r"|I'm afraid I wasn't able to deliver your message to the following"  # qmail
    r"|message could not be delivered to|delivery failed for|not be delivered to the recipient"
    r"|the following (?:addresses|recipients?) (?:had|has|were|was|could)"
    r"|failed to deliver to|undeliverable to|the group you tried to contact"
    r"|following recipients cannot be delivered|cannot be delivered to)",
    re.I,
)
_ANCHOR_SPAN = 1500  # characters after an anchor that may list recipients
_DELAY_WORDS = re.compile(
    r"has not yet been delivered|will (?:continue|keep) (?:trying|to try)|still trying"
    r"|will be retried|transient non-fatal|warning message only|has been delayed"
    r"|delivery (?:is )?delayed|attempts will continue|will retry|no action is required"
    r"|will try (?:again|to deliver)|still being retried|delivery will be attempted"
    r"|will keep trying|still undelivered after",
    re.I,
)
_FINAL_WORDS = re.compile(
    r"permanent(?:ly)? (?:error|failure|fatal|failed)|(?<!non-)fatal errors|\bgave up|giving up"
    r"|won'?t retry|will not (?:be retried|try again|retry)|not going to try again"
    r"|failed permanently|retry (?:time|timeout) (?:exceeded|expired)|too long in the queue"
    r"|been in the queue too long|has been rejected|does not exist|user unknown",
    re.I,
)
_NOT_RECIPIENTS = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailer_daemon|no-?reply"
                             r"|double-bounce|bounces?)(?:[+@]|$)", re.I)


@dataclass(frozen=True, slots=True)
class TextRecipient:
    """One recipient as the prose of a report describes it (``parsing.bounce`` makes it a
    ``FailedRecipient``)."""

    address: str
    action: DeliveryAction
    status: str | None
    diagnostic: str


def report_section(text: str) -> str:
    """The report without the copy of the message that failed (RFC 3462's third part, inline)."""
    text = text[:MAX_REPORT].replace("\r\n", "\n")
    match = _COPY_MARKERS.search(text, 40)
    return text[: match.start()] if match else text


def recipients_in(report: str, *, exclude: frozenset[str], delayed_hint: bool,
                  listed: tuple[str, ...] = ()) -> tuple[TextRecipient, ...]:
    """The recipients a prose report names, each with its status and the server's words.

    ``listed`` (``X-Failed-Recipients``) are the recipients when given; otherwise the addresses
    after an anchor sentence, and failing that every address of the report but ``exclude``
    (the report's own From/To: our sender and the reporting system).
    """
    addresses = list(listed)
    if not addresses:
        addresses = _after_anchors(report, exclude)
    if not addresses:
        # No sentence we know, but a transcript: the recipients are what it gave RCPT TO.
        addresses = [a for a in _RCPT_TO.findall(report) if _candidate(a, exclude)]
    if not addresses:
        senders = {a.strip(".-").lower() for a in _FROM_ADDRESS.findall(report)}
        candidates = dict.fromkeys(a for a in _addresses(report) if _candidate(a, exclude))
        addresses = [a for a in list(candidates)[:MAX_CANDIDATES] if a.lower() not in senders]
    found: list[TextRecipient] = []
    for address in dict.fromkeys(a.lower() for a in addresses):
        found.append(describe(report, address, delayed_hint=delayed_hint))
    return tuple(found[:100])


def says_delayed(report: str) -> bool:
    """Whether the report says in words that the MTA is still trying (RFC 3464 "delayed")."""
    says_final, delayed, _ = _signals(report)
    return delayed and not says_final


def anchored(report: str) -> bool:
    """Whether the report has a sentence we know that introduces the failed recipients."""
    return _ANCHORS.search(report) is not None


def _after_anchors(report: str, exclude: frozenset[str]) -> list[str]:
    found: list[str] = []
    for count, anchor in enumerate(_ANCHORS.finditer(report)):
        if count >= MAX_ANCHORS:
            break
        span = report[anchor.start(): anchor.end() + _ANCHOR_SPAN]
        # The list ends at two blank lines or a new section after its first address: Exim,
        # Gmail and Notes list recipients in one block, Exchange puts a blank line between.
        for address in _listed_addresses(span[anchor.end() - anchor.start():]):
            if _candidate(address, exclude):
                found.append(address)
    return found


def _listed_addresses(span: str) -> list[str]:
    addresses: list[str] = []
    gap = 0
    previous = ""
    for line in span.split("\n")[:60]:
        here = [a for a in _ADDRESS.findall(line) if ".." not in a
                and not re.search(r"\bfrom[\s<\"']{1,3}" + re.escape(a), line, re.I)]
        if here and _is_prose(line):
            # In a sentence only an address the sentence is about counts ("to x@y"), not the
            # sender it mentions ("not accepting mail from x@y").
            here = [a for a in here if re.search(r"(?:\bto|\bfor|recipient|address)[\s:<\"']{1,4}"
                                                 + re.escape(a), line, re.I)]
            if not here and addresses:
                break
        if here:
            addresses.extend(here)
            gap = 0
        elif addresses:
            gap += 1 if line.strip() == "" else 0
            # A heading ("The following text was generated ...:") opens a paragraph of its
            # own; right under an address the same shape is that recipient's error (GMX:
            # "SMTP error from remote server after RCPT command:").
            if gap >= 2 or _is_rule(line) or (_is_heading(line) and _opens_paragraph(previous)):
                break
        previous = line
    return addresses


def _opens_paragraph(previous: str) -> bool:
    return not previous.strip() or _is_rule(previous)


def _is_prose(line: str) -> bool:
    """A sentence rather than a list entry: many words before the address."""
    before = line.split("@", 1)[0]
    return len(before.split()) > 8


def _is_rule(line: str) -> bool:
    return line.strip().startswith(("---", "___", "***", "==="))


def _is_heading(line: str) -> bool:
    stripped = line.strip()
    return stripped.endswith(":") and "@" not in stripped and len(stripped.split()) > 2


def _addresses(text: str) -> list[str]:
    return [a.strip(".-") for a in _ADDRESS.findall(text) if ".." not in a]


def _candidate(address: str, exclude: frozenset[str]) -> bool:
    address = address.strip(".-").lower()
    return address not in exclude and not _NOT_RECIPIENTS.match(address)


def describe(report: str, address: str, *, delayed_hint: bool) -> TextRecipient:
    """One recipient of ``report``: its status code, permanence and the server's words."""
    index = report.lower().find(address)
    window = report[index: index + STATUS_WINDOW] if index >= 0 else report[:STATUS_WINDOW]
    says_final, says_delayed, report_status = _signals(report)
    status = _status_in(window) or report_status
    diagnostic = _diagnostic(window, address)
    # RFC 3463 3: class 5 is permanent. A server that says it gave up (qmail's "I'm not going
    # to try again" after #4.4.1) has made a temporary problem final; one that says it keeps
    # trying (Exim, Sendmail warnings) has not, whatever words of failure surround it.
    if (status and status[0] == "5") or says_final:
        action = DeliveryAction.FAILED
    elif delayed_hint or says_delayed or (status and status[0] == "4"):
        action = DeliveryAction.DELAYED
    else:
        action = DeliveryAction.FAILED
    return TextRecipient(address, action, status, diagnostic)


@functools.lru_cache(maxsize=8)
def _signals(report: str) -> tuple[bool, bool, str | None]:
    """Words of finality, words of delay, and the first status code: once per report, not once
    per recipient (a report may name a hundred)."""
    return (_FINAL_WORDS.search(report) is not None, _DELAY_WORDS.search(report) is not None,
            _status_in(report))


def _status_in(text: str) -> str | None:
    # RFC 3463 2: class 2 is success. A transcript shows the 2.x.x replies to the commands
    # that went through before the one that failed ("250 2.1.5 Ok", then "451 4.3.0").
    enhanced = next((m for m in ENHANCED_STATUS.finditer(text) if m.group(1) != "2"), None)
    if enhanced:
        return enhanced.group(0)
    reply = _SMTP_REPLY.search(text)
    if reply:
        # RFC 3463 has no exact mapping from a reply code; the class is what it shares.
        return f"{reply.group(1)}.0.0"
    return None


def _diagnostic(window: str, address: str) -> str:
    """The server's words: the lines after the address, up to a blank line, one line of text."""
    lines = window.split("\n")
    body = [ln.strip() for ln in lines[1:8]]
    if "" in body:
        body = body[: body.index("")] if body.index("") > 0 else body[1: 1 + 4]
    words = " ".join(x for x in body if x)
    if not words:
        words = lines[0].replace(address, "", 1).strip(" :<>()\t")
    return " ".join(words.split())[:300]
