"""The console in a real browser: Debian's Chromium, headless, driven by Playwright, against
uvicorn started by the test. One browser for the module; a fresh context per test.

Screenshots of the triage page, a case and (when notices exist) a notice preview are written to
``var/screenshots/`` for reviewers; the path is printed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from gateway.http.accounts import HOME, Role
from tests.http.conftest import PASSWORD, USERS
from tests.support import ingest, new_mail, open_case, post

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("TICKETGATE_REQUIRE_SERVICES") == "1":
            pytest.fail("Chromium is required (TICKETGATE_REQUIRE_SERVICES=1) but "
                        f"{CHROMIUM} is missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    dialogs: list[str] = []
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    tab.dialogs = dialogs  # type: ignore[attr-defined]
    yield tab
    context.close()


def _sign_in(page, role: Role = Role.ADMIN) -> None:
    page.goto("/login")
    page.fill("input[name=email]", USERS[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    # The role's own landing page: "**/*" would match /login itself, before the sign-in's
    # redirect (and its session cookie) has arrived.
    page.wait_for_url(f"**{HOME[role]}")


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def test_sign_in_and_link_a_mail_to_its_case(desk, page):
    """The admin's main path: the item shows why it waits, linking moves the case."""
    number = open_case(desk.rt, subject="Printer on fire")
    post(desk.rt, number)  # Awaiting Info: a linked customer reply reopens it
    ingest(desk.rt, new_mail(sender="alice@acme.example", subject="The model",
                             body=f"It is an HP 4000 (about {number})."))
    _sign_in(page)
    page.wait_for_selector("text=The model")
    assert page.locator(".badge", has_text="no_reference").count() == 1
    _shot(page, "triage")
    page.click("a.subject >> text=The model")
    page.wait_for_selector("section.why")
    assert page.input_value("input[name=case] >> nth=0") == number  # the suggestion
    page.click("button[value=link]")
    page.wait_for_url(f"**/cases/{number}")
    assert page.text_content("#case-status") == "open"
    assert "It is an HP 4000" in page.text_content(".timeline")
    _shot(page, "case")


def test_a_subject_of_one_long_word_stays_inside_the_triage_page(desk, page):
    """A mail whose subject is one 2,000-letter word: the queue, the item and the case list
    still fit the window (no sideways scroll pushing the other columns out of sight)."""
    ingest(desk.rt, new_mail(sender="alice@acme.example", subject="A" * 2000))
    _sign_in(page)
    page.wait_for_selector("a.subject")
    widths = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    in_queue = page.evaluate(widths)
    page.click("a.subject")
    page.wait_for_selector("section.why")
    on_item = page.evaluate(widths)
    page.click("text=Open a new case for the sender")  # alice is a contact of Acme
    page.wait_for_url("**/cases/CASE-*")
    page.goto("/cases")
    assert (in_queue, on_item, page.evaluate(widths)) == (0, 0, 0)


def test_discard_a_mail(desk, page):
    """Noise is discarded from its page and leaves the queue."""
    ingest(desk.rt, new_mail(sender="promo@else.example", subject="Cheap watches"))
    _sign_in(page)
    page.click("a.subject >> text=Cheap watches")
    page.click("button:has-text('Discard as noise')")
    page.wait_for_url("**/triage")
    assert "discarded" in page.text_content(".flash")
    assert page.locator("text=Cheap watches").count() == 0


