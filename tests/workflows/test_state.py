"""The case state machine: the one table of allowed status changes."""

import pytest

from workflows.cases.state import TRANSITIONS, CaseEvent, InvalidTransition, next_status
from workflows.domain import CaseStatus


@pytest.mark.parametrize("status", [CaseStatus.AWAITING_INFO, CaseStatus.SOLUTION_PROPOSED])
def test_customer_reply_reopens(status):
    """Awaiting Info and Solution Proposed flip back to Open on a customer reply."""
    assert next_status(status, CaseEvent.CUSTOMER_REPLIED) is CaseStatus.OPEN


def test_customer_reply_cannot_touch_closed_case():
    """Only an admin reopens a closed case; mail never does."""
    with pytest.raises(InvalidTransition):
        next_status(CaseStatus.CLOSED, CaseEvent.CUSTOMER_REPLIED)


def test_follow_up_expiry_only_closes_waiting_cases():
    """The 10-day auto-close applies to cases waiting on the customer, not to open ones."""
    assert (CaseStatus.OPEN, CaseEvent.FOLLOW_UP_EXPIRED) not in TRANSITIONS


def test_closed_case_reopens_to_open():
    """Reopen is the only way out of Closed."""
    assert next_status(CaseStatus.CLOSED, CaseEvent.REOPENED) is CaseStatus.OPEN
    assert [k for k in TRANSITIONS if k[0] is CaseStatus.CLOSED] == [
        (CaseStatus.CLOSED, CaseEvent.REOPENED)]
