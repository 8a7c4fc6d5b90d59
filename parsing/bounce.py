"""Delivery failure reports -> which recipients failed, how, and which of our mails it was about.

Place in the flow: once ``parsing.classify`` has called a message a bounce, ``parsing.parse``
asks ``extract`` for the details; the workflow then marks the recipient and finds the outbound
mail by the returned Message-ID (ours carry the case token, see ``parsing.reference``).

Readers, most structured first, the first that names a recipient wins:
0. Amazon SES notifications delivered by mail (JSON, ``parsing.ses``).
1. RFC 3464 ``message/delivery-status``: per-recipient ``Action``, ``Status`` (RFC 3463: 5.x.x
   permanent, 4.x.x transient), ``Diagnostic-Code``, ``Remote-MTA``; ``Reporting-MTA`` once.
2. ``X-Failed-Recipients`` (Exim, Google, Microsoft 365 set it): the list itself, statuses from
   the prose.
3. The prose of the report (``parsing.bounce_text``): anchor sentences of qmail, Exim,
   Postfix, Sendmail, Exchange, Gmail, Yahoo, Notes, GroupWise and others.
4. GNU Mailman's detectors (``flufl.bounce``), for the odd formats it has collected over twenty
   years (SMTP32, Netscape, LLNL, Sina, Yale, CAI wireless ...).
5. A report that says it lost its per-recipient part (Postfix's "Delivery report unavailable",
   or a delivery-status part without any recipient group): the returned message's one
   recipient, when its header names exactly one (``_returned_recipient``).
A delayed report (RFC 3464 2.3.3 "delayed", 4.x.x) never makes a recipient permanent.
"""

from __future__ import annotations

import email
import email.policy
import re
import warnings

from parsing import bounce_text, ses
from parsing.headers import addresses, message_id
from parsing.model import Bounce, DeliveryAction, FailedRecipient

MAX_SCAN = 256 * 1024  # characters of a report read
MAX_RECIPIENTS = 100
MAX_FLUFL_BYTES = 64 * 1024  # flufl.bounce reads the whole message; bound what it gets

_STATUS = bounce_text.ENHANCED_STATUS
_RETURNED_ID = re.compile(r"^[ \t>]*Message-ID:[ \t]*([^\r\n]+)", re.I | re.M)
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]{0,60})[ \t]*:[ \t]*(.*)$")
_XTEXT = re.compile(r"\+([0-9A-Fa-f]{2})")
# RFC 3464 2.3 per-recipient fields at the start of a line of the text: a report whose
# message/delivery-status part was not recognised (no Content-Type, a broken boundary) still
# carries its fields, inline.
_INLINE_DSN = re.compile(r"^(?:final|original)-recipient[ \t]*:", re.I | re.M)
# Postfix writes this line instead of the recipients when it cannot read the mail's bounce log
# (src/bounce/bounce_notify_util.c); its delivery-status part then has no recipient group.
_REPORT_UNAVAILABLE = re.compile(r"^[ \t]*--- delivery report unavailable ---", re.I | re.M)
_RECEIVED_FOR = re.compile(r"\bfor[ \t]+<?([^\s<>;@]+@[^\s<>;]+)>?", re.I)

QMAIL_SENTINEL = "This is the qmail-send program"
EXIM_SENTINEL = "This message was created automatically by mail delivery software"
POSTFIX_SENTINELS = ("This is the mail system at host", "This is the Postfix program at host")
# Subjects of warnings that the MTA is still trying (a bare "Warning:" is not one: MDaemon
# titles its final "User unknown" report "Warning: ...").
_DELAY_SUBJECT = re.compile(
    r"\bdelay|warning: message .{0,80} delayed|warning: could not send message for past"
    r"|still being retried|will retry|not yet been delivered|retrying",
    re.I,
)
_FORMATS = (
    (QMAIL_SENTINEL, "qmail"),
    (EXIM_SENTINEL, "exim"),
    (POSTFIX_SENTINELS[0], "postfix"),
    (POSTFIX_SENTINELS[1], "postfix"),
    ("----- The following addresses had", "sendmail"),
    ("----- Transcript of session follows -----", "sendmail"),
    ("Delivery has failed to these recipients", "exchange2007"),
    ("Your message did not reach some or all of the intended recipients", "exchange2003"),
    ("couldn't be delivered", "office365"),
    ("Delivery to the following recipient", "gmail"),
    ("wasn't delivered to", "gmail"),
    ("Google Groups", "googlegroups"),
    ("unable to deliver your message to the following", "yahoo"),
    ("was not delivered to:", "domino"),
    ("undeliverable to the following", "groupwise"),
)


