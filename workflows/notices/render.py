"""Render what one organization reads in one mailing: subject, text, HTML and ICS. Pure.

Place in the flow: ``mailings.queue_mailing`` calls ``render_notice`` once per organization (never
per recipient: everyone on a distribution list reads the same thing), ``notice preview`` calls
it to show exactly that. Every time is formatted here, in the organization's zone with the zone
named (``timefmt``), so the templates in ``templates/notices/`` only place strings; Jinja2 runs
with ``StrictUndefined`` (a missing value is an error, not a blank) and autoescapes HTML.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2

from workflows.clock.calendar import BusinessCalendar
from workflows.notices.ics import build_ics
from workflows.notices.model import NoticeKind, Purpose, Window
from workflows.notices.timefmt import duration, local_clock, local_span, local_time, zone_of
from workflows.outbound import htmltext
from workflows.outbound.compose import DESK_NAME, TEMPLATES, one_line


@dataclass(frozen=True, slots=True)
class NoticeFacts:
    """What rendering needs of a notice (read from its row by ``mailings.notice_facts``)."""

    reference: str
    kind: NoticeKind
    title: str
    impact: str
    details: str = ""
    recommendation: str = ""
    link: str | None = None
    window: Window | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    sequence: int = 0
    sent_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    all_clear_text: str | None = None
    rca_due_at: dt.datetime | None = None
    rca_link: str | None = None
    # > 0: the RCA due date each organization reads is counted on its own calendar from
    # ``resolved_at`` (DOMAIN "An RCA follows within 5 business days": the customer's days).
    rca_business_days: int = 0


@dataclass(frozen=True, slots=True)
class OrgFacts:
    """A receiving organization; ``id`` None for internal mail (the care team)."""

    id: int | None
    name: str
    zone: str
    recipients: tuple[str, ...]
    calendar: BusinessCalendar | None = None  # its business days and hours; None: unknown


@dataclass(frozen=True, slots=True)
class Occasion:
    """Why this mailing goes out and what it says beyond the notice itself."""

    purpose: Purpose
    at: dt.datetime
    slot: int | None = None  # follow-up number
    status_text: str | None = None  # posted since the previous mailing; None: no change
    status_at: dt.datetime | None = None  # when the last status (or the alert) was given
    next_update_at: dt.datetime | None = None
    cadence_minutes: int = 30  # incident follow-ups


@dataclass(frozen=True, slots=True)
class RenderedNotice:
    subject: str
    text: str
    html: str
    ics: str | None = None


@cache
def _env(autoescape: bool) -> jinja2.Environment:
    return htmltext.install(jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES / "notices"), undefined=jinja2.StrictUndefined,
        autoescape=autoescape, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True))


def template_name(kind: NoticeKind, purpose: Purpose) -> str:
    """``planned``, ``incident``, ``follow_up``...: the announcement is per kind, the rest per
    purpose."""
    return kind.value if purpose is Purpose.ANNOUNCE else purpose.value


def _subject(notice: NoticeFacts, occasion: Occasion, ctx: dict[str, Any]) -> str:
    ref, title = notice.reference, notice.title
    match occasion.purpose:
        case Purpose.ANNOUNCE if notice.kind.maintenance:
            text = f"{notice.kind.label}: {title} - {ctx['start']}"
        case Purpose.ANNOUNCE:
            text = f"{notice.kind.label}: {title}"
        case Purpose.RESCHEDULE:
            text = f"Rescheduled: {title} - now {ctx['start']}"
        case Purpose.FOLLOW_UP:
            text = f"Incident update {occasion.slot}: {title}"
        case Purpose.ALL_CLEAR:
            text = f"All clear: {title}"
        case Purpose.CANCEL:
            text = f"Cancelled: {notice.kind.label.lower()}: {title}"
        case Purpose.RCA:
            text = f"Root cause analysis: {title}"
        case Purpose.RCA_REMINDER:
            text = f"RCA due {ctx['rca_due']}: {title}"
        case _:
            text = title
    return one_line(f"[{ref}] {text}")


def context(notice: NoticeFacts, org: OrgFacts, occasion: Occasion,
            desk_name: str = DESK_NAME) -> dict[str, Any]:
    """Every string the templates place, times in ``org``'s zone."""
    zone = zone_of(org.zone)
    ctx: dict[str, Any] = {
        "desk_name": desk_name or DESK_NAME, "reference": notice.reference,
        "kind": notice.kind.value,
        "kind_label": notice.kind.label, "title": notice.title, "impact": notice.impact,
        "details": notice.details, "recommendation": notice.recommendation,
        "link": notice.link or "", "organization": org.name, "zone": zone.key,
        "recipients": ", ".join(org.recipients), "window": (notice.window or Window.WEEKLY).value,
        "sent": local_time(notice.sent_at or occasion.at, zone),
        "now": local_time(occasion.at, zone), "slot": occasion.slot or 0,
        "status_text": occasion.status_text or "",
        "cadence": occasion.cadence_minutes,
        "since": local_clock(occasion.status_at or notice.sent_at or occasion.at, zone,
                             occasion.at),
        "next_update": local_clock(occasion.next_update_at, zone, occasion.at)
        if occasion.next_update_at else "",
        "all_clear_text": notice.all_clear_text or "",
        "rca_link": notice.rca_link or "", "start": "", "end": "", "span": "",
        "duration": "", "resolved": "", "outage": "", "rca_due": "",
    }
    if notice.starts_at is not None:
        ctx["start"] = local_time(notice.starts_at, zone)
    if notice.starts_at is not None and notice.ends_at is not None:
        ctx["end"] = local_time(notice.ends_at, zone)
        ctx["span"] = local_span(notice.starts_at, notice.ends_at, zone)
        ctx["duration"] = duration(notice.ends_at - notice.starts_at)
    if notice.resolved_at is not None:
        ctx["resolved"] = local_time(notice.resolved_at, zone)
        began = notice.starts_at or notice.sent_at or notice.resolved_at
        ctx["outage"] = duration(notice.resolved_at - began)
    rca_due_at = org_rca_due(notice, org)
    if rca_due_at is not None:
        ctx["rca_due"] = local_time(rca_due_at, zone)
    return ctx


