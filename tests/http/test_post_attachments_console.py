"""Files on an update from the console (multipart form, CSRF still checked) and the API."""

from __future__ import annotations

import base64
import dataclasses
import email
import email.policy

import pytest
from sqlalchemy import func, select

from gateway.http.accounts import Role
from tests.http.conftest import csrf_of, sign_in
from tests.support import open_case
from workflows.storage.models import Attachment, OutboundMessage

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
SCRIPT = "#!/bin/sh\n# collect the logs: größer ist besser\ntar czf logs.tgz /var/log\n".encode()


@pytest.fixture
def settings(settings):
    """Small limits, so going over them needs no megabytes."""
    return dataclasses.replace(settings, post_file_max_bytes=2048, post_files_max_bytes=3000)


def _outbox(desk) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(desk.rt.settings.outbox_dir.glob("*.eml"))]


def _counts(desk) -> tuple[int, int]:
    with desk.rt.db.transaction() as s:
        return (s.scalar(select(func.count()).select_from(OutboundMessage)) or 0,
                s.scalar(select(func.count()).select_from(Attachment)) or 0)


def test_an_analyst_uploads_files_and_the_timeline_links_them(desk, client):
    number = open_case(desk.rt)
    sign_in(client, Role.ANALYST)
    page = client.get(f"/cases/{number}").text
    assert 'enctype="multipart/form-data"' in page and 'type="file" name="files"' in page
    response = client.post(f"/cases/{number}/post", data={
        "csrf_token": csrf_of(page), "body": "Run this, please.", "action": "request_info"},
        files=[("files", ("collect – größe.sh", SCRIPT, "text/x-sh")),
               ("files", ("screen.png", PNG, "image/png"))])
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "Update with 2 files sent to the contact" in page
    assert 'id="case-status">awaiting_info<' in page

    with desk.rt.db.transaction() as s:
        rows = list(s.scalars(select(Attachment).order_by(Attachment.id)))
    assert [(a.filename, a.size) for a in rows] == [("collect – größe.sh", len(SCRIPT)),
                                                    ("screen.png", len(PNG))]
    # In the timeline, under the update, with the case's download route.
    for a in rows:
        assert f'href="/cases/{number}/attachments/{a.id}" download>{a.filename}<' in page
    download = client.get(f"/cases/{number}/attachments/{rows[0].id}")
    assert download.status_code == 200 and download.content == SCRIPT
    assert download.headers["content-disposition"].startswith("attachment;")

    [mail] = _outbox(desk)
    parts = list(mail.iter_attachments())
    assert [(p.get_filename(), p.get_payload(decode=True)) for p in parts] == [
        ("collect – größe.sh", SCRIPT), ("screen.png", PNG)]


def test_the_multipart_form_still_needs_the_csrf_token(desk, client):
    number = open_case(desk.rt)
    sign_in(client, Role.ANALYST)
    response = client.post(f"/cases/{number}/post", data={"body": "Hi", "action": "post"},
                           files=[("files", ("a.txt", b"hello", "text/plain"))])
    assert response.status_code == 403
    assert _counts(desk) == (0, 0)


def test_an_empty_file_input_sends_the_update_alone(desk, client):
    """A browser sends the untouched file input as a part without name or bytes."""
    number = open_case(desk.rt)
    sign_in(client, Role.ANALYST)
    token = csrf_of(client.get(f"/cases/{number}").text)
    response = client.post(f"/cases/{number}/post",
                           data={"csrf_token": token, "body": "Just text.", "action": "post"},
                           files=[("files", ("", b"", "application/octet-stream"))])
    assert "Update sent to the contact" in client.get(response.headers["location"]).text
    assert _counts(desk) == (1, 0)


@pytest.mark.parametrize(("files", "message"), [
    ([("files", ("big.log", b"x" * 2049, "text/plain"))],
     "big.log is 2049 bytes: a file may be at most 2048 bytes"),
    ([("files", ("a.log", b"x" * 2000, "text/plain")),
      ("files", ("b.log", b"y" * 2000, "text/plain"))], "at most 3000 bytes in all"),
    ([("files", ("empty.txt", b"", "text/plain"))], "empty.txt is empty"),
])
def test_a_refused_upload_says_why_and_sends_nothing(desk, client, files, message):
    number = open_case(desk.rt)
    sign_in(client, Role.ANALYST)
    token = csrf_of(client.get(f"/cases/{number}").text)
    response = client.post(f"/cases/{number}/post", files=files, data={
        "csrf_token": token, "body": "See attached.", "action": "request_info"})
    page = client.get(response.headers["location"]).text
    assert "Not done: " in page and message in page
    assert 'id="case-status">open<' in page
    assert _counts(desk) == (0, 0)
    assert not desk.rt.settings.blob_dir.exists() or not any(
        desk.rt.settings.blob_dir.rglob("*"))


def test_the_api_takes_files_in_base64(desk, client):
    number = open_case(desk.rt)
    response = client.post(f"/api/v1/cases/{number}/updates", headers=desk.bearer(), json={
        "body": "The manual.", "action": "propose_solution",
        "attachments": [{"filename": "Handbuch – Drucker.pdf", "content_type": "text/html",
                         "content_base64": base64.b64encode(b"%PDF-1.4 manual").decode()}]})
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["status"] == "solution_proposed"
    [sent] = result["attachments"]
    assert (sent["filename"], sent["content_type"], sent["size"]) == (
        "Handbuch – Drucker.pdf", "application/pdf", 15)
    [mail] = _outbox(desk)
    [part] = mail.iter_attachments()
    assert part.get_payload(decode=True) == b"%PDF-1.4 manual"
    schema = client.get("/api/openapi.json", headers=desk.bearer()).json()
    assert "NewAttachment" in schema["components"]["schemas"]


def test_the_api_refuses_bad_base64_and_big_files(desk, client):
    number = open_case(desk.rt)
    url = f"/api/v1/cases/{number}/updates"
    bad = client.post(url, headers=desk.bearer(), json={
        "body": "x", "attachments": [{"filename": "a.bin", "content_base64": "@@@"}]})
    assert bad.status_code == 422 and "base64" in bad.json()["error"]["message"]
    big = client.post(url, headers=desk.bearer(), json={
        "body": "x", "attachments": [{"filename": "a.bin",
                                      "content_base64": base64.b64encode(b"x" * 4000).decode()}]})
    assert big.status_code == 409 and "a file may be at most" in big.json()["error"]["message"]
    assert _counts(desk) == (0, 0)
