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


@pytest.fixture(params=WIDTHS, ids=lambda w: f"{w}px")
def narrow(request, browser, server):  # noqa: F811
    context = browser.new_context(base_url=server.url,
                                  viewport={"width": request.param, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    tab.goto("/login")
    tab.fill("input[name=email]", USERS[Role.ANALYST])
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"**{HOME[Role.ANALYST]}")
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