def org_rca_due(notice: NoticeFacts, org: OrgFacts) -> dt.datetime | None:
    """When ``org`` is promised the RCA: its own business days after the restoration when its
    calendar is known, else the notice's (desk) due date."""
    if notice.resolved_at is not None and org.calendar is not None \
            and notice.rca_business_days > 0:
        return org.calendar.add_days(notice.resolved_at, notice.rca_business_days)
    return notice.rca_due_at


def render_template(name: str, ctx: dict[str, Any]) -> tuple[str, str]:
    """The (text, html) of ``templates/notices/<name>``; HTML autoescaped."""
    return (_env(False).get_template(f"{name}.txt.j2").render(ctx),
            _env(True).get_template(f"{name}.html.j2").render(ctx))


def render_notice(notice: NoticeFacts, org: OrgFacts, occasion: Occasion, *,
                  organizer: str, desk_name: str = DESK_NAME) -> RenderedNotice:
    """The notice for ``org``, signed and sent as ``desk_name`` (the desk's ``desk_name``)."""
    ctx = context(notice, org, occasion, desk_name)
    text, html = render_template(template_name(notice.kind, occasion.purpose), ctx)
    ics = None
    if notice.kind.maintenance and occasion.purpose in (Purpose.ANNOUNCE, Purpose.RESCHEDULE,
                                                        Purpose.CANCEL):
        assert notice.starts_at is not None and notice.ends_at is not None
        ics = build_ics(uid=notice.reference, summary=f"[{notice.reference}] "
                        f"{notice.kind.label}: {notice.title}",
                        description=f"{notice.impact}\n\n{notice.details}".strip(),
                        starts_at=notice.starts_at, ends_at=notice.ends_at,
                        sequence=notice.sequence, stamp=occasion.at,
                        cancelled=occasion.purpose is Purpose.CANCEL, organizer=organizer,
                        attendees=org.recipients if occasion.purpose is Purpose.CANCEL else (),
                        organizer_name=desk_name or DESK_NAME)
    return RenderedNotice(_subject(notice, occasion, ctx), text, html, ics)
