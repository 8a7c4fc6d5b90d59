"""The case state machine: the one place that says "Awaiting Info + customer reply -> Open".

Place in the flow: ``workflows.inbound.decide`` asks it what a customer reply does; the case
services (analyst posts, close, reopen) ask it what their event does. An auto-reply or a bounce is
not a ``CUSTOMER_REPLIED`` event and never reaches this table.
"""

from __future__ import annotations

from enum import StrEnum

from workflows.domain import CaseStatus

OPEN, AWAITING, PROPOSED, CLOSED = (
    CaseStatus.OPEN,
    CaseStatus.AWAITING_INFO,
    CaseStatus.SOLUTION_PROPOSED,
    CaseStatus.CLOSED,
)


class CaseEvent(StrEnum):
    CUSTOMER_REPLIED = "customer_replied"
    ANALYST_POSTED = "analyst_posted"
    ANALYST_REQUESTED_INFO = "analyst_requested_info"
    ANALYST_PROPOSED_SOLUTION = "analyst_proposed_solution"
    CLOSED = "closed"
    REOPENED = "reopened"
    FOLLOW_UP_EXPIRED = "follow_up_expired"


class InvalidTransition(ValueError):
    pass


_ACTIVE = (OPEN, AWAITING, PROPOSED)

TRANSITIONS: dict[tuple[CaseStatus, CaseEvent], CaseStatus] = {
    **{(s, CaseEvent.CUSTOMER_REPLIED): OPEN for s in _ACTIVE},
    **{(s, CaseEvent.ANALYST_POSTED): s for s in _ACTIVE},
    **{(s, CaseEvent.ANALYST_REQUESTED_INFO): AWAITING for s in _ACTIVE},
    **{(s, CaseEvent.ANALYST_PROPOSED_SOLUTION): PROPOSED for s in _ACTIVE},
    **{(s, CaseEvent.CLOSED): CLOSED for s in _ACTIVE},
    (CLOSED, CaseEvent.REOPENED): OPEN,
    (AWAITING, CaseEvent.FOLLOW_UP_EXPIRED): CLOSED,
    (PROPOSED, CaseEvent.FOLLOW_UP_EXPIRED): CLOSED,
}


def next_status(status: CaseStatus, event: CaseEvent) -> CaseStatus:
    """The status after ``event``; raises ``InvalidTransition`` when the event is not allowed."""
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise InvalidTransition(
            f"a case that is {status.value} cannot take '{event.value}'"
        ) from None
