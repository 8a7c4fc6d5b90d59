"""The pass itself: one failing job is named and does not hold up the others."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from tests.support import open_case
from workflows.clock.jobs import JOBS
from workflows.clock.purge import PurgeReport
from workflows.clock.scheduler import run_pass
from workflows.runtime import Runtime


@dataclass(frozen=True)
class Broken:
    name: ClassVar[str] = "broken"
    description: ClassVar[str] = "always raises"

    def run(self, rt: Runtime, at: dt.datetime, *, dry_run: bool) -> PurgeReport:
        raise RuntimeError("disk on fire")


def test_a_failing_job_is_named_and_the_others_still_run(rt, people):
    """The follow-ups after a broken job still act: the failure costs one job, not the pass."""
    number = open_case(rt)
    report = run_pass(rt, rt.now() + dt.timedelta(days=30), jobs=(Broken(), *JOBS))
    assert report.job("broken").error == "RuntimeError: disk on fire"
    assert report.job("broken").report is None
    assert [j.error for j in report.jobs[1:]] == [None] * len(JOBS)
    assert any(f.case == number for f in report.fired)  # the SLA clocks of the open case
