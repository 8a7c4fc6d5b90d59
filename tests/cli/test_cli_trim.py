"""`ticketgate parse --json` shows the customer's new text as `visible_reply`, without the quote.

The trimmer's held-out faults (bench/heldout_trim.py), proven at the entry point: a mail goes
in as bytes, through MIME decoding and the trimmer, and its visible reply comes out.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def mail(tmp_path: Path, body: str) -> str:
    path = tmp_path / "reply.eml"
    path.write_bytes(
        b"From: Customer <customer@example.org>\r\nTo: care@desk.example\r\n"
        b"Subject: Re: printer\r\nMessage-ID: <r1@example.org>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body.replace("\n", "\r\n").encode("utf-8")
    )
    return str(path)


@pytest.mark.parametrize(
    ("body", "visible"),
    [
        ("Fixed, thanks On Wed, Apr 4, 2012 at 3:59 PM, care@desk.example wrote:\n> Is it fixed?",
         "Fixed, thanks"),
        ("See below.\n\nOn 04/19/2011 07:10 AM, Care wrote:\n\n> Which version?\n\nVersion 4.2.",
         "See below.\n\nVersion 4.2."),
        ("Q: why does it fail?\nA: the disk is full.\n\n> Please tell us why.",
         "Q: why does it fail?\nA: the disk is full."),
        ("It arrived broken.\nSent by courier on Monday, tracking 1234.\nPlease advise.\n\n"
         "Sent from my iPhone\n\n> Did the parcel arrive?",
         "It arrived broken.\nSent by courier on Monday, tracking 1234.\nPlease advise."),
        ("Merci, c'est réglé.\n\n-----Message d'origine-----\nDe : Care\n\nL'ancien message.",
         "Merci, c'est réglé."),
        ("Спасибо, работает.\n\nОт: Care <care@desk.example>\nОтправлено: 4 марта 2024 г. 10:15\n"
         "Кому: Иван\nТема: Принтер\n\nПринтер починен?", "Спасибо, работает."),
        ("Hello,\n\nTo: whom it may concern,\nmy printer broke and the\nlights blink.\n"
         "Date: 12.03.2024\n\nRegards, Bob\n\n> Any news?",
         "Hello,\n\nTo: whom it may concern,\nmy printer broke and the\nlights blink.\n"
         "Date: 12.03.2024\n\nRegards, Bob"),
        ("Merci.\n\nTélécharger Outlook pour iOS<https://aka.ms/o0ukef>\n"
         "________________________________\nFrom: Care <care@desk.example>\n"
         "Sent: Thursday, September 26, 2019 11:35:12 AM\nTo: Client\nSubject: Ticket\n\nRéglé ?",
         "Merci."),
        ("Please call me back.\n\nFrom: Care Desk \n<care+1234556@desk.example> \n"
         "Sent: Monday, August 26, 2019 4:37 PM\nTo: Customer <customer@example.org>\n"
         "Subject: Ticket\n\nIs it fixed?", "Please call me back."),
    ],
    ids=["glued-attribution", "answer-below-quote", "lone-header-like-line", "sent-by-sentence",
         "message-d-origine", "outlook-block-ru", "text-between-header-like-lines",
         "outlook-mobile-fr", "outlook-wrapped-from"],
)
def test_parse_json_shows_the_new_text_only(cli, tmp_path, body, visible):
    """The visible reply is the customer's words: none lost, none of the quote kept."""
    [shown] = cli("parse", "--json", mail(tmp_path, body)).out
    assert shown["visible_reply"] == visible
