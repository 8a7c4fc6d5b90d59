"""Every outbound kind's HTML part opened in headless Chromium, as a mail client's web view
shows it (issue 11 §2): the visible text holds no markup and keeps what was typed, line by line.
A screenshot per kind goes to ``var/screenshots/mail-<kind>.png`` for reviewers."""

from __future__ import annotations

import pytest

from tests.http.test_browser import SCREENSHOTS, browser  # noqa: F401 - the shared browser
from tests.mail_kinds import FIRST, SECOND, THIRD, MailSample, every_sample
from tests.workflows.test_mail_html import MARKUP_AS_TEXT, report_sample

SAMPLES = every_sample()


@pytest.fixture
def tab(browser):  # noqa: F811 - the fixture imported above
    context = browser.new_context(viewport={"width": 900, "height": 700},
                                  java_script_enabled=False)
    page = context.new_page()
    yield page
    context.close()


def _shown(tab, sample: MailSample) -> list[str]:
    tab.set_content(sample.html(), wait_until="load")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"mail-{sample.name}.png"), full_page=True)
    text = tab.inner_text("body")
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_chromium_shows_each_kind_as_text_without_markup(tab, sample: MailSample):
    """What the browser renders as text never contains a tag or a leftover entity, and typed
    text keeps its three lines."""
    shown = _shown(tab, sample)
    assert [line for line in shown if MARKUP_AS_TEXT.search(line)] == []
    if sample.typed:
        at = shown.index(FIRST)
        assert shown[at:at + 3] == [FIRST, SECOND, THIRD]


def test_chromium_shows_the_case_report_without_markup(tab, rt, people):
    """The report's table of cases, rendered."""
    shown = _shown(tab, report_sample(rt))
    assert [line for line in shown if MARKUP_AS_TEXT.search(line)] == []
    assert any("Europe/Berlin" in line for line in shown)


LONG_WORD = "https://files.acme.example/" + "x" * 400  # a pasted link, an id, a hash


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s.typed], ids=lambda s: s.name)
def test_a_long_word_wraps_inside_the_window(tab, sample: MailSample):
    """A customer's unbroken 400-letter word (a pasted link) wraps: the mail does not scroll
    sideways in a 900-pixel window, pushing the rest of each line out of sight."""
    html = sample.html()
    assert SECOND in html
    tab.set_content(html.replace(SECOND, LONG_WORD), wait_until="load")
    overflow = tab.evaluate("document.documentElement.scrollWidth"
                            " - document.documentElement.clientWidth")
    assert overflow == 0