def extract(
    *,
    subject: str,
    failed_header: list[str],
    text: str,
    delivery_status: list[str],
    message_headers: list[list[tuple[str, str]]],
    raw: bytes | None = None,
    exclude: tuple[str, ...] = (),
    in_reply_to: tuple[str, ...] = (),
) -> Bounce:
    """The most specific reading of a report already classified as a bounce.

    ``exclude``: addresses that are not recipients (the report's own From and To: us).
    ``raw``: the whole message, for the flufl.bounce detectors (skipped when None).
    """
    text = text[:MAX_SCAN]
    if ses.notification_type(text[:1024]) == "Bounce":
        from_ses = ses.read_bounce(text)
        if from_ses is not None:
            return from_ses
    report = bounce_text.report_section(text)
    inline = not delivery_status and _INLINE_DSN.search(text) is not None
    if inline:
        delivery_status = [text]
    original = (_returned_id(message_headers) or (_id_after_dsn(text) if inline else None)
                or _id_in(text[len(report):]) or _id_in(text))
    if original is None and len(in_reply_to) == 1:
        original = in_reply_to[0]  # Exchange and Gmail answer our mail: In-Reply-To is it
    delayed_hint = bool(_DELAY_SUBJECT.search(subject))
    reporting, recipients, delivered = _rfc3464(delivery_status)
    fmt = "rfc3464"
    if delivered and not recipients:
        # Every recipient the report names was delivered, relayed or expanded (RFC 3464
        # 2.3.3): a success report, e.g. one asked for with NOTIFY=SUCCESS (RFC 3461 4.1).
        # Its prose ("250 2.1.5 Ok") must not be read as a failure.
        return _bounce(original, (), fmt, reporting, unnamed_final=False)
    if not recipients:
        listed = _split_header(failed_header)
        excluded = frozenset(a.lower() for a in exclude)
        found = bounce_text.recipients_in(report, exclude=excluded, delayed_hint=delayed_hint,
                                          listed=listed)
        fmt = _format_of(text, listed)
        if not listed and raw is not None and (not found or not _anchored(report)):
            flufl = _flufl(raw)
            if flufl:
                found = _with_flufl(found, flufl, report, delayed_hint)
                fmt = "flufl.bounce"
        recipients = [
            FailedRecipient(r.address, r.action, r.status, r.diagnostic) for r in found
        ]
    if not recipients and (_REPORT_UNAVAILABLE.search(report) or (
            delivery_status and not any(_INLINE_DSN.search(d) for d in delivery_status))):
        returned = _returned_recipient(message_headers, exclude)
        if returned is not None:
            delayed = delayed_hint or bounce_text.says_delayed(report)
            recipients = [FailedRecipient(
                returned, DeliveryAction.DELAYED if delayed else DeliveryAction.FAILED, None,
                "delivery report unavailable; recipient from the returned message's header")]
    # A report that names nobody is final unless it says it is a delay warning.
    unnamed_final = not (delayed_hint or bounce_text.says_delayed(report))
    return _bounce(original, tuple(recipients[:MAX_RECIPIENTS]), fmt, reporting, unnamed_final)


def _bounce(original: str | None, recipients: tuple[FailedRecipient, ...], fmt: str,
            reporting: str | None, unnamed_final: bool) -> Bounce:
    final = tuple(r.address for r in recipients if r.permanent)
    delayed = tuple(r.address for r in recipients if not r.permanent)
    return Bounce(
        original_message_id=original,
        failed_recipients=_unique(list(final or delayed)),
        permanent=bool(final) or (not recipients and unnamed_final),
        format=fmt,
        recipients=recipients,
        reporting_mta=reporting,
    )


