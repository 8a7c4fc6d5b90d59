"""The case fields a saved reply may name as ``{placeholder}``, each with what it stands for.

Place in the flow: ``workflows.cases.saved_replies`` checks and fills them; ``ticketgate reply
set --help`` (``gateway.cli.groups``) and the API list them. A module of its own, with no
imports, so that building the command line's parser does not import the saved-reply service
(SQLAlchemy and the case services, ~0.9 s of CPU with the parser).
"""

PLACEHOLDERS: dict[str, str] = {
    "number": "the case number (CASE-1001)",
    "subject": "the case's subject",
    "contact_name": "the contact's name (else their address)",
    "contact_email": "the contact's address",
    "organization": "the organization's name",
    "severity": "the severity (medium)",
    "type": "the case type",
    "status": "the status (open, awaiting_info, ...)",
    "owner": "the owner's address (else 'the care team')",
}
