"""parse(): attachments -- filenames, transfer encodings, attached messages, uuencode, TNEF."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import struct
from pathlib import Path

import pytest

from parsing import parse, tnef
from tests.conftest import FIXTURES, ROOT, corpus_root


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def mixed(*parts: str | bytes, subject: str = "files") -> bytes:
    """A multipart/mixed mail with a text body and the given raw parts (headers + body)."""
    head = (
        f"From: a@x.example\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n"
    ).encode()
    body = b"".join(
        b"--B\r\n" + (p.replace("\n", "\r\n").encode() if isinstance(p, str) else p) + b"\r\n"
        for p in parts
    )
    return head + body + b"--B--\r\n"


def tnef_part(payload: bytes) -> bytes:
    return (
        b'Content-Type: application/ms-tnef; name="winmail.dat"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(payload)
    )


def test_rfc2231_continuations_and_charset_in_filename() -> None:
    """RFC 2231 3-4: split, percent-encoded UTF-8 names are joined and decoded."""
    parsed = parse(fixture("rfc2231-filename-continuations.eml"))
    (attachment,) = parsed.attachments
    assert attachment.filename == "プリンターのログ.txt"
    assert (attachment.content_type, attachment.payload) == ("text/plain", b"printer log\n")
    assert parsed.text == "See the attached log."  # a named text part is a file, not body


def test_rfc2047_encoded_filename_is_decoded() -> None:
    """Outlook and old Thunderbird put encoded-words in quoted filenames (not standard, common)."""
    part = (
        'Content-Type: application/pdf; name="=?utf-8?B?UmVjaG51bmcgw5xiZXJzaWNodC5wZGY=?="\n'
        "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK"
    )
    (attachment,) = parse(mixed(part)).attachments
    assert attachment.filename == "Rechnung Übersicht.pdf"
    assert attachment.payload == b"%PDF-1.4\n"


def test_disposition_filename_wins_over_content_type_name() -> None:
    """RFC 2183 filename is the file's name; Content-Type name is the legacy fallback."""
    part = (
        'Content-Type: text/csv; name="old.csv"\n'
        'Content-Disposition: attachment; filename="new.csv"\n\na,b'
    )
    assert parse(mixed(part)).attachments[0].filename == "new.csv"


def test_inline_image_with_content_id_in_related() -> None:
    """Inline images are referenced by cid: from the HTML; they stay inline with their id."""
    raw = (
        b"From: a@x.example\r\nContent-Type: multipart/related; boundary=R\r\n\r\n"
        b"--R\r\nContent-Type: text/html\r\n\r\n<img src='cid:logo@x'>Hi\r\n"
        b"--R\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--R--\r\n"
    )
    (image,) = parse(raw).attachments
    assert (image.inline, image.content_id, image.filename) == (True, "logo@x", None)
    assert image.payload == b"\x89PNG\r\n\x1a\n"


def test_disposition_inline_and_attachment() -> None:
    """Content-Disposition decides inline vs attachment (RFC 2183)."""
    parsed = parse(fixture("apple-mail-reply.eml"))
    assert [(a.filename, a.inline) for a in parsed.attachments] == [("display.png", True)]
    part = 'Content-Type: image/png; name="a.png"\nContent-Disposition: attachment\n\nx'
    assert parse(mixed(part)).attachments[0].inline is False


def test_quoted_printable_attachment_is_decoded() -> None:
    """Payloads are stored decoded, whatever the transfer encoding."""
    part = (
        'Content-Type: text/csv; name="a.csv"\n'
        "Content-Transfer-Encoding: quoted-printable\n\nk=3Dv=\n2"
    )
    assert parse(mixed(part)).attachments[0].payload == b"k=v2"


def test_truncated_base64_keeps_what_decodes_and_reports() -> None:
    """A cut-off upload still yields the complete quanta and a defect, not an exception."""
    parsed = parse(fixture("broken-base64.eml"))
    (image,) = parsed.attachments
    assert image.filename == "screen.png" and image.payload.startswith(b"\x89PNG")
    assert any("invalid base64" in d.description for d in parsed.defects)


def test_attached_message_is_one_attachment_named_after_its_subject() -> None:
    """A forwarded mail is kept whole as message/rfc822, named from its subject."""
    inner = (
        "Content-Type: message/rfc822\n\n"
        "From: b@y.example\nSubject: Old: invoice 7/2024\n\nold body"
    )
    (attachment,) = parse(mixed(inner)).attachments
    assert attachment.content_type == "message/rfc822"
    assert attachment.filename == "Old_ invoice 7_2024.eml"
    assert attachment.payload.endswith(b"old body")


def test_attached_message_without_subject_is_forwarded_eml() -> None:
    """Without a subject the attached message still gets a usable name."""
    (attachment,) = parse(
        mixed("Content-Type: message/rfc822\n\nFrom: b@y.example\n\nx")
    ).attachments
    assert attachment.filename == "forwarded.eml"


def test_x_uuencode_part_is_decoded() -> None:
    """Old Mac and Unix mailers send parts as x-uuencode."""
    encoded = binascii.b2a_uu(b"hello uu world\n").decode()
    part = (
        'Content-Type: text/plain; name="a.txt"\nContent-Transfer-Encoding: x-uuencode\n\n'
        f"begin 644 a.txt\n{encoded}`\nend"
    )
    assert parse(mixed(part)).attachments[0].payload == b"hello uu world\n"