def _format_of(text: str, listed: tuple[str, ...]) -> str:
    for sentinel, name in _FORMATS:
        if sentinel in text:
            return name
    return "x-failed-recipients" if listed else "heuristic"


def _anchored(report: str) -> bool:
    return bounce_text.anchored(report)


def _rfc3464(reports: list[str]) -> tuple[str | None, list[FailedRecipient], int]:
    """Failed or delayed recipients of RFC 3464 section 2.3 groups, the Reporting-MTA, and how
    many groups report a success (Action delivered, relayed, expanded or a 2.x.x Status)."""
    reporting: str | None = None
    found: dict[str, FailedRecipient] = {}
    delivered = 0
    for report in reports:
        for fields in _groups(report.replace("\r\n", "\n")[:MAX_SCAN]):
            if "reporting-mta" in fields and reporting is None:
                reporting = _typed_value(fields["reporting-mta"])
            recipient = _address(fields.get("original-recipient")) or _address(
                fields.get("final-recipient"))
            if not recipient or recipient in found:
                continue
            action = fields.get("action", "").strip().lower()
            status = _STATUS.search(fields.get("status", ""))
            code = status.group(0) if status else None
            diagnostic = _typed_value(fields.get("diagnostic-code", "")) or ""
            if not code:
                in_diagnostic = _STATUS.search(diagnostic)
                code = in_diagnostic.group(0) if in_diagnostic else None
            if action.startswith(("deliver", "relay", "expand")) or (
                    (code or "")[:1] == "2" and not action.startswith(("fail", "delay"))):
                # RFC 3464 2.3.3 delivered/relayed/expanded (Postfix's address verification
                # says "deliverable"), RFC 3463 2: class 2 is success.
                delivered += 1
                continue
            if action.startswith("delay") or (not action.startswith("fail") and (code or "")[:1]
                                              == "4"):
                kind = DeliveryAction.DELAYED
            elif action.startswith("fail") or (not action and (code or "")[:1] == "5"):
                kind = DeliveryAction.FAILED
            else:
                continue  # an Action we do not know, without a 4.x.x or 5.x.x Status
            found[recipient] = FailedRecipient(
                recipient, kind, code, " ".join(diagnostic.split())[:300],
                _typed_value(fields.get("remote-mta", "")) or None)
            if len(found) >= MAX_RECIPIENTS:
                break
    return reporting, list(found.values()), delivered


def _groups(report: str) -> list[dict[str, str]]:
    """``Name: value`` groups of a delivery-status body, folded lines joined, first value wins.

    Blank lines separate groups (RFC 3464 2.1); some MTAs omit them, so a second
    Final-Recipient also starts a new group.
    """
    groups: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last: str | None = None
    for line in report.split("\n")[:5000]:
        if not line.strip():
            if current:
                groups.append(current)
            current, last = {}, None
            continue
        if line[:1] in (" ", "\t") and last:
            current[last] += " " + line.strip()
            continue
        match = _FIELD.match(line)
        if not match:
            continue
        name, value = match.group(1).lower(), match.group(2).strip()
        if name in ("final-recipient", "original-recipient") and name in current:
            groups.append(current)
            current = {}
        last = name
        current.setdefault(name, value)
    if current:
        groups.append(current)
    return groups


def _typed_value(value: str) -> str:
    """``dns; mx.example.com`` -> ``mx.example.com`` (RFC 3464 2.1.2 type ; value)."""
    return value.partition(";")[2].strip() if ";" in value else value.strip()


def _address(value: str | None) -> str | None:
    """The address of ``rfc822; user@example.com`` (RFC 3464 2.3.1 address-type ; address)."""
    if not value:
        return None
    address = value.rpartition(";")[2].strip().strip("<>").strip()
    if "+" in address:  # RFC 3461 4 xtext: "+40" is "@"
        address = _XTEXT.sub(lambda m: chr(int(m.group(1), 16)), address)
    address = address.strip("<>\"' ")
    return address.lower() if "@" in address and " " not in address else None


