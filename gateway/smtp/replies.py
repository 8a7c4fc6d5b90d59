"""Every reply the SMTP/LMTP listener sends, as named constants with enhanced status codes.

Place in the flow: the words of ``gateway.smtp.handler`` and ``gateway.smtp.server``, the edge
where mail comes in before ``intake.accept``. They live in one module so that a reviewer (and a
sender's postmaster) can read the whole conversation in one place.

Enhanced status codes are RFC 3463 (``class.subject.detail``); advertising ENHANCEDSTATUSCODES
(RFC 2034) obliges us to put one on every reply but the greeting and the EHLO/LHLO response, so
``enhanced`` also rewrites the stock replies aiosmtpd sends on its own (syntax errors, its size
checks) into the same form.
"""

from __future__ import annotations

import re

# --- Success ------------------------------------------------------------------------------
OK = "250 2.0.0 OK"
# RFC 5321 6.1: this 250 is sent only after the raw bytes are committed; from here on the
# message is ours. 2.6.0 = "other or undefined media (content) status" (RFC 3463 3.7).
QUEUED = "250 2.6.0 Queued as {inbound_id}"
SENDER_OK = "250 2.1.0 Sender OK"  # X.1.0: other address status (RFC 3463 3.2)
RECIPIENT_OK = "250 2.1.5 Recipient OK"  # X.1.5: destination address valid
AUTH_OK = "235 2.7.0 Authentication successful"
CLOSING = "221 2.0.0 Bye"

# --- Temporary failures: the sender keeps the message and retries (RFC 5321 4.2.5) --------
# Any internal failure (database down, disk full, a bug): nothing was kept, so say "try later".
TEMPORARY_FAILURE = "451 4.3.0 Temporary failure, please retry later"
# Too many messages waiting for the database: 4.3.1 "mail system full" (RFC 3463 3.4).
SYSTEM_FULL = "452 4.3.1 Insufficient system storage, please retry later"
# Past ``max_sessions``: 4.3.2 "system not accepting network messages".
TOO_BUSY = "421 4.3.2 Too many sessions, please retry later"
SHUTTING_DOWN = "421 4.3.2 Service shutting down, please retry later"
# Listener limits (gateway.smtp.limits). 4.7.0: "other or undefined security status" (RFC
# 3463 3.8), what aiosmtpd itself says for a command over its call limit.
TOO_MANY_FROM_ADDRESS = "421 4.7.0 Too many sessions from your address, please retry later"
TOO_MANY_NOOPS = "421 4.7.0 Too many commands without a message, closing"
# 4.4.2 "bad connection": the session ran past its lifetime; reconnect and carry on.
SESSION_EXPIRED = "421 4.4.2 Session time limit reached, please reconnect"
# RFC 5321 4.5.3.1.10: 452 for too many recipients; the client sends the rest in another
# transaction. 4.5.3 = "too many recipients" (RFC 3463 3.6).
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"

# --- Permanent failures: the sender's fault; retrying will not help ------------------------
UNKNOWN_MAILBOX = "550 5.1.1 Unknown mailbox"  # X.1.1: bad destination mailbox address
MESSAGE_TOO_BIG = "552 5.3.4 Message size exceeds fixed maximum message size"
AUTH_REQUIRED = "530 5.7.0 Authentication required"
AUTH_FAILED = "535 5.7.8 Authentication credentials invalid"
BAD_SEQUENCE = "503 5.5.1 Bad sequence of commands"
TLS_REQUIRED = "530 5.7.0 Must issue a STARTTLS command first"

# aiosmtpd's own replies for the checks it makes before our handler runs, mapped to ours
# (exact text as in aiosmtpd 1.4.6; an unknown one still gets an enhanced code below).
_STOCK = {
    "552 Error: message size exceeds fixed maximum message size": MESSAGE_TOO_BIG,
    "552 Error: Too much mail data": MESSAGE_TOO_BIG,
    "530 Must issue a STARTTLS command first": TLS_REQUIRED,
    "250 OK": OK,
    "221 Bye": CLOSING,
}

# Detail codes for stock replies by basic code (RFC 3463 3.6: X.5.x protocol status).
_DETAIL = {
    "250": "2.0.0", "251": "2.1.5", "252": "2.5.0", "221": "2.0.0", "235": "2.7.0",
    "421": "4.3.2", "450": "4.2.0", "451": "4.3.0", "452": "4.3.1", "454": "4.7.0",
    "500": "5.5.2", "501": "5.5.4", "502": "5.5.1", "503": "5.5.1", "504": "5.5.4",
    "530": "5.7.0", "535": "5.7.8", "538": "5.7.11", "550": "5.1.1", "552": "5.3.4",
    "553": "5.1.3", "554": "5.7.0", "555": "5.5.4",
}
_HAS_ENHANCED = re.compile(r"^\d{3}[ -][245]\.\d{1,3}\.\d{1,3}(?: |$)")
_PLAIN = re.compile(r"^(\d{3}) (.*)$", re.S)
# Replies that carry no enhanced code by design: greeting, HELP, AUTH challenges, the 354
# go-ahead (RFC 2034 4: only replies that end a transaction step carry one).
_EXEMPT = ("220", "214", "334", "354")


def queued(inbound_id: int) -> str:
    """The 250 for a committed message (pure)."""
    return QUEUED.format(inbound_id=inbound_id)


def enhanced(reply: str) -> str:
    """``reply`` with an RFC 3463 enhanced code: ours as they are, aiosmtpd's rewritten (pure)."""
    if reply in _STOCK:
        return _STOCK[reply]
    if _HAS_ENHANCED.match(reply):
        return reply
    match = _PLAIN.match(reply)
    if match is None or match.group(1) in _EXEMPT:
        return reply  # a continuation line ("250-...") or something we do not recognise
    code, text = match.groups()
    detail = _DETAIL.get(code, f"{code[0]}.0.0")
    return f"{code} {detail} {text.removeprefix('Error: ')}"
