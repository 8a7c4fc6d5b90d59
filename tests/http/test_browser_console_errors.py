"""The console loads without an error in the browser's console: every resource a page asks
for exists (Chromium asked for /favicon.ico on every page and got a 404)."""

from __future__ import annotations

from gateway.http.accounts import HOME, Role
from tests.http.conftest import PASSWORD, USERS
from tests.http.test_browser import WAIT_MS, browser  # noqa: F401 - the module's browser


def test_the_analysts_pages_load_without_a_console_error(desk, browser, server):  # noqa: F811
    context = browser.new_context(base_url=server.url)
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        tab.goto("/login")
        tab.fill("input[name=email]", USERS[Role.ANALYST])
        tab.fill("input[name=password]", PASSWORD)
        tab.click("button[type=submit]")
        tab.wait_for_url(f"**{HOME[Role.ANALYST]}")
        tab.goto("/triage")
        tab.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert errors == []
