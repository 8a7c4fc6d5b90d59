"""The console as an analyst reads it in a narrow window (a laptop split screen, 900 px; a
phone, 400 px), in Debian's Chromium: every page fits the width (no sideways scroll, the
header's links and Sign out in view) and the case page's side column never covers its
timeline."""

from __future__ import annotations

import pytest

from gateway.http.accounts import HOME, Role
from tests.http.conftest import PASSWORD, USERS
from tests.http.test_browser import WAIT_MS, browser  # noqa: F401 - the module's browser
from tests.support import ingest, new_mail, open_case, post

WIDTHS = (900, 400)
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _signed_in(chromium, server, width: int, role: Role):  # type: ignore[no-untyped-def]
    context = chromium.new_context(base_url=server.url, viewport={"width": width, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    tab.goto("/login")
    tab.fill("input[name=email]", USERS[role])
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"**{HOME[role]}")
    return context, tab


@pytest.fixture(params=WIDTHS, ids=lambda w: f"{w}px")
def narrow(request, browser, server):  # noqa: F811
    context, tab = _signed_in(browser, server, request.param, Role.ANALYST)
    yield tab
    context.close()


def test_the_analysts_pages_fit_a_narrow_window(desk, narrow):
    number = open_case(desk.rt, subject="Headset question")
    post(desk.rt, number)
    ingest(desk.rt, new_mail(sender="alice@acme.example", subject="About the headset",
                             body=f"Regarding {number}: it is a Jabra."))
    wide = {}
    for path in ("/triage", "/triage/1", "/cases", f"/cases/{number}", "/search?q=headset"):
        narrow.goto(path)
        wide[path] = narrow.evaluate(OVERFLOW)
    assert wide == dict.fromkeys(wide, 0)
    sign_out = narrow.locator("header.top button", has_text="Sign out").bounding_box()
    assert sign_out is not None
    assert sign_out["x"] + sign_out["width"] <= narrow.viewport_size["width"]


def test_the_case_pages_timeline_keeps_a_readable_width(desk, narrow):
    """The timeline is at least 300 px wide, and the side column (actions, clocks, timers)
    beside it or below it, never over it: at 400 px they stack."""
    number = open_case(desk.rt, subject="Headset question")
    post(desk.rt, number)
    narrow.goto(f"/cases/{number}")
    timeline = narrow.locator(".timeline").bounding_box()
    side = narrow.locator(".columns > aside").bounding_box()
    assert timeline is not None and side is not None
    assert timeline["width"] >= 300
    beside = side["x"] >= timeline["x"] + timeline["width"]
    below = side["y"] >= timeline["y"] + timeline["height"]
    assert beside or below


@pytest.mark.parametrize("width", WIDTHS, ids=lambda w: f"{w}px")
def test_the_notice_form_fits_a_narrow_window(desk, browser, server, width):  # noqa: F811
    """A scheduler composing a notice on a phone: the start, end and zone fields wrap instead
    of widening the form past the window."""
    context, tab = _signed_in(browser, server, width, Role.SCHEDULER)
    try:
        tab.goto("/notices/new")
        assert tab.evaluate(OVERFLOW) == 0
    finally:
        context.close()


def test_the_case_list_keeps_status_and_waiting_on_words_whole(desk, narrow):
    """At 900 px the status badge "solution_proposed" and "customer" under "Waiting on" stay
    on one line each (they broke as "solutio / n_prop / osed", "custome / r"), at 400 px too
    (the table scrolls inside itself there)."""
    number = open_case(desk.rt, subject="Headset question")
    post(desk.rt, number, action="propose_solution")
    narrow.goto("/cases")
    badge = narrow.locator("td .badge", has_text="solution_proposed")
    waiting = narrow.locator("td.waiting-on", has_text="customer")
    line = narrow.evaluate("parseFloat(getComputedStyle(document.body).lineHeight)")
    badge_box = badge.bounding_box()
    assert badge_box is not None
    assert badge_box["height"] < 1.5 * line
    text_height = narrow.evaluate(
        "el => { const r = document.createRange(); r.selectNodeContents(el);"
        " return r.getBoundingClientRect().height; }", waiting.element_handle())
    assert text_height < 1.5 * line
