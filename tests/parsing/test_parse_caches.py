"""The process-wide caches of reference search and of parse against the plain code.

``reference.collect`` remembers scans, Message-ID tokens and TokenCandidates, ``parse`` the
joined keyword windows: each answer, fresh or remembered, must be what the uncached code gives,
whatever came before (a cache key that leaves out one input shows up as a wrong second answer).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parsing import authresults, classify, reference
from parsing.model import Address, AutomationClass, ReferenceSource, TokenCandidate
from parsing.parser import (
    _JOIN_CACHE_SIZE,
    MAX_WINDOWS,
    _join_cache,
    joined_windows,
    joined_windows_uncached,
    keyword_windows,
)
from tests.conftest import KEY
from tests.parsing.generated import examples

SETTINGS = examples(300)
TOKEN = reference.format_token("CASE-1001", KEY)
OTHER = reference.format_token("TSUP-7", KEY)
PIECES = st.lists(
    st.sampled_from([
        "ref:", "REF#", "ref: ", "CASE-1001", "case", "ticket #", "100100", ":", " ", "\n", "  ",
        "x", "é", "\u017f", TOKEN, OTHER, TOKEN[5:], "TSUP-1234", "case 123456",
    ]),
    max_size=10,
).map("".join)  # fmt: skip
IDS = st.lists(
    st.sampled_from([
        reference.make_message_id("CASE-1001", KEY, "desk.example"),
        "ref.CASE-1001.aaaaaaaaaaaaaaaa.1@desk.example",
        reference.make_message_id("TSUP-7", b"other-key-other-key-other-key-!!", "desk.example"),
        "x@client.example",
    ]),
    max_size=3,
).map(tuple)  # fmt: skip
KEYS = st.sampled_from([KEY, None, b"other-key-other-key-other-key-!!"])


def collect_uncached(
    thread_ids: tuple[str, ...], subject: str, body: str, key: bytes | None
) -> tuple[tuple[TokenCandidate, ...], tuple[str, ...]]:
    """reference.collect as it was before its caches."""
    found, mentioned = reference.scan_uncached(subject, body)
    ids = tuple(dict.fromkeys(thread_ids))
    unique = dict.fromkeys(
        [(t.number, t.mac, t.source) for t in reference.find_in_message_ids(ids)] + list(found)
    )
    tokens = tuple(
        TokenCandidate(n, m, s, None if key is None else reference.verify(TokenCandidate(n, m, s),
                                                                          key))
        for n, m, s in unique
    )
    tokened = {t.number for t in tokens}
    return tokens, tuple(n for n in mentioned if n not in tokened)


@SETTINGS
@given(st.lists(st.tuples(IDS, PIECES, PIECES, KEYS), min_size=1, max_size=6))
def test_collect_with_caches_answers_as_without(calls: list) -> None:
    for thread_ids, subject, body, key in calls + calls:  # the second round from the caches
        assert reference.collect(thread_ids=thread_ids, subject=subject, body=body, key=key) == (
            collect_uncached(thread_ids, subject, body, key)
        )


def test_scan_uncached_is_the_three_scan_search() -> None:
    found, mentioned = reference.scan_uncached("Re: x " + TOKEN, f"see {OTHER}, case 123456")
    assert found == (
        ("CASE-1001", TOKEN[15:-1], ReferenceSource.SUBJECT),
        ("TSUP-7", OTHER[12:-1], ReferenceSource.BODY),
    )
    assert mentioned == ("123456",)


def test_caches_stay_bounded_and_skip_long_inputs() -> None:
    for n in range(reference._CACHE_SIZE + 10):
        reference.collect(thread_ids=(f"{n}@x",), subject=str(n), body=TOKEN, key=KEY)
        joined_windows(str(n), "")
    assert len(reference._scan_cache) <= reference._CACHE_SIZE
    assert len(reference._id_cache) <= reference._CACHE_SIZE
    assert len(reference._candidate_cache) <= reference._CACHE_SIZE
    assert len(_join_cache) <= _JOIN_CACHE_SIZE
    long_body = "case 123456 " * 1000
    reference.collect(thread_ids=(), subject="", body=long_body, key=KEY)
    joined_windows(long_body, "")
    assert ("", long_body) not in reference._scan_cache
    assert (long_body, "") not in _join_cache


@SETTINGS
@given(st.lists(st.tuples(PIECES, PIECES), min_size=1, max_size=6))
def test_joined_windows_with_cache_answers_as_without(pairs: list[tuple[str, str]]) -> None:
    for body, extra in pairs + pairs:
        assert joined_windows(body, extra) == (
            joined_windows_uncached(body, extra)
        )


# Spelled out, not taken from classify: a gate missing there must still be generated here.
FIELDS = [
    "x-ticketgate-loop", "x-failed-recipients", "auto-submitted", "x-autoreply", "x-autorespond",
    "x-autoresponder", "x-auto-reply", "precedence", "x-ms-exchange-inbox-rules-loop",
    "x-auto-response-suppress", "list-id", "list-unsubscribe", "list-post", "list-help",
    "list-subscribe", "list-owner", "list-archive", "x-mailing-list", "mailing-list",
    "feedback-id", "list-unsubscribe-post", "x-campaign", "x-campaign-id", "x-mc-user",
    "x-csa-complaints", "received", "subject", "return-path", "x-mailer",
]  # fmt: skip
FIELD_VALUES = st.sampled_from(["", "yes", "no", "auto-replied", "bulk", "list, junk", "auto_reply",
                                "All", "OOF", "<>", "1"])
SENDERS = st.sampled_from([
    None, Address("alice@acme.example", "Alice"), Address("mailer-daemon@mx.example", ""),
    Address("no-reply@amazonses.com", ""),
    Address("x@eu-west-1.amazonaws.com", "Mail Delivery System"),
])
SUBJECTS = st.sampled_from([
    "", "Re: Printer on fire", "Undelivered Mail Returned to Sender", "Out of office",
    "Automatic reply: x", "Returned mail: see transcript", "Delivery failure",
    "Please confirm your e-mail", "Jane is out of the office.", "Mail could not be delivered",
])
TEXTS = st.sampled_from([
    "", "hello", "This is the qmail-send program at x", '{"notificationType":"Bounce"}',
    "The following address(es) failed:", '{"notificationType":"Complaint"}',
    "This message was created automatically by mail delivery software.",
    "please confirm that you are human", "click the link below to verify your address",
])


@SETTINGS
@given(
    st.dictionaries(st.sampled_from(FIELDS), st.lists(FIELD_VALUES, min_size=1, max_size=2),
                    max_size=4),
    st.sampled_from(["text/plain", "multipart/report", "multipart/alternative"]),
    st.sampled_from(["", "delivery-status", "feedback-report", "disposition-notification"]),
    SENDERS, SUBJECTS, TEXTS, st.sampled_from([1, 30]),
)
def test_classify_skipping_gated_rules_answers_as_trying_all(
    fields: dict[str, list[str]], content_type: str, report_type: str, sender: Address | None,
    subject: str, text: str, hops: int,
) -> None:
    facts = classify.Facts(headers=fields, subject=subject, sender=sender, message_id=None,
                           content_type=content_type, report_type=report_type, text_head=text,
                           hops=hops)
    hits = [(r.name, cls) for r, cls in classify.RULES if r.check(facts)]
    classes = {cls for _, cls in hits}
    winner = next((c for c in classify.PRECEDENCE if c in classes), AutomationClass.HUMAN)
    assert classify.classify(facts) == (winner, tuple(name for name, _ in hits))



def keyword_windows_sorting_spans(body: str) -> str:
    """parse.keyword_windows as it was: (start, end) spans sorted, then merged."""
    if "\u0130" in body:
        return body
    lowered = (body.lower() if "\u212a" in body else body).encode("ascii", "replace").lower()
    spans = []
    for keyword in (b"ref", b"case", b"tsup", b"ticket"):
        index = lowered.find(keyword)
        for _ in range(MAX_WINDOWS):
            if index < 0:
                break
            spans.append((max(0, index - 8), index + 80))
            index = lowered.find(keyword, index + 1)
    if not spans:
        return ""
    spans.sort()
    merged = [list(spans[0])]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return "\n\n".join(body[start:end] for start, end in merged)


WINDOW_TEXT = st.lists(
    st.one_of(
        st.sampled_from(["ref", "REF", "case", "CaSe", "tsup", "ticket", "tickett", "\u212a",
                         "\u017f", "é", "—", "\n", "icket", "ticketicket", "refref", "tsupt"]),
        st.integers(0, 120).map(lambda n: "x" * n),
        st.text(max_size=5),
    ),
    max_size=30,
).map("".join)


@SETTINGS
@given(WINDOW_TEXT)
def test_keyword_windows_merge_in_one_pass_as_sorted_spans(body: str) -> None:
    assert keyword_windows(body) == keyword_windows_sorting_spans(body)


def test_keyword_windows_keep_at_most_max_windows_a_keyword() -> None:
    body = "case " * (MAX_WINDOWS + 50) + "x" * 200 + "ref"
    assert keyword_windows(body) == keyword_windows_sorting_spans(body)
    for word in ("ref", "tsup", "ticket", "ticke"):  # found by split, and by find (overlapping)
        body = word * (MAX_WINDOWS + 50) + "x" * 200 + "case" + "t"
        assert keyword_windows(body) == keyword_windows_sorting_spans(body), word


def test_keyword_windows_that_touch_or_overlap_merge_as_sorted_spans() -> None:
    for gap in range(70, 100):  # windows [i - 8, i + 80]: apart, touching, overlapping
        for first, second in (("case", "ref"), ("REF", "ticket"), ("tsup", "tsup")):
            body = "ab" + first + "y" * gap + second + "z" * 90
            assert keyword_windows(body) == keyword_windows_sorting_spans(body), (gap, first)


CLAUSES = st.lists(
    st.sampled_from([" ", "dmarc", "spf", "dkim", "=", "pass", "fail", "header.from", "header.d",
                     "smtp.mailfrom", "acme.example", "@acme.example", "a@b.example", "reason",
                     "/1", ".", "x"]),
    max_size=10,
).map("".join)


@SETTINGS
@given(st.lists(CLAUSES, min_size=1, max_size=6))
def test_authresults_clause_with_cache_answers_as_without(clauses: list[str]) -> None:
    for clause in clauses + clauses:
        assert authresults.clause_of(clause) == authresults.clause_uncached(clause)
    assert authresults.clause_of(" dmarc=pass header.from=acme.example") == (
        "dmarc", "pass", "acme.example")
