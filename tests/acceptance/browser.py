"""Every HTML part a customer receives, read the way a customer does: in a real browser.

Debian's Chromium, headless, driven by Playwright (the launch flags of
``tests/http/test_browser.py``). ``Browser.read`` renders one HTML part with scripts and network
off and returns its visible text (``innerText``: what a reader sees, line breaks included);
``markup_shown`` names any of our markup that reached the reader as text. A screenshot per mail
kind and deployment goes to ``var/screenshots/acceptance-*.png`` for reviewers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
WAIT_MS = 30_000

# Markup that a reader must never see as text: our tags (escaped once too often, they show
# as "<br>"), and entities escaped twice (they show as "&lt;", "&amp;").
_SHOWN_MARKUP = re.compile(
    r"</?(?:br|p|div|span|a|b|i|strong|em|hr|table|tr|td|th|ul|ol|li|pre|h\d)\b[^>]*>"
    r"|&(?:lt|gt|amp|quot|#\d+|#x[0-9a-f]+|nbsp);", re.IGNORECASE)


def markup_shown(visible: str) -> list[str]:
    """The bits of markup in ``visible`` text (empty when the part reads right)."""
    return sorted(set(_SHOWN_MARKUP.findall(visible)))


@dataclass(frozen=True, slots=True)
class Reading:
    kind: str
    visible: str
    screenshot: Path | None


class Browser:
    def __init__(self, chromium: object) -> None:
        self._chromium = chromium
        self._shot: set[str] = set()

    def read(self, html: str, *, kind: str, shape: str) -> Reading:
        """Render ``html`` (no scripts, no network) and return what a reader sees."""
        context = self._chromium.new_context(  # type: ignore[attr-defined]
            java_script_enabled=False, viewport={"width": 900, "height": 700})
        try:
            page = context.new_page()
            page.set_default_timeout(WAIT_MS)
            # A mail must not fetch anything on open (tracking, remote images): refuse it all.
            page.route("**/*", lambda route: route.abort())
            page.set_content(html, wait_until="load")
            visible = page.inner_text("body")
            shot = None
            name = f"acceptance-{shape}-{kind}"
            if name not in self._shot:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                shot = SCREENSHOTS / f"{name}.png"
                page.screenshot(path=str(shot), full_page=True)
                self._shot.add(name)
            return Reading(kind, visible, shot)
        finally:
            context.close()


def launch_browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("TICKETGATE_REQUIRE_SERVICES") == "1":
            pytest.fail("Chromium is required (TICKETGATE_REQUIRE_SERVICES=1) but "
                        f"{CHROMIUM} is missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
    try:
        yield Browser(chromium)
    finally:
        chromium.close()
        playwright.stop()
