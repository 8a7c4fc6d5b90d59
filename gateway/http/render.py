"""Server-rendered pages: the console's Jinja2 environment and the words it shows.

Place in the flow: the last step of every console request; ``render_page`` is pure (a template
name and a context in, HTML out). Autoescape is on and undefined names raise
(``StrictUndefined``), so a template never prints a mail's text unescaped or a typo silently.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from gateway.http.reasons import REASON_TEXT
from workflows.notices.timefmt import zone_of
from workflows.outbound import htmltext

# templates/ beside the packages: the checkout's, or the copy a wheel installs there
# (pyproject.toml's package-data), found the same way in both.
TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
CONSOLE = TEMPLATES / "console"
STATIC = CONSOLE / "static"



def age_text(since: dt.datetime | None, now: dt.datetime) -> str:
    """'3 h', '2 d', 'now': how long something has waited."""
    if since is None:
        return ""
    seconds = max(0, int((now - since).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return "now"


def when_text(value: dt.datetime | str | None, zone: str | None = None) -> str:
    """A time for a page: UTC; given ``zone`` (the case's organization's, or the desk's), local
    time with its abbreviation in a ``<time>`` whose title (shown on hover) is the UTC time."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        when = value
    utc = when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if zone is None or zone == "UTC":
        return utc
    local = when.astimezone(zone_of(zone))
    return Markup('<time datetime="%s" title="%s">%s</time>') % (
        when.astimezone(dt.UTC).isoformat(), utc, f"{local:%Y-%m-%d %H:%M} {local.tzname()}")


@jinja2.pass_context
def _when_filter(context: jinja2.runtime.Context, value: dt.datetime | str | None,
                 zone: str | None = None) -> str:
    """``| when``: in ``zone`` when a template names one (a case page: its organization's),
    else in the desk's zone (``desk_timezone``, ``page()`` puts it in every page's context):
    the zone a time typed in the console is read in, so a notice typed for 09:00 lists as
    09:00, not as its UTC hour."""
    return when_text(value, zone if zone is not None else context.get("desk_zone"))


def duration_text(seconds: int) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{sign}{hours} h {rest // 60:02d} min"


def size_text(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size} {unit}"
        size //= 1024
    return f"{size} GB"


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(CONSOLE),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when_filter
    env.filters["duration"] = duration_text
    env.filters["size"] = size_text
    htmltext.install(env)
    env.globals["reason_text"] = REASON_TEXT
    return env


def render_page(name: str, context: dict[str, Any]) -> str:
    return _env().get_template(name).render(context)
