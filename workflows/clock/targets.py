"""Service level targets per severity (PureEngage 5.1, Echopass Table 4, LiveVox timetable).

Place in the flow: configuration data. ``workflows.settings`` holds a tuple of these (the
defaults below unless the TOML file overrides a severity); the SLA timers and the SLA report read
them. A leaf module: it imports nothing that imports settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.clock.calendar import Duration, TimeUnit
from workflows.domain import Severity


@dataclass(frozen=True, slots=True)
class SlaTarget:
    """How soon a case of ``severity`` must be answered, and resolved."""

    severity: Severity
    response: Duration
    resolution: Duration


# DOMAIN.md "Service level targets". Incident and Critical run on the wall clock (24x7): their
# response target is the phone desk's one minute, so mail about them is late at once by design;
# the others count business hours and days of the organization's calendar.
DEFAULT_SLA_TARGETS: tuple[SlaTarget, ...] = (
    SlaTarget(Severity.INCIDENT, Duration(1, TimeUnit.MINUTES), Duration(15, TimeUnit.MINUTES)),
    SlaTarget(Severity.CRITICAL, Duration(1, TimeUnit.MINUTES), Duration(24, TimeUnit.HOURS)),
    SlaTarget(Severity.HIGH, Duration(2, TimeUnit.BUSINESS_HOURS),
              Duration(2, TimeUnit.BUSINESS_DAYS)),
    SlaTarget(Severity.MEDIUM, Duration(4, TimeUnit.BUSINESS_HOURS),
              Duration(5, TimeUnit.BUSINESS_DAYS)),
    SlaTarget(Severity.LOW, Duration(1, TimeUnit.BUSINESS_DAYS),
              Duration(10, TimeUnit.BUSINESS_DAYS)),
)

# LiveVox: "escalation in 1 hour for High/Critical" when a case is still unanswered.
ESCALATE_UNANSWERED = frozenset({Severity.CRITICAL, Severity.HIGH})
# PureEngage 4.9: no automated follow-ups for Critical / Prod Down (and so none for Incidents).
NO_FOLLOW_UP = frozenset({Severity.INCIDENT, Severity.CRITICAL})


def target_for(targets: tuple[SlaTarget, ...], severity: Severity) -> SlaTarget:
    for target in targets:
        if target.severity is severity:
            return target
    for target in DEFAULT_SLA_TARGETS:
        if target.severity is severity:
            return target
    raise LookupError(severity)  # pragma: no cover - every severity has a default