def test_lotus_notes_inline_uuencode_becomes_an_attachment() -> None:
    """Lotus Notes puts 'begin 644 name' blocks in the text body; they are files, not text."""
    encoded = binascii.b2a_uu(b"hello uu world\n")
    raw = (
        b"From: a@x.example\r\n\r\nSee file.\r\n\r\nbegin 644 notes.txt\r\n"
        + encoded
        + b"`\r\nend\r\nBye\r\n"
    )
    parsed = parse(raw)
    assert [(a.filename, a.content_type, a.payload) for a in parsed.attachments] == [
        ("notes.txt", "text/plain", b"hello uu world\n")
    ]
    assert "begin 644" not in parsed.text and "Bye" in parsed.text


def test_winmail_dat_is_unpacked_into_its_files() -> None:
    """Outlook's winmail.dat hides the real attachments; they are unpacked (from_tnef)."""
    parsed = parse(fixture("winmail-dat-attachment.eml"))
    assert [(a.filename, a.from_tnef) for a in parsed.attachments] == [
        ("AUTHORS", True),
        ("README", True),
    ]
    assert b"Authors of tnef" in parsed.attachments[0].payload
    assert parsed.text == "The two files you asked for are attached.\n"


@pytest.mark.corpus
def test_tnef_body_is_used_when_the_mail_has_none() -> None:
    """Some Outlook mail carries its only body inside winmail.dat."""
    payload = (corpus_root() / "tnefparse" / "examples" / "body.tnef").read_bytes()
    raw = (
        b"From: a@x.example\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
        + tnef_part(payload)
        + b"\r\n--B--\r\n"
    )
    parsed = parse(raw)
    assert parsed.html is not None and "<html" in parsed.html.lower()
    assert parsed.text  # converted from the TNEF's HTML body


def test_broken_tnef_stays_a_raw_attachment_with_a_defect() -> None:
    """A winmail.dat that cannot be unpacked is still delivered, as sent."""
    parsed = parse(mixed(tnef_part(b"this is not TNEF at all")))
    (attachment,) = parsed.attachments
    assert (attachment.filename, attachment.from_tnef) == ("winmail.dat", False)
    assert attachment.payload == b"this is not TNEF at all"
    assert any(d.where == "tnef" for d in parsed.defects)


def test_empty_tnef_stays_a_raw_attachment() -> None:
    """A TNEF with a valid signature but nothing inside must not make the file vanish."""
    parsed = parse(mixed(tnef_part(b"\x78\x9f\x3e\x22\x01\x00")))
    assert [(a.filename, a.from_tnef) for a in parsed.attachments] == [("winmail.dat", False)]


def test_hostile_tnef_counts_are_refused_before_unpacking() -> None:
    """tnefparse would loop 4 billion times on this 30-byte file; the budget check refuses it."""
    body = struct.pack("<I", 0xFFFFFFFF) + b"\x02\x00\x01\x00"
    obj = b"\x01" + struct.pack("<HHI", 0x9003, 6, len(body)) + body + struct.pack("<H", sum(body))
    payload = struct.pack("<IH", 0x223E9F78, 1) + obj
    unpacked, problem = tnef.unpack(payload)
    assert unpacked is None and problem is not None and "too costly" in problem


@pytest.mark.corpus
def test_tnef_files_get_a_type_from_their_extension() -> None:
    """Unpacked files carry no MIME type; the extension gives a useful one."""
    payload = (corpus_root() / "tnefparse" / "examples" / "umlaut.tnef").read_bytes()
    parsed = parse(mixed(tnef_part(payload)))
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("TBZ PARIV GmbH.jpg", "image/jpeg"),
        ("image003.jpg", "image/jpeg"),
        ("UmlautAnhang-äüö.txt", "text/plain"),
    ]


def _expected_names() -> dict[str, list[str]]:
    """expected.json's attachment names per example, or {} when the corpus is absent."""
    path = Path(os.environ.get("TICKETGATE_CORPUS", ROOT.parent / "shared" / "corpus"))
    path = path / "tnefparse" / "expected.json"
    if not path.is_file():
        return {}
    files = json.loads(path.read_text())["files"]
    return {name: spec["attachments_long_filenames"] for name, spec in sorted(files.items())}


def _tnefparse_names(payload: bytes) -> list[str] | None:
    """What tnefparse itself reads, to tell our failures from the library's limits."""
    from tnefparse import TNEF

    logger = logging.getLogger("tnefparse")
    logger.disabled = True
    try:
        return [a.long_filename() for a in TNEF(payload, do_checksum=False).attachments]
    except Exception:
        return None
    finally:
        logger.disabled = False


EXPECTED_TNEF = _expected_names()


@pytest.mark.corpus
@pytest.mark.parametrize("name", list(EXPECTED_TNEF) or ["corpus-missing"])
def test_tnef_corpus_attachment_names(name: str) -> None:
    """Each tnefparse example unpacks to the names in expected.json, where tnefparse can."""
    payload = (corpus_root() / "tnefparse" / "examples" / name).read_bytes()
    expected = EXPECTED_TNEF[name]
    library = _tnefparse_names(payload)
    names = [a.filename for a in parse(mixed(tnef_part(payload))).attachments if a.from_tnef]
    if library == expected:
        assert names == expected
    else:  # tnefparse's own limit: keep what it reads, never invent a name
        assert names == [n or None for n in library or []]
