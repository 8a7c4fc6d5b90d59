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


def ambiguity(mail: ParsedMail, trusted: tuple[str, ...] = ()) -> str | None:
    """Why we cannot tell who wrote ``mail`` (RFC 5322 3.6.2), or None when it is one person.
    ``trusted``: the lower-case authserv-ids whose Authentication-Results we believe."""
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
    return verifier_disagrees(mail, trusted)


def verifier_disagrees(mail: ParsedMail, trusted: tuple[str, ...]) -> str | None:
    """A trusted verifier judged DMARC for a From domain that is not the one we read.

    DMARC is about the RFC5322.From domain (RFC 7489 3.1, 6.6.1), and our MX says which one it
    evaluated in ``header.from`` (RFC 8601 2.7.2). When that is not the domain we parsed, the
    two parsers read one From two ways -- an obsolete route (``<@evil.example:alice@acme>``,
    RFC 5322 4.4), a group, a quoted local part holding an "@" -- and a verdict about the
    attacker's own domain (pass) would vouch for the designated contact we see ("Composition
    Kills", USENIX Security 2020). We cannot say who wrote it."""
    if not trusted:
        return None
    domains = {_a_label(author.domain) for author in mail.authors}
    for result in mail.auth_results:
        about = (result.header_from or "").lower()
        if result.dmarc is None or not about or result.authserv_id.lower() not in trusted:
            continue
        if _a_label(about) not in domains:
            ours = ", ".join(sorted(domains)) or "none"
            return (f"{result.authserv_id} judged DMARC for {about}, but the From we read is "
                    f"at {ours}")
    return None


def _a_label(domain: str) -> str:
    """``domain`` in ASCII (IDNA A-labels, RFC 5890): a verifier may name an internationalized
    From domain either way (``bücher.example`` or ``xn--bcher-kva.example``), and the two are
    one domain, not two readings of the From."""
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError:  # not a valid IDN (an empty label, too long): compare as written
        return domain
