"""The fast Authentication-Results reader: what it reads, what it leaves to authres, and that
where it answers, authres would have answered the same."""

from __future__ import annotations

import pytest

from parsing import headers, parse
from parsing.authresults import read
from parsing.model import AuthResult


def test_comment_containing_a_semicolon_is_not_a_clause_boundary():
    text = "mx.example; spf=pass (mx.example: ok; really) smtp.mailfrom=a.example; dmarc=fail " \
           "header.from=a.example"
    assert read(text) == ("mx.example", [("fail", "a.example")])


def test_nested_comments_are_skipped_whole():
    text = "mx.example; dmarc=pass (p=NONE (sp=NONE) dis=NONE) header.from=a.example"
    assert read(text) == ("mx.example", [("pass", "a.example")])


def test_every_dmarc_verdict_is_kept_in_order():
    text = "mx.example; dmarc=pass header.from=a.example; dmarc=FAIL header.from=B.Example."
    assert read(text) == ("mx.example", [("pass", "a.example"), ("fail", "b.example")])


def test_header_without_dmarc_clause_has_no_verdict():
    assert read("mx.example; spf=pass smtp.mailfrom=a@b.example; dkim=none") == ("mx.example", [])


def test_version_after_authserv_id_is_accepted():
    assert read("MX.Example 1; dmarc=pass header.from=a.example") == (
        "mx.example", [("pass", "a.example")])


def test_dmarc_verdict_without_header_from_has_no_domain():
    assert read("mx.example; dmarc=none") == ("mx.example", [("none", None)])


def test_lone_none_result_is_no_verdict():
    assert read("mx.example; none") == ("mx.example", [])


@pytest.mark.parametrize("text", [
    'mx.example; dmarc=fail reason="bad" header.from=a.example',  # quoted string
    "mx.example; dmarc=fail (unclosed header.from=a.example",
    "mx.example; dmarc=fail header.from=a.example)",
    "mx.example 2; dmarc=pass",  # a version authres does not support
    "mx.example; dmarc=pass;",  # empty clause
    "mx.example; ; dmarc=pass",
    "mx.example dmarc=pass",
    "mx.example",
    ";;; ===",
    "",
    "mx.example; spf=pass smtp.mailfrom=@@@; dmarc=fail header.from=a.example",
    "mx.example; dmarc=pass header.from=a.example,b.example",
    "mx.example; dmarc=pass reason=ok header.from=a.example",
    "mx.example; none; dmarc=fail",
    "mx.example; dmarc=pass header.from=\u00e9.example",
])
def test_declines_what_it_does_not_read(text: str) -> None:
    assert read(text) is None


@pytest.mark.parametrize("text", [
    "mx.desk.example; dkim=pass header.d=acme.example header.s=20230601 header.b=Xq3hJ0mX; "
    "spf=pass (mx.desk.example: domain of alice@acme.example designates 209.85.128.170 as "
    "permitted sender) smtp.mailfrom=alice@acme.example; dmarc=pass (p=QUARANTINE) "
    "header.from=acme.example",
    "spamfilter.example.net 1; dmarc=pass header.from=relay.example",
    "mx(c)1; dmarc / 1 = pass header . from = @acme.example",
    "mx.example; DMARC=Fail policy.dmarc=reject header.from=a@b.example header.from=c.example",
    "mx.example; x-hmca=none header.id=postmaster@mail.example; dmarc=pass header.from=x.example",
    "mx.example; dmarc=pass foo.bar=baz header.from=x.example",
    "mx.example; none",
])
def test_agrees_with_authres(text: str) -> None:
    """Where the fast reader answers, the authres path it replaces gives the same answer."""
    fast = read(text)
    assert fast is not None
    assert fast == headers._authres_header(text)


def test_declined_header_is_still_read_by_authres():
    raw = (b'Authentication-Results: mx.example; dkim=fail reason="bad sig" header.d=a.example; '
           b"dmarc=fail header.from=a.example\nFrom: a@a.example\n\nbody\n")
    assert parse(raw).auth_results == (AuthResult("mx.example", "fail", "a.example"),)
