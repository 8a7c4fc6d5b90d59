"""Why a message waits in triage: the one list of triage reasons, each with its words.

Place in the flow: ``gateway.http.render`` shows the words on the console's triage pages,
``gateway.http.api`` gives them as ``why``, and ``gateway.http.queries`` counts the pending
items of every reason listed here (zero included). A module of plain strings, so the queries
(which the command line imports too) need not import the console's Jinja2 environment.
"""

from __future__ import annotations

# Why a message waits in triage, in words (workflows.domain.Reason values).
REASON_TEXT: dict[str, str] = {
    "unauthorized_sender": "A valid reply, but from someone who may not update that case.",
    "spoofed_sender": "A trusted receiving server says DMARC failed for the sender's domain.",
    "invalid_reference": "It carries a case reference whose signature does not verify.",
    "unknown_case": "It carries a valid reference to a case that does not exist.",
    "no_reference": "It mentions a case number but carries no reference.",
    "new_mail": "New mail without a case reference, to a mailbox that sends new mail to "
                "triage.",
    "unknown_sender": "New mail from someone who is not a designated contact.",
    "new_case_flood": "New mail from a designated contact whose mail already opened its "
                      "limit of cases lately (new_cases_per_sender): most likely another "
                      "desk's autoresponder answering our acknowledgements, so it was not "
                      "acknowledged. Discard it, or, if a person wrote it, open it as a case "
                      "or link it to the suggested one (that sender's latest).",
    "reopen_request": "A reply to a case closed recently: reopen it, or open a new case.",
    "closed_too_long": "A reply to a case closed too long ago to reopen; the sender was asked "
                       "to open a new case.",
    "ambiguous_sender": "Several From mailboxes, or a Sender not aligned with the From: whose "
                        "mail it is cannot be told.",
    "notice_inquiry": "A question about a service notice it quotes.",
}

TRIAGE_REASONS = frozenset(REASON_TEXT)
