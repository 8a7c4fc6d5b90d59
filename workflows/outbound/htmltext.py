"""Plain text placed into HTML: escaped exactly once, its line breaks kept; times as a
recipient reads them. Pure.

Place in the flow: every Jinja2 environment that renders HTML we send or show (case mail in
``workflows.outbound.compose``, notices in ``workflows.notices.render``, the console in
``gateway.http.render``) installs these filters with ``install``. Templates then write
``{{ body | paragraphs }}`` for a text someone typed (an analyst's post, an incident's impact)
instead of ``{{ body | e | replace("\\n", "<br>") }}``: under autoescape that chain escapes the
text, then the ``replace`` returns a plain ``str`` again, which autoescape escapes a second time,
and the customer reads ``&lt;br&gt;``. Here the text is escaped once and the result is
``Markup``, so autoescape leaves it alone.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape

if TYPE_CHECKING:
    # Only a type here: the clock and the inbound apply import this module for its times, and a
    # command that renders nothing need not import Jinja2 (45-80 ms, -X importtime).
    import jinja2

_BLANK_LINE = re.compile(r"\n[ \t]*\n+")

# Around every HTML mail we send (case mail's outer div, notices' <body>): a customer's
# unbroken word (a pasted link, an id) wraps instead of widening the mail past the reader's
# window. Inline, since mail clients drop <style>; both properties, as some engines know only
# the older word-break value. Templates read it as the global ``wrap_style``.
WRAP_STYLE = "overflow-wrap:anywhere;word-break:break-word"


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip("\n").split("\n")


def paragraphs(text: object) -> Markup:
    """``text`` as HTML block content: one ``<p>`` per paragraph (blank-line separated), a
    ``<br>`` per line break inside one. Use it where a block may stand (``<div>``,
    ``<blockquote>``, ``<td>``), never inside ``<p>``."""
    value = "" if text is None else str(text)
    if isinstance(text, Markup):  # already HTML: trust it as it is, never escape it twice
        return text
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not value.strip():
        return Markup("")
    blocks = [Markup("<br>\n").join(escape(line) for line in block.split("\n"))
              for block in _BLANK_LINE.split(value)]
    return Markup("\n").join(Markup("<p>%s</p>") % block for block in blocks)


def lines(text: object) -> Markup:
    """``text`` as inline HTML: escaped, each line break a ``<br>`` (inside ``<p>``, ``<td>``)."""
    if isinstance(text, Markup):
        return text
    value = "" if text is None else str(text)
    return Markup("<br>\n").join(escape(line) for line in _lines(value)) if value.strip() \
        else Markup("")


def counted(number: object, unit: str) -> str:
    """``1 business day``, ``2 business days``: the counts in mail come from settings
    (``follow_up_days``, ``reopen_days``) that a desk may set to 1."""
    return f"{number} {unit}" + ("" if str(number) == "1" else "s")


def install(env: jinja2.Environment) -> jinja2.Environment:
    """Add the filters ``paragraphs``, ``lines`` and ``counted`` and the global
    ``wrap_style`` to ``env``; returns it."""
    env.filters["paragraphs"] = paragraphs
    env.filters["lines"] = lines
    env.filters["counted"] = counted
    env.globals["wrap_style"] = WRAP_STYLE
    return env


def zoned_time(at: dt.datetime, zone: str | None) -> str:
    """``at`` in ``zone`` with the zone named twice over: the abbreviation of that very instant
    (``CET``/``CEST``) and the IANA name, so "CST" never has to be guessed:
    ``2026-03-13 18:00 CET (Europe/Berlin)``. An unknown or missing zone reads as UTC."""
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = at.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({tz.key})"


def zoned_day(at: dt.datetime, zone: str | None) -> str:
    """The calendar day of ``at`` in ``zone``, zone named: ``2026-03-13 (Europe/Berlin)``."""
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return f"{at.astimezone(tz):%Y-%m-%d} ({tz.key})"