def _flufl(raw: bytes) -> tuple[set[str], set[str]] | None:
    """(temporary, permanent) addresses GNU Mailman's detectors find, or None on failure."""
    try:
        from flufl.bounce import all_failures

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            message = email.message_from_bytes(raw[:MAX_FLUFL_BYTES], policy=email.policy.compat32)
            temporary, permanent = all_failures(message)
    except Exception:  # a third-party heuristic must cost its answer, never the message
        return None
    temp = {a for a in map(_text, temporary) if "@" in a}
    perm = {a for a in map(_text, permanent) if "@" in a}
    return (temp - perm, perm) if temp or perm else None


def _text(address: bytes | str) -> str:
    raw = address.decode("utf-8", "replace") if isinstance(address, bytes) else str(address)
    return raw.strip().lower()


def _with_flufl(found: tuple[bounce_text.TextRecipient, ...], flufl: tuple[set[str], set[str]],
                report: str, delayed_hint: bool) -> tuple[bounce_text.TextRecipient, ...]:
    """flufl.bounce's addresses, described (status, words) from our reading of the report."""
    temporary, permanent = flufl
    ours = {r.address: r for r in found}
    result = []
    for address in sorted(permanent | temporary):
        described = ours.get(address) or bounce_text.describe(report, address,
                                                              delayed_hint=delayed_hint)
        # flufl.bounce knows the address; the report's own words ("THIS IS A WARNING
        # MESSAGE ONLY", a 4.x.x code) know best whether the MTA is still trying.
        delayed = address in temporary or ((described.status or "")[:1] != "5" and (
            delayed_hint or bounce_text.says_delayed(report)))
        action = DeliveryAction.DELAYED if delayed else DeliveryAction.FAILED
        result.append(bounce_text.TextRecipient(address, action, described.status,
                                                described.diagnostic))
    return tuple(result)


def _returned_recipient(message_headers: list[list[tuple[str, str]]],
                        exclude: tuple[str, ...]) -> str | None:
    """The one address the returned message was for, or None when it names none or several.

    Read from its header (RFC 3462 2: the report's third part): To and Cc, and the envelope
    trace a relay leaves there, X-Original-To, Delivered-To and Received's "for <address>"
    (RFC 5321 4.4), which Postfix writes only for a transaction with one recipient. At least
    one of the four fields, and all of them together, must name the same single address, and
    there must be no Bcc field (recipients the header does not show): the report said some
    recipient failed, so when the message had only one, it is that one; with two or more,
    which failed is a guess, and none is taken."""
    if len(message_headers) != 1:
        return None
    named: set[str] = set()
    listed: list[str] = []
    for name, value in message_headers[0]:
        key = name.lower()
        if key == "bcc":
            return None
        if key in ("to", "cc", "x-original-to", "delivered-to"):
            listed.append(value)
        elif key == "received":
            named.update(m.group(1).strip(".").lower() for m in _RECEIVED_FOR.finditer(value))
    found, _ = addresses(listed, "returned message")
    named.update(a.email for a in found)
    if len(named) != 1 or len(found) == 0:
        return None
    (address,) = named
    return None if address in {e.lower() for e in exclude} else address


def _returned_id(message_headers: list[list[tuple[str, str]]]) -> str | None:
    for headers in message_headers:
        for name, value in headers:
            if name.lower() == "message-id":
                found = message_id(value)
                if found:
                    return found
    return None


def _id_after_dsn(text: str) -> str | None:
    """The returned message's Message-ID in a report read as text: after the last recipient group.

    RFC 3462 2 orders a report as notice, delivery-status, returned message; a report quoted
    whole in another mail (a provider forwarding its relay's bounce as text) carries the
    quoted report's own header, Message-ID included, before its fields, so only a Message-ID
    after them is the returned one.
    """
    starts = [match.end() for match in _INLINE_DSN.finditer(text)]
    return _id_in(text[starts[-1]:]) if starts else None


def _id_in(text: str) -> str | None:
    match = _RETURNED_ID.search(text)
    return message_id(match.group(1)) if match else None


def _split_header(values: list[str]) -> tuple[str, ...]:
    """``X-Failed-Recipients`` (Exim): comma-separated addresses."""
    found = [v.strip().strip("<>").lower() for value in values for v in value.split(",")]
    return _unique([v for v in found if "@" in v and " " not in v])


def _unique(addresses: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a.lower() for a in addresses))[:MAX_RECIPIENTS]
