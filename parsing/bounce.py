"""Delivery failure reports -> which recipients failed and which of our mails it was about.

Place in the flow: once ``parsing.classify`` has called a message a bounce, ``parsing.parse``
asks ``extract`` for the details; the workflow then marks the recipient and finds the outbound
mail by the returned Message-ID (ours carry the case token, see ``parsing.reference``).

Formats, most structured first: RFC 3464 ``message/delivery-status`` (per-recipient
``Action``/``Status``, RFC 3463 codes: 5.x.x permanent, 4.x.x transient), then the plain-text
reports of qmail (its "bounce" format), Exim and Postfix without DSN, and finally a heuristic
for the rest (``X-Failed-Recipients`` and a ``Message-ID:`` line in whatever came back).
"""

from __future__ import annotations

import re

from parsing.headers import message_id
from parsing.model import Bounce

MAX_SCAN = 256 * 1024  # characters of a report read
MAX_RECIPIENTS = 100

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")
_RETURNED_ID = re.compile(r"^[ \t>]*Message-ID:[ \t]*([^\r\n]+)", re.I | re.M)
# Local parts exclude "@" so that no pattern can try every "@" of a long token: linear time.
_ANGLE_ADDRESS_LINE = re.compile(
    r"^<([^<>\s@]{1,256}@[^<>\s]{1,256})>(?: \(expanded from <[^<>\n]*>\))?:", re.M
)
_INDENTED_LINE = re.compile(r"^  (\S{1,512})[ \t]*$", re.M)  # Exim: "  user@example.com"
_RECIPIENT_FIELD = re.compile(
    r"^(?:Final|Original)-Recipient:[^;\n]*;[ \t]*<?([^<>\s@]{1,256}@[^<>\s]{1,256})", re.I | re.M
)

QMAIL_SENTINEL = "This is the qmail-send program"
EXIM_SENTINEL = "This message was created automatically by mail delivery software"
POSTFIX_SENTINELS = ("This is the mail system at host", "This is the Postfix program at host")
_QMAIL_COPY = (
    "--- Below this line is a copy of the message",
    "--- Enclosed are the original headers",
)
_EXIM_COPY = ("------ This is a copy of the message",)
_POSTFIX_COPY = ("--- Delivery report unavailable ---",)
_EXIM_DELAY = "has not yet been delivered"
_DELAY_SUBJECT = re.compile(r"\bdelay|\bwarning\b|still being retried|\(delay\)", re.I)


def extract(
    *,
    subject: str,
    failed_header: list[str],
    text: str,
    delivery_status: list[str],
    message_headers: list[list[tuple[str, str]]],
) -> Bounce:
    """The most specific reading of a report already classified as a bounce."""
    text = text[:MAX_SCAN]
    returned = _returned_id(message_headers)
    if delivery_status:
        recipients, permanent = _rfc3464(delivery_status)
        return Bounce(returned or _id_in(text), recipients, permanent, "rfc3464")
    listed = _split_header(failed_header)
    if QMAIL_SENTINEL in text:
        report, copy = _cut(text, _QMAIL_COPY)
        recipients = listed or _unique(_ANGLE_ADDRESS_LINE.findall(report))
        permanent = "temporary" not in report.lower()
        return Bounce(returned or _id_in(copy), recipients, permanent, "qmail")
    if EXIM_SENTINEL in text:
        report, copy = _cut(text, _EXIM_COPY)
        recipients = listed or _unique(
            [a.strip("<>") for a in _INDENTED_LINE.findall(report) if "@" in a]
        )
        permanent = _EXIM_DELAY not in report
        return Bounce(returned or _id_in(copy), recipients, permanent, "exim")
    if any(s in text for s in POSTFIX_SENTINELS):
        report, copy = _cut(text, _POSTFIX_COPY)
        recipients = listed or _unique(_ANGLE_ADDRESS_LINE.findall(report))
        permanent = not _DELAY_SUBJECT.search(subject)
        return Bounce(returned or _id_in(copy), recipients, permanent, "postfix-text")
    recipients = listed or _unique(
        _RECIPIENT_FIELD.findall(text) + _ANGLE_ADDRESS_LINE.findall(text)
    )
    permanent = not _DELAY_SUBJECT.search(subject)
    return Bounce(returned or _id_in(text), recipients, permanent, "heuristic")


def _rfc3464(reports: list[str]) -> tuple[tuple[str, ...], bool]:
    """Failed or delayed recipients of RFC 3464 section 2.3 groups, and whether any is final."""
    failed: list[str] = []
    permanent = False
    for report in reports:
        groups = _BLANK_LINE.split(report.replace("\r\n", "\n")[:MAX_SCAN])
        for group in groups[1 : MAX_RECIPIENTS + 1]:  # groups[0]: per-message fields (2.2)
            fields = _fields(group)
            recipient = _address(fields.get("original-recipient") or fields.get("final-recipient"))
            if not recipient:
                continue
            action = fields.get("action", "").strip().lower()
            status = _STATUS.search(fields.get("status", ""))
            code = status.group(0) if status else ""
            if action in ("failed", "delayed") or (not action and code[:1] in ("4", "5")):
                failed.append(recipient)
                # RFC 3464 2.3.3: "delayed" is transient; RFC 3463 3: 5.x.x is permanent.
                if action == "failed" or (action != "delayed" and code.startswith("5")):
                    permanent = True
    return _unique(failed), permanent


def _fields(group: str) -> dict[str, str]:
    """``Name: value`` lines of one report group, folded lines joined, first value wins."""
    fields: dict[str, str] = {}
    last = None
    for line in group.split("\n")[:200]:
        if line[:1] in (" ", "\t") and last:
            fields[last] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if colon:
            last = name.strip().lower()
            fields.setdefault(last, value.strip())
    return fields


def _address(value: str | None) -> str | None:
    """The address of ``rfc822; user@example.com`` (RFC 3464 2.3.1 address-type ; address)."""
    if not value:
        return None
    address = value.rpartition(";")[2].strip().strip("<>").strip()
    return address.lower() if "@" in address and " " not in address else None


def _returned_id(message_headers: list[list[tuple[str, str]]]) -> str | None:
    for headers in message_headers:
        for name, value in headers:
            if name.lower() == "message-id":
                found = message_id(value)
                if found:
                    return found
    return None


def _id_in(text: str) -> str | None:
    match = _RETURNED_ID.search(text)
    return message_id(match.group(1)) if match else None


def _cut(text: str, markers: tuple[str, ...]) -> tuple[str, str]:
    """(the report, the returned copy) split at the MTA's "copy of the message" marker."""
    for marker in markers:
        index = text.find(marker)
        if index >= 0:
            return text[:index], text[index:]
    return text, text


def _split_header(values: list[str]) -> tuple[str, ...]:
    """``X-Failed-Recipients`` (Exim): comma-separated addresses."""
    found = [v.strip().strip("<>").lower() for value in values for v in value.split(",")]
    return _unique([v for v in found if "@" in v and " " not in v])


def _unique(addresses: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a.lower() for a in addresses))[:MAX_RECIPIENTS]
