"""Who wrote a message, as far as routing can tell: one author, or an ambiguous one.

Place in the flow: ``workflows.inbound.decide`` asks ``ambiguity(mail)`` before a mail may touch a
case (the ``ambiguous_sender`` rule, and the sender check of replies and automated mail). Pure: the
parsed mail in, a sentence for the trace (or None) out.

RFC 5322 3.6.2: From names the author(s); Sender the mailbox that actually sent the message,
required when From names several. A case is updated on behalf of one designated contact, so
several authors, or a Sender from another organization, leave us unable to say whose update it
is; the mail goes to an admin instead.
"""

from __future__ import annotations

from parsing import ParsedMail


def aligned(a: str, b: str) -> bool:
    """Relaxed identifier alignment (RFC 7489 3.1.1), without a public-suffix list: the same
    domain, or one a subdomain of the other. Stricter than DMARC for sibling subdomains."""
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def ambiguity(mail: ParsedMail) -> str | None:
    """Why we cannot tell who wrote ``mail`` (RFC 5322 3.6.2), or None when it is one person."""
    if mail.from_fields > 1:
        return f"{mail.from_fields} From fields: whose mail is it?"
    if len(mail.authors) > 1:
        return f"From names {len(mail.authors)} mailboxes: whose mail is it?"
    if len(mail.sender_field) > 1:
        return f"Sender names {len(mail.sender_field)} mailboxes"
    if mail.sender_field and mail.from_ is not None:
        sender = mail.sender_field[0]
        if sender.email != mail.from_.email and not aligned(sender.domain, mail.from_.domain):
            return f"Sender {sender.email} does not align with From {mail.from_.email}"
    return None
