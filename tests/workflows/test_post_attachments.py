"""Files on an analyst's update: in the mail byte for byte, on the case, and refused cleanly."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from parsing import parse
from tests.conftest import KEY
from tests.support import open_case
from workflows.cases import service as cases
from workflows.cases import views
from workflows.errors import Refused
from workflows.outbound.files import Upload, clean_filename, content_type_of
from workflows.outbound.outbox import TransportError, send_queued
from workflows.storage.blobs import blob_path, read_blob
from workflows.storage.models import Attachment, Case, CaseUpdate, OutboundMessage

BINARY = bytes(range(256)) * 40 + b"\r\n\n\r\x00end"  # every byte value, bare CR and LF
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _post(rt, number, files, *, settings=None, action="request_info", body="Logs attached."):
    with rt.db.transaction() as s:
        out = cases.post_update(s, settings or rt.settings, rt.key, number=number, body=body,
                                action=action, now=rt.now(), actor="analyst@desk.example",
                                attachments=files)
        out_id = out.id
    rt.send_outbox([out_id])
    with rt.db.transaction() as s:
        row = s.get(OutboundMessage, out_id)
        assert row is not None
        return out_id, row.raw


def _mail(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_the_mail_carries_the_files_byte_exact_after_the_text(rt, people):
    """multipart/mixed: the text+HTML alternative first (what a client shows), then the files,
    each decoding to exactly the bytes the analyst attached."""
    number = open_case(rt)
    _out, raw = _post(rt, number, [Upload("collect.bin", BINARY), Upload("manual.pdf", PDF)])
    msg = _mail(raw)
    assert msg.get_content_type() == "multipart/mixed"
    first, *files = msg.iter_parts()
    assert first.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in first.iter_parts()] == ["text/plain", "text/html"]
    assert "Logs attached." in msg.get_body(("plain",)).get_content()
    assert [(f.get_filename(), f.get_content_type(), f.get_content_disposition())
            for f in files] == [("collect.bin", "application/octet-stream", "attachment"),
                                ("manual.pdf", "application/pdf", "attachment")]
    assert [f.get_payload(decode=True) for f in files] == [BINARY, PDF]
    # What the file transport wrote is the outbox row, unchanged.
    written = list(rt.settings.outbox_dir.glob("*.eml"))
    assert [p.read_bytes() for p in written] == [raw]


def test_the_files_are_stored_on_the_case_like_inbound_ones(rt, people):
    """A blob named by its hash, a row linked to the case and to the mail that the update
    names; the case view lists it with that link."""
    number = open_case(rt)
    out_id, _raw = _post(rt, number, [Upload("collect.bin", BINARY)])
    with rt.db.transaction() as s:
        case = cases.find_case(s, number)
        att = s.scalars(select(Attachment)).one()
        update = s.scalars(select(CaseUpdate).where(CaseUpdate.outbound_message_id == out_id)
                           ).one()
        detail = views.case_detail(s, number)
        assert case.status == "awaiting_info"
    assert (att.case_id, att.outbound_message_id, att.inbound_message_id) == (case.id, out_id,
                                                                              None)
    assert (att.filename, att.size, att.content_type) == ("collect.bin", len(BINARY),
                                                          "application/octet-stream")
    assert read_blob(rt.settings.blob_dir, att.sha256) == BINARY
    assert update.case_id == case.id
    [view] = detail.attachments
    assert (view.id, view.outbound_message_id, view.filename) == (att.id, out_id,
                                                                  "collect.bin")


def test_a_non_ascii_filename_round_trips(rt, people):
    """RFC 2231: the header stays ASCII (``filename*=utf-8''...``, continued when long) and
    both the stdlib and our own parser read the exact name back."""
    name = "Größenprotokoll – Störung im Rechenzentrum 東京 (Seite 2 von 2).log"
    number = open_case(rt)
    _out, raw = _post(rt, number, [Upload(name, b"line 1\nline 2\n")])
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(b < 0x80 for b in head)
    assert b"filename*" in raw
    [part] = _mail(raw).iter_attachments()
    assert part.get_filename() == name
    assert part.get_content_type() == "text/plain"
    assert part.get_payload(decode=True) == b"line 1\nline 2\n"
    [ours] = parse(raw, key=KEY).attachments
    assert (ours.filename, ours.payload) == (name, b"line 1\nline 2\n")


def test_a_line_break_in_a_filename_cannot_inject_a_header(rt, people):
    """CR/LF (and NUL) in a name become spaces: the name stays one parameter value."""
    evil = "report\r\nBcc: victim@evil.example\r\nX-Evil: 1\x00.pdf"
    number = open_case(rt)
    _out, raw = _post(rt, number, [Upload(evil, PDF)])
    msg = _mail(raw)
    for part in msg.walk():
        assert part["Bcc"] is None and part["X-Evil"] is None
    lines = raw.split(b"\r\n")
    assert not any(line.lower().startswith((b"bcc:", b"x-evil:")) for line in lines)
    [part] = msg.iter_attachments()
    assert part.get_filename() == "report Bcc: victim@evil.example X-Evil: 1 .pdf"
    with rt.db.transaction() as s:
        assert s.scalars(select(Attachment.filename)).one() == part.get_filename()


@pytest.mark.parametrize(("files", "message"), [
    ([Upload("big.log", b"x" * 1025)], "big.log is 1025 bytes: a file may be at most 1024 "
                                       "bytes"),
    ([Upload("a.log", b"x" * 1000), Upload("b.log", b"y" * 1000)],
     "the files come to 2000 bytes: an update may carry at most 1500 bytes in all"),
    ([Upload("ok.log", b"fine"), Upload("empty.txt", b"")], "empty.txt is empty"),
    ([Upload(f"f{i}.txt", b"x") for i in range(21)], "at most 20"),
])
def test_a_refused_file_leaves_nothing_queued_stored_or_changed(rt, people, files, message):
    """Checked before anything happens: no mail, no row, no blob, no status change."""
    number = open_case(rt)
    small = dataclasses.replace(rt.settings, post_file_max_bytes=1024,
                                post_files_max_bytes=1500)
    with pytest.raises(Refused, match=message):
        _post(rt, number, files, settings=small)
    with rt.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(OutboundMessage)) == 0
        assert s.scalar(select(func.count()).select_from(Attachment)) == 0
        assert s.scalar(select(func.count()).select_from(CaseUpdate)) == 0
        assert s.scalars(select(Case.status)).one() == "open"
    assert not rt.settings.blob_dir.exists() or not any(rt.settings.blob_dir.rglob("*"))
    assert not rt.settings.outbox_dir.exists() or not any(rt.settings.outbox_dir.iterdir())


class FlakyTransport:
    """Refuses the first attempt (4xx), takes the second; keeps what it was given."""

    def __init__(self) -> None:
        self.attempts: list[bytes] = []

    def send(self, raw, sender, recipients, message_id) -> None:
        self.attempts.append(raw)
        if len(self.attempts) == 1:
            raise TransportError("451 4.3.0 try later", temporary=True)


def test_a_retry_sends_the_same_files_even_once_the_blobs_are_gone(rt, people):
    """The outbox row holds the rendered mail, files included: the retry sends those bytes,
    whatever happened to the stored copy since (a purge, say)."""
    number = open_case(rt)
    with rt.db.transaction() as s:
        out_id = cases.post_update(s, rt.settings, rt.key, number=number, body="Script.",
                                   action=None, now=rt.now(), actor="analyst@desk.example",
                                   attachments=[Upload("collect.sh", b"#!/bin/sh\necho hi\n")]
                                   ).id
        sha = s.scalars(select(Attachment.sha256)).one()
    transport = FlakyTransport()
    assert send_queued(rt.db, transport, "care@desk.example", ids=[out_id],
                       now=rt.now()).deferred == 1
    blob_path(rt.settings.blob_dir, sha).unlink()
    retry_at = rt.now() + dt.timedelta(hours=1)  # past the first delay of the backoff
    assert send_queued(rt.db, transport, "care@desk.example", ids=[out_id],
                       now=retry_at).sent == 1
    first, second = transport.attempts
    assert first == second
    [part] = _mail(second).iter_attachments()
    assert part.get_payload(decode=True) == b"#!/bin/sh\necho hi\n"


def test_the_type_comes_from_the_bytes_then_the_name_never_the_client(rt, people):
    """A PDF named .png declared text/html goes out and is stored as a PDF. The declared type
    only labels a part we cannot tell anything about, and only when it is a clean type."""
    number = open_case(rt)
    _out, raw = _post(rt, number, [
        Upload("photo.png", PDF, "text/html"),
        Upload("data.unknownext", b"\x01\x02", "application/x-desk-dump"),
        Upload("other.unknownext", b"\x01\x03", "text/html\r\nX-Evil: 1"),
        Upload("forwarded.eml", b"From: a@b\r\n\r\nhi\r\n", "message/rfc822"),
    ], action=None)
    parts = list(_mail(raw).iter_attachments())
    assert [p.get_content_type() for p in parts] == [
        "application/pdf", "application/x-desk-dump", "application/octet-stream",
        "application/octet-stream"]
    with rt.db.transaction() as s:
        stored = list(s.scalars(select(Attachment.content_type).order_by(Attachment.id)))
    assert stored == ["application/pdf"] + ["application/octet-stream"] * 3


@pytest.mark.parametrize(("given", "kept"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\ana\\Desktop\\report.pdf", "report.pdf"),
    ("invoice\u202efdp.exe", "invoice fdp.exe"),
    ("  ..hidden. ", "hidden"),
    ("", "attachment-1"),
    ("/", "attachment-1"),
    ('""', "''"),
    ('"report".pdf', "'report'.pdf"),
    ("<report>", "(report)"),
    ("x" * 300 + ".tar.gz", "x" * 197 + ".gz"),
])
def test_a_filename_is_a_name_never_a_path(given, kept):
    assert clean_filename(given, 0) == kept


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("logs.tar.gz", b"\x1f\x8b\x08\x00rest", "application/gzip"),
    ("logs.tar.bz2", b"BZh91AY", "application/octet-stream"),
    ("notes.txt", b"hello", "text/plain"),
    ("shot", b"\x89PNG\r\n\x1a\n....", "image/png"),
    ("whatever.xyz123", b"??", "application/octet-stream"),
])
def test_content_types(name, data, expected):
    assert content_type_of(name, data) == expected
