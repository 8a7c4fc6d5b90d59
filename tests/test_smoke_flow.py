"""The customer's path end to end: an analyst asks, the customer replies, the case reopens."""

from tests.support import ingest, open_case, post, reply_to


def test_reply_to_awaiting_info_links_and_reopens(rt, people):
    """The heart of the product: a reply carrying the reference lands on its case."""
    number = open_case(rt)
    sent = post(rt, number)
    result = ingest(rt, reply_to(sent, sender=people["alice"]))
    assert (result.outcome, result.reason, result.case_number, result.case_status) == (
        "linked", "reply", number, "open")
