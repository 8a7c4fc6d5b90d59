"""The console's page of a resolved incident, as the scheduler opens it: its times read as a
span that ended (no dangling "10:40 UTC –"), and no empty "Act" box once nothing is left to
do."""

from __future__ import annotations

import datetime as dt

from gateway.http.accounts import Role
from tests.http.conftest import sign_in
from workflows.notices import service
from workflows.notices.model import NoticeKind, NoticeRequest


def _resolved_incident(rt) -> str:  # type: ignore[no-untyped-def]
    with rt.db.transaction() as s:
        ref = service.create_notice(
            s, rt.settings, NoticeRequest(NoticeKind.INCIDENT, title="Calls failing",
                                          impact="Inbound calls fail",
                                          starts_at=rt.now() - dt.timedelta(minutes=10)),
            now=rt.now(), actor="test").reference
    service.send_notice(rt, ref, actor="test")
    service.all_clear(rt, ref, "Log out and back in.", actor="test")
    return ref


def test_a_resolved_incident_reads_as_a_span_that_ended(desk, client):
    ref = _resolved_incident(desk.rt)
    assert sign_in(client, Role.SCHEDULER).status_code == 303
    meta = client.get(f"/notices/{ref}").text.split('<div class="meta">', 1)[1]
    meta = meta.split("</div>", 1)[0]
    assert "– </span>" not in meta and "restored" in meta


def test_a_resolved_incident_has_no_empty_act_box(desk, client):
    ref = _resolved_incident(desk.rt)
    assert sign_in(client, Role.SCHEDULER).status_code == 303
    assert "<h2>Act</h2>" not in client.get(f"/notices/{ref}").text
