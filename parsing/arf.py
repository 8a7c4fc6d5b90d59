"""Abuse feedback reports (ARF, RFC 5965) -> which of our mails a recipient complained about.

Place in the flow: once ``parsing.classify`` has called a message a complaint
(``multipart/report; report-type=feedback-report``), ``parsing.parse`` asks ``extract``; the
workflow then finds our notice or case mail by the returned Message-ID and stops sending
notices to the recipient who complained.

RFC 5965 2: the second part is ``message/feedback-report`` (``Feedback-Type``, ``User-Agent``,
``Version``, optional ``Original-Rcpt-To``, ``Reporting-MTA``, ...), the third the complained-
about message or its headers. Providers redact the recipient (RFC 6590), so ``recipients`` may
be empty: the workflow then knows the recipient from its own delivery row. Amazon SES
complaint notifications (JSON) come through ``parsing.ses``.
"""

from __future__ import annotations

import re

from parsing import ses
from parsing.headers import message_id
from parsing.model import Address, Attachment, Complaint

MAX_REPORT = 64 * 1024
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]{0,60})[ \t]*:[ \t]*(.*)$")
_ADDRESS = re.compile(r"[^<>\s@;,\"]{1,256}@[^<>\s@;,\"]{1,256}")


def extract(*, attachments: tuple[Attachment, ...] | list[Attachment],
            message_headers: list[list[tuple[str, str]]], text: str) -> Complaint:
    """What the feedback report says; fields missing from it stay empty, never raise."""
    if ses.notification_type(text[:1024]) == "Complaint":
        from_ses = ses.read_complaint(text)
        if from_ses is not None:
            return from_ses
    fields: dict[str, list[str]] = {}
    for part in attachments:
        if part.content_type == "message/feedback-report":
            body = part.payload[:MAX_REPORT].decode("utf-8", "replace")
            for name, value in _fields(body):
                fields.setdefault(name, []).append(value)
    feedback_type = (fields.get("feedback-type") or ["abuse"])[0].strip().lower() or "abuse"
    recipients = [a for v in fields.get("original-rcpt-to", []) for a in _addresses(v)]
    original = None
    for headers in message_headers:
        for name, value in headers:
            lname = name.lower()
            if lname == "message-id" and original is None:
                original = message_id(value)
            elif lname == "to" and not recipients:
                recipients = _addresses(value)
        if original:
            break
    if original is None:
        match = re.search(r"^Message-ID:[ \t]*(<[^>\r\n]{1,900}>)", text[:MAX_REPORT], re.I | re.M)
        original = message_id(match.group(1)) if match else None
    reporting = fields.get("reporting-mta", [""])[0].partition(";")[2].strip() or None
    agent = (fields.get("user-agent") or [""])[0] or None
    return Complaint(
        feedback_type=feedback_type[:32],
        original_message_id=original,
        recipients=tuple(dict.fromkeys(recipients))[:20],
        reporting_mta=reporting or agent,
        user_agent=agent,
    )


def _fields(body: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for line in body.replace("\r\n", "\n").split("\n")[:500]:
        if line[:1] in (" ", "\t") and found:
            name, value = found[-1]
            found[-1] = (name, value + " " + line.strip())
            continue
        match = _FIELD.match(line)
        if match:
            found.append((match.group(1).lower(), match.group(2).strip()))
    return found


def _addresses(value: str) -> list[str]:
    return [Address(a.strip("<>.").lower()).email for a in _ADDRESS.findall(value)
            if "redacted" not in a.lower()]