class _Recorder(BaseHTTPRequestHandler):
    """Any request the hostile mail manages to make lands here."""

    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str]]]:
    hits: ClassVar[list[str]] = []
    handler = type("Recorder", (_Recorder,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()
    thread.join(30)


def _hostile(base: str) -> bytes:
    html = f"""<html><head>
<meta http-equiv="refresh" content="0;url={base}/refresh">
<base href="{base}/base/">
<link rel="stylesheet" href="{base}/link.css">
<style>body {{ background: url({base}/css-bg) }}
* {{ position: fixed !important; inset: 0; z-index: 2147483647 }}</style>
</head><body>
<script>window.top.__pwned = 'script'; top.document.title = 'pwned';
fetch('{base}/fetch');</script>
<script src="{base}/script.js"></script>
<img src="x" onerror="window.top.__pwned='onerror'; alert('onerror')">
<img src="{base}/remote.png">
<svg onload="alert('svg')"><circle r="5"/></svg>
<a id="jslink" href="javascript:window.top.__pwned='link';alert('link')">Click me</a>
<iframe src="javascript:alert('iframe')"></iframe>
<object data="{base}/object"></object>
<form action="{base}/form" method="post"><button id="go">Go</button></form>
<div style="position:fixed;top:0;left:0;width:100vw;height:100vh;background:red">cover</div>
<p>Hello from a hostile mail.</p>
</body></html>"""
    msg = EmailMessage()
    msg["From"] = "mallory@evil.example"
    msg["To"] = "care@desk.example"
    msg["Subject"] = "<img src=x onerror=alert('subject')> Invoice"
    msg["Message-ID"] = "<hostile@evil.example>"
    msg.set_content("Hello from a hostile mail.")
    msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def test_a_hostile_html_mail_runs_nothing_and_loads_nothing(desk, page, recorder):
    """Script, event handlers, javascript: links and CSS tricks: checked in the browser."""
    base, hits = recorder
    ingest(desk.rt, _hostile(base))
    _sign_in(page)
    page.click("a.subject >> text=Invoice")
    frame_element = page.wait_for_selector("iframe.mailframe")
    frame = frame_element.content_frame()
    assert frame is not None
    frame.wait_for_selector("text=Hello from a hostile mail.")
    # the reader clicks everything the mail offers
    for selector in ("#jslink", "#go", "a"):
        if frame.locator(selector).count():
            frame.locator(selector).first.click(force=True, no_wait_after=True)
    page.wait_for_timeout(500)  # let anything that was going to fire, fire
    page.goto(page.url)  # and a reload, in case something was deferred
    reloaded = page.wait_for_selector("iframe.mailframe").content_frame()
    assert reloaded is not None
    reloaded.wait_for_selector("text=Hello from a hostile mail.")
    assert page.evaluate("window.__pwned") is None
    assert page.title().endswith("· ticketgate")
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert hits == []
    assert page.get_attribute("iframe.mailframe", "sandbox") == ""
    # the frame's styles stay in the frame: the console's own buttons are still on top
    button = page.locator("button:has-text('Discard as noise')")
    box = button.bounding_box()
    assert box is not None
    top = page.evaluate("([x, y]) => document.elementFromPoint(x, y).textContent",
                        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    assert top == "Discard as noise"
    _shot(page, "hostile-mail")
    # a full-page shot leaves out-of-process frames blank; the frame on its own shows them
    frame_shot = SCREENSHOTS / "hostile-mail-frame.png"
    page.locator("iframe.mailframe").screenshot(path=str(frame_shot))
    print(f"screenshot: {frame_shot}")


def test_compose_preview_and_send_a_maintenance_notice(desk, page):
    """The scheduler sees each organization's copy in its own time zone while typing, and the
    rule checks; then saves and sends, and sees the delivery status."""
    _sign_in(page, Role.SCHEDULER)
    page.goto("/notices/new")
    page.fill("input[name=title]", "Dialer upgrade")
    page.fill("textarea[name=impact]", "Outbound dialing is down for two hours.")
    page.fill("input[name=starts_at]", "2026-03-13T05:00")
    page.fill("input[name=ends_at]", "2026-03-13T07:00")
    # no Preview click: the page's own script fetches the preview as the form changes
    page.wait_for_selector(".org-preview[data-org=Globex]")
    acme = page.text_content(".org-preview[data-org=Acme] .preview-subject")
    globex = page.text_content(".org-preview[data-org=Globex] .preview-subject")
    assert "Fri 13 Mar 2026 06:00 CET" in acme and "Thu 12 Mar 2026 23:00 MDT" in globex
    assert page.text_content(".checks") .strip().endswith("Every rule passes.")
    _shot(page, "notice-preview")
    page.fill("input[name=starts_at]", "2026-03-03T05:00")  # tomorrow: too short a notice
    page.fill("input[name=ends_at]", "2026-03-03T07:00")
    page.wait_for_selector(".refusal >> text=lead_time")
    page.fill("input[name=starts_at]", "2026-03-13T05:00")
    page.fill("input[name=ends_at]", "2026-03-13T07:00")
    page.wait_for_selector(".ok-line")
    page.click("button:has-text('Save draft')")
    page.wait_for_url("**/notices/MNT-*")
    page.click("button:has-text('Send now')")
    page.wait_for_selector("#notice-state >> text=active")
    assert page.text_content("#delivery-counts").strip() == "sent 1"


def test_api_docs_render_from_this_server_alone(page, server):
    """/docs shows every operation, signed out, loading nothing from elsewhere (no CDN), and
    the console's CSP holds (a violation would leave the page blank)."""
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server.url) or r.url.startswith(
        "data:") else elsewhere.append(r.url))
    page.goto("/docs")
    page.wait_for_selector(".opblock-summary-path")
    assert page.locator(".opblock").count() > 15
    assert elsewhere == []
    _shot(page, "api-docs")


def test_open_a_case_from_the_new_case_form(desk, page):
    """An analyst types a case in, as after a phone call, and lands on its page."""
    _sign_in(page, Role.ANALYST)
    page.click("#nav-new-case")
    page.select_option("select[name=organization]", "Acme")
    page.fill("input[name=contact]", "alice@acme.example")
    page.fill("input[name=subject]", "Badge reader offline")
    _shot(page, "case-new")
    page.click("#new-case button[type=submit]")
    page.wait_for_url("**/cases/CASE-1001")
    assert page.locator("h1").inner_text().startswith("CASE-1001")
