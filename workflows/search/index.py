"""Keep the search documents current: one per case, one per update, written in the same
transaction as the case or update they describe.

Place in the flow: ``workflows.cases.service.open_case`` calls ``index_case``;
``workflows.inbound.apply`` (customer mail), ``workflows.cases.service.post_update`` (an analyst's
mail) and ``workflows.cases.notes`` (internal notes) call ``index_update`` right after adding the
update. The database keeps the full-text index of these rows itself (FTS5 triggers on SQLite, a
generated ``tsvector`` column on PostgreSQL), so a committed update is searchable and a rolled-back
one never was. ``reindex`` (``ticketgate search reindex``) rebuilds every document from the cases
and updates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from workflows.storage.fulltext import FTS_TABLE
from workflows.storage.models import Case, CaseUpdate, Contact, Organization, SearchDocument

# A body is indexed up to this many characters: PostgreSQL refuses a tsvector over 1 MB, and
# nobody searches for the 100,001st character of a mail.
MAX_BODY = 100_000


def _people(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def _case_fields(session: Session, case: Case) -> dict[str, str]:
    contact = session.get(Contact, case.contact_id) if case.contact_id else None
    org = session.get(Organization, case.organization_id)
    return {"number": case.number, "subject": case.subject or "",
            "people": _people(contact.email, contact.name) if contact else "",
            "organization": org.name if org else ""}


def index_case(session: Session, case: Case) -> None:
    """Add or refresh the case's own document (number, subject, contact, organization)."""
    fields = _case_fields(session, case)
    doc = session.scalars(select(SearchDocument).where(SearchDocument.case_id == case.id,
                                                       SearchDocument.update_id.is_(None))
                          ).first()
    if doc is None:
        session.add(SearchDocument(case_id=case.id, update_id=None, body="",
                                   created_at=case.created_at, **fields))
        return
    for name, value in fields.items():
        setattr(doc, name, value)


def update_document(update: Mapping[str, Any], update_id: int) -> dict[str, Any]:
    """The search document's columns for the case update whose columns are ``update``."""
    return {"case_id": update["case_id"], "update_id": update_id, "number": "", "subject": "",
            "people": _people(update["author"], update.get("author_name")),
            "organization": "", "body": (update.get("visible_text") or "")[:MAX_BODY],
            "created_at": update["created_at"]}


def index_update(session: Session, update: CaseUpdate) -> None:
    """Add the document of a new update: its visible text and who wrote it. (Processing's
    batch writes its replies' documents without the ORM: ``workflows.inbound.apply``.)"""
    if update.id is None:
        session.flush()
    session.add(SearchDocument(**update_document(
        {"case_id": update.case_id, "author": update.author, "author_name": update.author_name,
         "visible_text": update.visible_text, "created_at": update.created_at}, update.id)))


def refresh_organization(session: Session, organization_id: int, name: str) -> None:
    """An organization was renamed (``org set --rename``): its cases' documents follow."""
    session.execute(update(SearchDocument).where(
        SearchDocument.update_id.is_(None),
        SearchDocument.case_id.in_(select(Case.id).where(
            Case.organization_id == organization_id))).values(organization=name))


@dataclass(frozen=True, slots=True)
class Reindexed:
    cases: int
    updates: int


def reindex(session: Session) -> Reindexed:
    """Rebuild every document from the cases and their updates (one transaction)."""
    session.execute(delete(SearchDocument))
    cases = 0
    for case in session.scalars(select(Case).order_by(Case.id)).yield_per(1000):
        index_case(session, case)
        cases += 1
    session.flush()
    inserted = session.execute(text(
        "INSERT INTO search_documents (case_id, update_id, number, subject, people, "
        "organization, body, created_at) "
        "SELECT case_id, id, '', '', trim(author || ' ' || coalesce(author_name, '')), '', "
        "substr(visible_text, 1, :max_body), created_at FROM case_updates"),
        {"max_body": MAX_BODY})
    updates = int(getattr(inserted, "rowcount", 0))  # a CursorResult: INSERT ... SELECT
    if session.get_bind().dialect.name == "sqlite":
        # Merge the index's segments into one: the fastest shape to query (FTS5 6.8).
        session.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')"))
    return Reindexed(cases, updates)
