"""What the property tests of ``parsing`` share: their Hypothesis settings.

Each compares a fast path or a cache with the plain code it replaces over generated mail and
text. No deadline: one example parses a whole message, which a loaded CI box makes slow at
random; and the generated inputs are large and slow to build by design, which Hypothesis's
health checks would otherwise refuse.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def examples(count: int) -> settings:
    """Settings for ``count`` examples a test, without a deadline or the size checks."""
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
