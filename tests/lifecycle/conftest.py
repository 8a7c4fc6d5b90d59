"""Lifecycle fixtures: a care team address, local-time helpers, and a pass at the clock's time."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import time
import zoneinfo

import pytest
from sqlalchemy import select

from tests.cli.conftest import cli, desk  # noqa: F401 - the CLI tests' fixtures, shared
from workflows.clock.scheduler import PassReport, run_pass
from workflows.runtime import Runtime
from workflows.storage.models import Case, DueTimer, OutboundMessage

CARE_TEAM = "care-team@desk.example"
BERLIN = "Europe/Berlin"


@pytest.fixture
def settings(settings):
    """The shared settings, plus a care team address for SLA notices."""
    return dataclasses.replace(settings, care_team_address=CARE_TEAM)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
          zone: str = BERLIN) -> dt.datetime:
    """A wall-clock time in ``zone`` as an aware UTC datetime."""
    return dt.datetime(year, month, day, hour, minute,
                       tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(dt.UTC)


def run(rt: Runtime, at: dt.datetime | None = None) -> PassReport:
    """One scheduler pass at ``at`` (default: the test clock's now)."""
    return run_pass(rt, at or rt.now())


def mails(rt: Runtime, kind: str | None = None) -> list[OutboundMessage]:
    with rt.db.transaction() as s:
        q = select(OutboundMessage).order_by(OutboundMessage.id)
        if kind:
            q = q.where(OutboundMessage.kind == kind)
        return list(s.scalars(q))


def case_row(rt: Runtime, number: str) -> Case:
    with rt.db.transaction() as s:
        return s.scalars(select(Case).where(Case.number == number)).one()


def timers(rt: Runtime, number: str) -> list[DueTimer]:
    with rt.db.transaction() as s:
        case = s.scalars(select(Case).where(Case.number == number)).one()
        return list(s.scalars(select(DueTimer).where(DueTimer.case_id == case.id)
                              .order_by(DueTimer.id)))


def wait_until(condition, timeout: float = 30.0) -> None:
    """Poll ``condition`` (a background thread's work) until it holds; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def body(raw: bytes) -> str:
    """The plain-text part of a mail we queued."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    part = msg.get_body(("plain",))
    assert part is not None
    return part.get_content()


def subject(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])

