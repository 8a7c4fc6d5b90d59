"""The notice form's zone select in Chromium: the labels follow the zone picked, the preview
reads the typed start in that zone and flags a window in an organization's business hours."""

from __future__ import annotations

from gateway.http.accounts import Role
from tests.http.test_browser import _shot, _sign_in, browser, page  # noqa: F401


def test_a_start_typed_in_berlin_time_is_read_as_berlin_time(desk, page):  # noqa: F811
    _sign_in(page, Role.SCHEDULER)
    page.goto("/notices/new")
    assert page.text_content("label:has(input[name=starts_at]) .tz-label") == "UTC"
    page.select_option("#time-zone", "Europe/Berlin")
    assert page.text_content("label:has(input[name=starts_at]) .tz-label") == "Europe/Berlin"
    page.fill("input[name=title]", "Dialer upgrade")
    page.fill("textarea[name=impact]", "Outbound dialing is down.")
    page.fill("input[name=starts_at]", "2026-03-13T10:00")
    page.fill("input[name=ends_at]", "2026-03-13T12:00")
    page.wait_for_selector("#read-as >> text=2026-03-13 09:00 UTC")
    flag = page.text_content(".org-preview[data-org=Acme] .business-hours")
    assert flag is not None and "2 h of the window, from Fri 13 Mar 2026 10:00 CET" in flag
    _shot(page, "notice-zone-select")
