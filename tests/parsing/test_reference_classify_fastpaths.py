"""Fast paths of reference search and classification against the plain code they replace.

Each test keeps the straightforward version (three TOKEN_RE scans, one AUTO_SUBJECT search, the
CHALLENGE_SUBJECT search of every subject) as its reference and checks that the shortcut gives
the same answer.
"""

from __future__ import annotations

import re
import sys

from hypothesis import given
from hypothesis import strategies as st

from parsing import classify, reference
from parsing import classify_words as words
from parsing.model import ReferenceSource, TokenCandidate
from tests.conftest import KEY
from tests.parsing.generated import examples

SETTINGS = examples(300)
TOKEN = reference.format_token("CASE-1001", KEY)
PIECES = st.lists(
    st.sampled_from([
        "ref:", "REF#", "ref: ", "CASE-1001", "case", "ticket #", "100100", ":", ".", " ", "\n",
        "x", "é", "İ", "\u017f", TOKEN, TOKEN[5:], "ckkzpityypjsdydl", "]", "TSUP-1234",
    ]),
    max_size=12,
).map("".join)  # fmt: skip


def collect_in_three_scans(
    subject: str, body: str, key: bytes | None
) -> tuple[tuple[TokenCandidate, ...], tuple[str, ...]]:
    """reference.collect as it was: the subject, the body and their join each scanned apart."""
    found = (
        reference.find_in_message_ids(())
        + reference.find_tokens(subject, ReferenceSource.SUBJECT)
        + reference.find_tokens(body, ReferenceSource.BODY)
    )
    unique: dict[tuple[str, str, ReferenceSource], TokenCandidate] = {}
    for token in found:
        unique.setdefault((token.number, token.mac, token.source), token)
    tokens = tuple(
        TokenCandidate(t.number, t.mac, t.source, reference.verify(t, key)) if key else t
        for t in unique.values()
    )
    stripped = reference.TOKEN_RE.sub(" ", subject + "\n" + body)
    tokened = {t.number for t in tokens}
    bare = tuple(n for n in reference.find_bare_numbers(stripped) if n not in tokened)
    return tokens, bare


@SETTINGS
@given(PIECES, PIECES, st.sampled_from([KEY, None]))
def test_collect_scans_once_what_three_scans_find(
    subject: str, body: str, key: bytes | None
) -> None:
    """One TOKEN_RE scan of subject + body, a token across the join included ("ref:" + "\\n")."""
    got = reference.collect(thread_ids=(), subject=subject, body=body, key=key)
    assert got == collect_in_three_scans(subject, body, key)


def test_a_token_across_subject_and_body_is_no_bare_number() -> None:
    """The join's "\\n" is the token's optional space: the number is a reference, not a mention."""
    tokens, bare = reference.collect(
        thread_ids=(), subject="x ref:", body=TOKEN[5:], key=KEY
    )
    assert (tokens, bare) == ((), ())


def test_ascii_folded_folds_every_letter_re_ignorecase_reads_as_ascii() -> None:
    """Every character re.I matches to an ASCII letter folds to that letter, and only those."""
    letter = re.compile("[a-z]", re.I)
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        folded = reference.ascii_folded(char)
        if letter.fullmatch(char):
            assert re.fullmatch(folded.decode(), char, re.I), hex(code)
        else:
            assert not folded.isalpha(), hex(code)


SUBJECTS = st.lists(
    st.sampled_from([
        "Re: ", "Jane ", "is out of ", "the ", "office", "Office.", "\u0130S OUT OF ", "\xa0",
        "Automatic reply: ", "Abwesenheitsnotiz", " ", ":", "(", "please ", "verify ", "your ",
        "VER\u0130FY ", "confirm ", "Spam Arrest", "awaiting your approval", "challenge-response",
        "tmda", "boxbe", "Are you human", "x", "\u017f",
    ]),
    max_size=8,
).map("".join)  # fmt: skip
ONE_AUTO_SUBJECT = re.compile(
    words.AUTO_SUBJECT.pattern + "|" + words.NOTES_AWAY_SUBJECT.pattern, re.I
)


def facts(subject: str, text_head: str = "") -> classify.Facts:
    return classify.Facts(headers={}, subject=subject, sender=None, message_id=None,
                          content_type="text/plain", report_type="", text_head=text_head, hops=1)


@SETTINGS
@given(SUBJECTS)
def test_auto_subject_rule_matches_one_search_of_the_whole_pattern(subject: str) -> None:
    """AUTO_SUBJECT matched at the start, the Notes wording searched only after "is out of "."""
    rule = next(r for r, _ in classify.RULES if r.name == "auto_reply_subject")
    assert rule.check(facts(subject)) == (ONE_AUTO_SUBJECT.search(subject) is not None)


@SETTINGS
@given(SUBJECTS)
def test_challenge_rule_matches_searching_every_subject(subject: str) -> None:
    """CHALLENGE_SUBJECT_HINT spares the search only where CHALLENGE_SUBJECT cannot match."""
    rule = next(r for r, _ in classify.RULES if r.name == "challenge_response")
    text = "Please confirm that you are human."
    expected = words.CHALLENGE_SUBJECT.search(subject) is not None
    assert rule.check(facts(subject, text)) == expected


REMEMBERED = [
    (words.bounce_name, words.BOUNCE_NAMES.match),
    (words.bounce_subject, words.BOUNCE_SUBJECT.match),
    (words.weak_bounce_subject, words.WEAK_BOUNCE_SUBJECT.match),
    (words.machine_local_part, words.MACHINE_LOCAL_PART.search),
    (words.daemon_local_part, words.DAEMON_LOCAL_PART.search),
    (words.reply_prefix, words.REPLY_PREFIX.match),
    (words.report_subject_words, words.REPORT_SUBJECT_WORDS.search),
    (words.auto_subject, words.AUTO_SUBJECT.match),
    (words.notes_away_subject, words.NOTES_AWAY_SUBJECT.search),
    (words.challenge_subject, words.CHALLENGE_SUBJECT.search),
]
SUBJECTS = st.lists(st.sampled_from([
    "Re: ", "Undelivered Mail Returned to Sender", "Out of Office", "is out of the office",
    "mailer-daemon", "postmaster", "Delivery Status Notification (Failure)", "Please confirm",
    "Automatic reply: ", "Fwd:", " ", "x", "é", TOKEN, "Mail Delivery System", "bounce",
]) | st.text(max_size=3), max_size=8).map("".join)


@SETTINGS
@given(SUBJECTS)
def test_remembered_rule_patterns_answer_as_the_patterns(text: str) -> None:
    """Each remembered subject and sender test is its pattern's answer, asked twice (the second
    from the cache), for short and over-long texts."""
    for text_ in (text, text * 200):
        for remembered_, plain in REMEMBERED:
            assert remembered_(text_) == (plain(text_) is not None)
            assert remembered_(text_) == (plain(text_) is not None)
        folded = reference.ascii_folded(text_)
        want = words.CHALLENGE_SUBJECT_HINT.search(folded) is not None
        assert words.challenge_subject_hint(folded) == want
        assert words.challenge_subject_hint(folded) == want
