"""``remove_files``: a stored mail loses its files' bytes and keeps its headers and text."""

from __future__ import annotations

import base64
import email
from email.message import EmailMessage
from email.policy import default

from parsing import parse
from parsing.redact import PURGED_HEADER, remove_files

SECRET = b"XYZZY-distinctive-file-bytes-0042"
KEY = b"k" * 32
NOTE = "removed on 2026-12-06"


def _mail_with_files() -> bytes:
    m = EmailMessage()
    m["From"] = "alice@acme.example"
    m["To"] = "care@desk.example"
    m["Subject"] = "Logs attached"
    m["Message-ID"] = "<files-1@acme.example>"
    m.set_content("Here are the logs.\n")
    m.add_alternative("<p>Here are the <b>logs</b>.</p>\n", subtype="html")
    m.add_attachment(SECRET * 40, maintype="application", subtype="pdf", filename="report.pdf")
    m.add_attachment((SECRET * 2).decode(), subtype="plain", filename="notes.txt")
    m.add_attachment(SECRET, maintype="image", subtype="png", filename="écran.png")
    return m.as_bytes()


def _all_decoded(raw: bytes) -> bytes:
    """Every part's payload with its transfer encoding undone, joined (stdlib parser: an
    independent reader of what we wrote)."""
    msg = email.message_from_bytes(raw, policy=default)
    return b"".join(part.get_payload(decode=True) or b"" for part in msg.walk()
                    if not part.is_multipart())


def test_the_files_bytes_are_gone_in_every_encoding():
    """Neither the raw bytes nor any decoded part holds the file's bytes any more."""
    raw = _mail_with_files()
    assert SECRET in _all_decoded(raw)  # the check can see them before
    redacted = remove_files(raw, note=NOTE)
    assert SECRET not in redacted.raw
    assert SECRET not in _all_decoded(redacted.raw)
    assert base64.b64encode(SECRET)[:20] not in redacted.raw


def test_headers_text_and_html_are_kept():
    """What the case shows (subject, sender, text, HTML) parses back the same."""
    raw = _mail_with_files()
    before, after = parse(raw, key=KEY), parse(remove_files(raw, note=NOTE).raw, key=KEY)
    assert (after.subject, after.from_, after.message_id) == (
        before.subject, before.from_, before.message_id)
    assert after.text == before.text
    assert after.html == before.html


def test_each_file_becomes_a_named_placeholder_and_the_purge_is_noted():
    """The placeholders name the files removed; the message says it was purged."""
    redacted = remove_files(_mail_with_files(), note=NOTE)
    assert [f.filename for f in redacted.removed] == ["report.pdf", "notes.txt", "écran.png"]
    mail = parse(redacted.raw, key=KEY)
    assert [a.filename for a in mail.attachments] == [
        "report.pdf.purged.txt", "notes.txt.purged.txt", "écran.png.purged.txt"]
    assert all(NOTE.encode() in a.payload for a in mail.attachments)
    assert email.message_from_bytes(redacted.raw)[PURGED_HEADER].startswith("3 file(s)")


def test_a_mail_without_files_is_unchanged():
    """No file, no rewrite: the stored bytes stay byte for byte."""
    raw = b"From: a@acme.example\r\nSubject: hi\r\n\r\nJust text.\r\n"
    redacted = remove_files(raw, note=NOTE)
    assert redacted.raw == raw and not redacted.changed


def test_a_mail_that_is_one_file_keeps_its_headers():
    """A single-part message whose body is the file: headers stay, the body goes."""
    raw = (b"From: a@acme.example\r\nSubject: scan\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: application/octet-stream; name=scan.bin\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(SECRET * 5))
    redacted = remove_files(raw, note=NOTE)
    assert SECRET not in _all_decoded(redacted.raw)
    mail = parse(redacted.raw, key=KEY)
    assert mail.subject == "scan"
    assert [a.filename for a in mail.attachments] == ["scan.bin.purged.txt"]


def test_a_uuencoded_file_is_cut_out_of_the_text():
    """Lotus Notes puts files inside the text body: the text stays, the file goes."""
    import binascii
    lines = b"".join(binascii.b2a_uu(SECRET[i:i + 45]) for i in range(0, len(SECRET), 45))
    raw = (b"From: a@acme.example\r\nSubject: uu\r\n\r\nSee the file.\r\n\r\n"
           b"begin 644 data.bin\r\n" + lines.replace(b"\n", b"\r\n") + b"`\r\nend\r\n")
    assert parse(raw, key=KEY).attachments[0].payload == SECRET  # the parser finds it
    redacted = remove_files(raw, note=NOTE)
    mail = parse(redacted.raw, key=KEY)
    assert SECRET not in _all_decoded(redacted.raw)
    assert mail.attachments == ()
    assert "See the file." in mail.text and "data.bin" in mail.text


def test_a_delivery_report_is_kept():
    """RFC 3464 reports are about the mail, not files: a bounce still reads as one."""
    raw = (b"From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
           b"--b\r\nContent-Type: text/plain\r\n\r\nIt bounced.\r\n"
           b"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
           b"Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; x@y.example\r\n"
           b"Action: failed\r\nStatus: 5.1.1\r\n--b--\r\n")
    assert remove_files(raw, note=NOTE).raw == raw
