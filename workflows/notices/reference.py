"""Notice reference numbers and the Message-IDs of notice deliveries. Pure.

Place in the flow: ``service.create_notice`` formats a reference (``MNT-2026-0042``) for every
notice; ``mailings`` gives every delivery a Message-ID that carries it;
``workflows.inbound.snapshot`` looks for references in inbound mail (``find_references``,
``references_in_thread``) so a reply or a new mail quoting one lands on that notice as an inquiry.

Unlike case tokens, notice references are not signed: quoting one never links or changes
anything, it only puts the mail in triage next to the notice, so a guessed reference gains
nothing.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

REFERENCE_RE = re.compile(r"\b(MNT|EMG|INC|ADV)-(\d{4})-(\d{4,6})\b", re.I)
_THREAD_RE = re.compile(r"^notice\.((?:MNT|EMG|INC|ADV)-\d{4}-\d{4,6})\.", re.I)
SCAN_LIMIT = 100_000  # characters of a body searched: enough for any quote, bounded for a flood


def format_reference(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year:04d}-{number:04d}"


# What every reference contains. A pattern that starts with a literal is searched for that
# character in C, where the case-insensitive alternation of REFERENCE_RE tries each position.
_NUMBERS_RE = re.compile(r"-\d{4}-\d{4}")


def find_references(*texts: str) -> list[str]:
    """References mentioned in ``texts``, upper-cased and de-duplicated, in order."""
    seen: dict[str, None] = {}
    for text in texts:
        text = text[:SCAN_LIMIT]
        # Every inbound mail is searched and almost none quotes a notice. The check can only
        # pass more texts than REFERENCE_RE matches, never fewer; it replaced an upper-cased
        # copy searched for each prefix (13 -> 1.3 us a bench mail, CPU).
        if _NUMBERS_RE.search(text) is None:
            continue
        for match in REFERENCE_RE.finditer(text):
            seen.setdefault(match.group(0).upper(), None)
    return list(seen)


def references_in_thread(message_ids: Iterable[str]) -> list[str]:
    """References carried by our notice Message-IDs among In-Reply-To/References values."""
    found: dict[str, None] = {}
    for value in message_ids:
        match = _THREAD_RE.match(value.strip().strip("<>"))
        if match:
            found.setdefault(match.group(1).upper(), None)
    return list(found)


def thread_root(reference: str, domain: str) -> str:
    """The Message-ID (no angle brackets) every mailing of one notice names in References:
    ``notice.REF.thread@domain``. No mail carries it as its own Message-ID (each delivery has
    its own); it is the common parent that threads the alert, its follow-ups, the all-clear
    and the RCA together in mail programs that thread by References (RFC 5322 3.6.4), as
    GitHub's notifications name their issue. Its ``notice.REF.`` start is what
    ``references_in_thread`` reads, so a reply that keeps only References finds its notice."""
    return f"notice.{reference}.thread@{domain}"


def make_message_id(reference: str | None, domain: str) -> str:
    """A fresh Message-ID (no angle brackets) for one delivery: ``notice.REF.RANDOM@domain``,
    so a reply that keeps only In-Reply-To still finds its notice (RFC 5322 3.6.4)."""
    return f"notice.{reference or 'report'}.{secrets.token_hex(10)}@{domain}"
