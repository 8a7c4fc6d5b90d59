"""A mail whose HTML nests thousands of elements deep is shown at most
``MAX_DEPTH`` deep: html5ever's time grows with depth x tags, and 200,000 nested ``<div>`` in a
2 MB mail held each console view of it for hours (and, when intake cleaned HTML, the worker)."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage

from gateway.http.shallow_html import MAX_DEPTH
from tests.support import ingest, open_case, post, reply_to

DEEP = 3000  # past FEW_TAGS; quick for html5ever, and far past MAX_DEPTH
_TAG = re.compile(r"<(/?)([a-z][a-z0-9]*)[^>]*>")
_VOID = {"br", "img", "hr", "wbr", "meta"}


def depth(html: str) -> int:
    deepest = now = 0
    for closing, name in _TAG.findall(html):
        if name in _VOID:
            continue
        now += -1 if closing else 1
        deepest = max(deepest, now)
    return deepest


def _with_html(raw: bytes, html: str) -> bytes:
    msg = EmailMessage()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    for name in ("From", "To", "Subject", "Message-ID", "In-Reply-To", "References"):
        if parsed[name]:
            msg[name] = str(parsed[name])
    msg.set_content("It is an HP 4000.")
    msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def test_a_deeply_nested_reply_is_stored_and_shown_shallow(desk, admin):
    number = open_case(desk.rt)
    sent = post(desk.rt, number)
    raw = _with_html(reply_to(sent, sender="alice@acme.example"),
                     "<div>" * DEEP + "It is an HP 4000." + "</div>" * DEEP)
    result = ingest(desk.rt, raw)
    assert (result.outcome, result.case_number) == ("linked", number)
    page = admin.get(f"/cases/{number}").text
    (update_id,) = set(re.findall(rf"/cases/{number}/updates/(\d+)/mail", page))
    frame = admin.get(f"/cases/{number}/updates/{update_id}/mail")
    assert frame.status_code == 200 and "It is an HP 4000." in frame.text
    assert depth(frame.text) <= MAX_DEPTH + 3  # html, body, the frame's own markup


def test_a_deeply_nested_stranger_mail_is_shown_shallow_in_triage(desk, admin):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "x@stranger.example", "care@desk.example", "hi"
    msg["Message-ID"] = "<deep-1@stranger.example>"
    msg.set_content("text")
    msg.add_alternative("<span><div></span>" * DEEP + "the end", subtype="html")
    result = ingest(desk.rt, msg.as_bytes())
    assert result.outcome == "triaged"
    listing = admin.get("/triage").text
    (item,) = set(re.findall(r"/triage/(\d+)", listing))
    frame = admin.get(f"/triage/{item}/mail")
    assert frame.status_code == 200 and "the end" in frame.text
    assert depth(frame.text) <= MAX_DEPTH + 3
