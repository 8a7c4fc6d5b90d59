"""Amazon SES notifications delivered by mail (SNS email subscription): JSON, not a DSN.

Place in the flow: ``parsing.classify`` calls ``notification_type`` on the start of the text of
mail from Amazon's notification senders; ``parsing.bounce.extract`` and ``parsing.arf.extract``
then read the bounce or complaint from the JSON with ``read_bounce`` / ``read_complaint``.

The format is Amazon's documented notification object ("Amazon SES notification contents"):
``notificationType`` Bounce, Complaint or Delivery (a success: ``parsing.classify`` keeps it
out of cases as an automatic notice); ``bounce.bounceType`` Permanent or Transient
(Undetermined counts as permanent: SES itself suppresses it); ``bounce.bouncedRecipients``
with ``emailAddress``, ``action``, ``status`` and ``diagnosticCode``; ``complaint``
``.complainedRecipients`` and ``complaintFeedbackType``; ``mail.commonHeaders.messageId`` or
``mail.headers`` for the Message-ID of our mail.
"""

from __future__ import annotations

import json
import re
from typing import Any

from parsing.headers import message_id
from parsing.model import Bounce, Complaint, DeliveryAction, FailedRecipient

MAX_JSON = 256 * 1024
MAX_RECIPIENTS = 100
SENDER_DOMAINS = ("amazonaws.com", "amazonses.com")
_TYPE = re.compile(
    r'^\s*\{.{0,200}?"(?:notificationType|eventType)"\s*:\s*"(Bounce|Complaint|Delivery)"', re.S)
# An "email-json" SNS subscription delivers Amazon SNS's own envelope instead ("Amazon SNS
# message and JSON formats": Type Notification, MessageId, TopicArn, Message, Timestamp,
# Signature...): the SES notification is the Message, a JSON text inside a JSON string.
_SNS_TYPE = re.compile(
    r'^\s*\{.{0,400}?"Type"\s*:\s*"Notification".{0,400}?"Message"\s*:\s*"\{\s*'
    r'\\"(?:notificationType|eventType)\\"\s*:\s*\\"(Bounce|Complaint|Delivery)\\"', re.S)
_STATUS = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")


def notification_type(text_head: str) -> str | None:
    """"Bounce", "Complaint" or "Delivery" when the text is an SES notification object, else
    None."""
    match = _TYPE.match(text_head) or _SNS_TYPE.match(text_head)
    return match.group(1) if match else None


def read_bounce(text: str) -> Bounce | None:
    """The bounce an SES notification describes, or None when the JSON is not one."""
    obj = _load(text)
    bounce = obj.get("bounce") if obj else None
    if not isinstance(bounce, dict):
        return None
    # Transient: SES retried and gave up for now (mailbox full, message too large): delayed.
    transient = str(bounce.get("bounceType", "")).lower() == "transient"
    recipients = []
    for item in _list(bounce.get("bouncedRecipients"))[:MAX_RECIPIENTS]:
        address = str(item.get("emailAddress", "")).strip().lower() if isinstance(
            item, dict) else ""
        if "@" not in address:
            continue
        status = str(item.get("status", "")).strip()
        action = DeliveryAction.DELAYED if transient else DeliveryAction.FAILED
        recipients.append(FailedRecipient(
            address, action, status if _STATUS.match(status) else None,
            " ".join(str(item.get("diagnosticCode", "")).split())[:300]))
    if not recipients:
        return None
    final = tuple(r.address for r in recipients if r.permanent)
    reporting = str(bounce.get("reportingMTA", "")).partition(";")[2].strip() or None
    return Bounce(
        original_message_id=_original_id(obj),
        failed_recipients=final or tuple(r.address for r in recipients),
        permanent=bool(final),
        format="amazonses-json",
        recipients=tuple(recipients),
        reporting_mta=reporting,
    )


def read_complaint(text: str) -> Complaint | None:
    """The complaint an SES notification describes, or None when the JSON is not one."""
    obj = _load(text)
    complaint = obj.get("complaint") if obj else None
    if not isinstance(complaint, dict):
        return None
    recipients = tuple(
        str(item.get("emailAddress", "")).strip().lower()
        for item in _list(complaint.get("complainedRecipients"))[:MAX_RECIPIENTS]
        if isinstance(item, dict) and "@" in str(item.get("emailAddress", ""))
    )
    agent = complaint.get("userAgent")
    return Complaint(
        feedback_type=str(complaint.get("complaintFeedbackType") or "abuse").lower()[:32],
        original_message_id=_original_id(obj),
        recipients=recipients,
        reporting_mta="amazonses",
        user_agent=str(agent)[:200] if agent else None,
    )


def _load(text: str) -> dict[str, Any] | None:
    """The JSON object the text starts with; SNS appends an unsubscribe footer after it, and
    mail transport may have folded a long line inside a string (hence ``strict=False``)."""
    body = text[:MAX_JSON].lstrip()
    if not body.startswith("{"):
        return None
    decoder = json.JSONDecoder(strict=False)
    try:
        obj, _ = decoder.raw_decode(body)
        if isinstance(obj, dict) and obj.get("Type") == "Notification" and isinstance(
                obj.get("Message"), str):
            obj = decoder.decode(obj["Message"][:MAX_JSON])  # the SNS envelope (_SNS_TYPE)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _original_id(obj: dict[str, Any] | None) -> str | None:
    if obj is None:
        return None
    mail = obj.get("mail")
    if not isinstance(mail, dict):
        return None
    for header in _list(mail.get("headers")):
        if isinstance(header, dict) and str(header.get("name", "")).lower() == "message-id":
            found = message_id(str(header.get("value", "")))
            if found:
                return found
    common = mail.get("commonHeaders")
    if isinstance(common, dict) and common.get("messageId"):
        return message_id(str(common["messageId"]))
    return None
