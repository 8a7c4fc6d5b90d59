"""schemathesis against /api/openapi.json: whatever the generated requests, no 5xx.

Every operation of the schema is fuzzed with a bounded number of examples (``MAX_EXAMPLES``) so
the run stays around a minute; the desk holds organizations, contacts, a case and a triage item,
so generated requests reach real rows as well as missing ones. (schemathesis' own pytest plugin
does not load under this pytest, so the operations are driven here with Hypothesis directly.)
"""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.support import ingest, new_mail, open_case

MAX_EXAMPLES = 10


def test_no_generated_request_makes_the_api_fail(desk, server):
    """A 5xx would mean an input the API neither handles nor refuses cleanly."""
    open_case(desk.rt)
    ingest(desk.rt, new_mail(sender="alice@acme.example"))
    schema = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json",
                                           headers=desk.bearer())
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 15

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call(headers=desk.bearer(), timeout=30)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> "
                                f"{response.status_code}: {response.text[:300]}")

        fuzz()
    assert failures == []


def test_the_schema_is_public_but_the_endpoints_it_describes_are_not(server):
    """The document is no secret; what it describes still needs the bearer token."""
    schema = httpx.get(f"{server.url}/api/openapi.json", timeout=30)
    assert schema.status_code == 200 and "/api/v1/cases" in str(schema.json()["paths"])
    assert httpx.get(f"{server.url}/api/v1/cases", timeout=30).status_code == 401
