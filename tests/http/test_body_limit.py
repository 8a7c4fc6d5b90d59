"""Request bodies are capped before they are parsed: 413 with a reason, nothing changed."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from tests.support import open_case
from workflows.storage.models import OutboundMessage

BIG = 3 * 1024 * 1024  # over the cap of these tests' settings (about 1 MB), under the default


@pytest.fixture
def settings(settings):
    """Small file limits make a small cap: 3000 bytes of files -> 4000 as base64 + 1 MB."""
    return dataclasses.replace(settings, post_file_max_bytes=2048, post_files_max_bytes=3000)


def _outbound(desk) -> int:
    with desk.rt.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(OutboundMessage)) or 0


def test_a_declared_length_over_the_cap_is_refused_unread(desk, client):
    number = open_case(desk.rt)
    response = client.post(f"/api/v1/cases/{number}/updates", headers={
        **desk.bearer(), "content-type": "application/json"}, content=b"{" + b" " * BIG + b"}")
    assert response.status_code == 413
    assert "at most 1 MB" in response.json()["error"]["message"]
    assert _outbound(desk) == 0


def test_a_chunked_body_is_counted_as_it_arrives(desk, client):
    """No Content-Length to check: the stream is cut once it passes the cap."""
    number = open_case(desk.rt)

    def chunks() -> Iterator[bytes]:
        yield b'{"body": "'
        for _ in range(BIG // 65536):
            yield b"x" * 65536
        yield b'"}'

    response = client.post(f"/api/v1/cases/{number}/updates", headers={
        **desk.bearer(), "content-type": "application/json"}, content=chunks())
    assert response.status_code == 413
    assert _outbound(desk) == 0


def test_a_body_under_the_cap_goes_through(desk, client):
    number = open_case(desk.rt)
    response = client.post(f"/api/v1/cases/{number}/updates", headers=desk.bearer(),
                           json={"body": "y" * 90_000})
    assert response.status_code == 201, response.text
