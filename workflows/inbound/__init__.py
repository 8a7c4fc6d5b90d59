"""Inbound: from committed raw bytes to an applied decision.

Place in the flow: ``intake`` commits what SMTP, IMAP or the CLI received; ``dispatch`` hands
ids to a worker; ``process`` parses (``parsing``), takes a ``snapshot``, lets the pure
``decide`` choose a ``decision`` and has ``apply`` carry it out in one transaction; ``triage``
holds what no rule could place.
"""
