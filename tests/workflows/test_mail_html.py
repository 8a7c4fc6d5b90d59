"""Every outbound kind's HTML reads right (issue 11 §2): the text/html part of the message as
built for sending, read with an HTML parser, shows no markup as text (``<br>``, ``&lt;``,
``&amp;``: something escaped twice), keeps what was typed exactly and its line breaks."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from tests.mail_kinds import (
    FIRST,
    KIND_NAMES,
    SECOND,
    THIRD,
    MailSample,
    every_sample,
    html_part,
    visible_lines,
)
from tests.support import open_case
from workflows.notices.model import Cadence
from workflows.outbound.htmltext import lines, paragraphs

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# Markup shown as text: a tag, or an entity that survived (escaped twice).
MARKUP_AS_TEXT = re.compile(r"<|&(?:[a-z]+|#\d+|#x[0-9a-f]+);", re.IGNORECASE)
SAMPLES = every_sample()


def report_sample(rt) -> MailSample:
    """The case report through ``reports.render_report`` (it reads the cases)."""
    from sqlalchemy import select

    from workflows.notices.mime import compose_part, for_recipient
    from workflows.notices.reports import render_report
    from workflows.storage.models import Organization

    open_case(rt, subject='Tom & Jerry\'s "printer" says 5 > 3')
    with rt.db.transaction() as s:
        org = s.scalars(select(Organization).where(Organization.name == "Acme")).one()
        rendered = render_report(s, org, Cadence.WEEKLY, ("ops@acme.example",),
                                 rt.now() - dt.timedelta(days=7), rt.now() + dt.timedelta(hours=1))
    part = compose_part(rendered, from_address="care@desk.example", list_id="n.desk.example",
                        loop_id="ticketgate", reference=None, at=rt.now())
    return MailSample("notice_case_report", for_recipient(part, "ops@acme.example", "r@x"),
                      typed=False)


def test_every_template_has_a_sample():
    """A new mail template without a sample here would escape these checks."""
    names = {p.name.removesuffix(".html.j2") for p in TEMPLATES.glob("mail/*.html.j2")
             if not p.name.startswith("_")}
    notices = {"notice_" + p.name.removesuffix(".html.j2")
               for p in TEMPLATES.glob("notices/*.html.j2") if not p.name.startswith("_")}
    kinds = set(KIND_NAMES)
    # announcements are per notice kind: planned, emergency, incident, advisory
    assert names | notices <= kinds
    assert {s.name for s in SAMPLES} | {"notice_case_report"} == kinds


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_no_markup_is_shown_as_text(sample: MailSample):
    """Nothing of our markup (or an entity escaped twice) reaches the reader as text."""
    shown = visible_lines(sample.html())
    assert shown, "the HTML part shows nothing"
    bad = [line for line in shown if MARKUP_AS_TEXT.search(line)]
    assert bad == []


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s.typed], ids=lambda s: s.name)
def test_typed_text_keeps_its_characters_and_line_breaks(sample: MailSample):
    """What an analyst or incident commander typed reads exactly, line by line: ``&``, ``>``
    and quotes once, each line on its own, the second paragraph apart."""
    shown = visible_lines(sample.html())
    assert FIRST in shown
    at = shown.index(FIRST)
    assert shown[at + 1:at + 3] == [SECOND, THIRD]


def test_the_case_report_reads_right(rt, people):
    """The report's subjects are escaped once, its times named in the organization's zone."""
    shown = visible_lines(report_sample(rt).html())
    assert [line for line in shown if MARKUP_AS_TEXT.search(line)] == []
    assert any('Tom & Jerry\'s "printer" says 5 > 3' in line for line in shown)
    assert any("Europe/Berlin" in line for line in shown)


def test_markup_typed_by_a_person_is_shown_not_run():
    """``<script>`` in a post is text the customer reads, never an element."""
    html = str(paragraphs("<script>alert(1)</script>\n<b>x</b>"))
    assert "<script>" not in html and "<b>" not in html
    assert visible_lines(html) == ["<script>alert(1)</script>", "<b>x</b>"]


def test_paragraphs_never_escapes_twice():
    """Escaped output given back (Markup) stays as it is; plain text is escaped once."""
    once = paragraphs("a & b")
    assert str(paragraphs(once)) == str(once) == "<p>a &amp; b</p>"
    assert str(lines("a\r\nb")) == "a<br>\nb"


def test_an_analyst_post_reaches_the_outbox_without_visible_tags(rt, people):
    """The defect as reported: a post with line breaks, through ``post_update`` and the
    outbox, showed literal ``<br>`` tags."""
    from tests.support import post

    raw = post(rt, open_case(rt), body=f"{FIRST}\n{SECOND}\n\n{THIRD}")
    shown = visible_lines(html_part(raw))
    assert [line for line in shown if MARKUP_AS_TEXT.search(line)] == []
    at = shown.index(FIRST)
    assert shown[at:at + 3] == [FIRST, SECOND, THIRD]
