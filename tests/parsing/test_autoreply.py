"""Auto-replies in many languages, vendor headers and challenge-response mail are automated;
people's mail that merely talks about absence, verification or delivery stays human."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from parsing import parse
from parsing.model import AutomationClass
from tests.conftest import ROOT


def mail(headers: str, body: str = "Hello.\n") -> bytes:
    base = "From: Jane <jane@customer.example>\nTo: support@example.com\n"
    return (base + headers.strip("\n") + "\n\n" + body).replace("\n", "\r\n").encode()


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Printer broken",  # en (Outlook)
        "自动回复: 打印机坏了",  # zh-CN (Outlook)
        "自動回覆: 印表機",  # zh-TW
        "Respuesta automática: Impresora",  # es
        "स्वचालित उत्तर: प्रिंटर",  # hi
        "رد تلقائي: الطابعة",  # ar
        "স্বয়ংক্রিয় উত্তর: প্রিন্টার",  # bn
        "Resposta automática: Impressora",  # pt
        "Автоматический ответ: Принтер",  # ru
        "自動応答: プリンター",  # ja
        "Automatische Antwort: Drucker",  # de
        "Réponse automatique : Imprimante",  # fr
        "자동 회신: 프린터",  # ko
        "Odpowiedź automatyczna: Drukarka",  # pl
        "Automatická odpověď: Tiskárna",  # cs
        "Otomatik yanıt: Yazıcı",  # tr
        "Automaattinen vastaus: Tulostin",  # fi
    ],
)
def test_automatic_reply_subjects_in_many_languages(subject: str) -> None:
    """Outlook, Gmail and Notes localise the prefix; each is an autoresponder's."""
    assert parse(mail(f"Subject: {subject}")).automation is AutomationClass.AUTO_REPLY


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-replied",  # RFC 3834 5.1
        "X-Autoreply: yes",
        "X-Autorespond: Printer broken",
        "X-MS-Exchange-Inbox-Rules-Loop: jane@customer.example",
        "Precedence: auto_reply",
    ],
)
def test_autoresponder_headers(header: str) -> None:
    """RFC 3834 and the vendors' own marks, each alone, make a mail automated."""
    assert parse(mail(f"Subject: Re: Printer\n{header}")).automation is (
        AutomationClass.AUTO_REPLY)


def test_challenge_response_is_automated() -> None:
    """'Please confirm you are human' before delivery: a machine asks, not a customer."""
    raw = mail(
        "Subject: Please verify your email address to reach Jane",
        "Hello,\n\nJane uses a sender verification service to block spam. Your message will be "
        "delivered once you confirm that you are a human: click the link below.\n",
    )
    parsed = parse(raw)
    assert parsed.automation is AutomationClass.AUTO_REPLY
    assert "challenge_response" in parsed.automation_rules


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Please verify the attached invoice", "This email is protected by copyright.\n"),
        ("Please confirm your attendance", "Can you confirm you are coming on Friday?\n"),
        ("Annual leave: dates for July", "I am away from 3 to 14 July.\n"),
        ("Auto - repair quote", "The garage sent this.\n"),
        ("Mail delivery to our office is slow", "Your courier failed to deliver twice.\n"),
        ("Re: the following address failed", "The following address failed: ours. Why?\n"),
        ("Failed delivery of my order 1234", "The courier says nobody was home.\n"),
        ("Returned to sender: parcel 99", "Your warehouse sent it back.\n"),
        ("Mail could not be delivered to our CRM", "Since Monday our CRM rejects mail.\n"),
        ("Не доставлено письмо клиенту", "Письмо не дошло до клиента.\n"),
    ],
)
def test_people_writing_about_the_same_things_stay_human(subject: str, body: str) -> None:
    """Words near the rules' words, written by people: never automated."""
    assert parse(mail(f"Subject: {subject}", body)).automation is AutomationClass.HUMAN


def _shared_corpus() -> Path:
    return Path(os.environ.get("TICKETGATE_CORPUS", ROOT.parent / "shared" / "corpus"))


# Corpus messages that are automated by nature: delivery reports kept as parser torture tests.
_AUTOMATED_IN_CORPUS = ("multipart_report", "multipart-report",
                        "raw_email_with_mimepart_without_content_type.eml")  # a DSN


@pytest.mark.corpus
def test_no_human_mail_in_the_shared_corpus_is_called_automated() -> None:
    """Every reply body of the reply-trimmer corpus and every non-report message of the mail
    corpora is human (or list mail): not a bounce, auto-reply, complaint or loop."""
    root = _shared_corpus()
    if not root.is_dir():
        pytest.skip(f"shared corpus not found at {root} (set TICKETGATE_CORPUS)")
    wrong = []
    for folder in ("mikel_mail", "rt_emails"):
        for path in sorted((root / folder).rglob("*")):
            if not path.is_file() or any(m in str(path) for m in _AUTOMATED_IN_CORPUS):
                continue
            parsed = parse(path.read_bytes())
            if parsed.automation not in (AutomationClass.HUMAN, AutomationClass.LIST):
                wrong.append((str(path.relative_to(root)), parsed.automation_rules))
    for path in sorted((root / "email_reply_trimmer" / "emails").glob("*.txt")):
        raw = b"From: a@customer.example\nTo: support@example.com\nSubject: Re: hello\n\n"
        parsed = parse(raw + path.read_bytes())
        if parsed.automation is not AutomationClass.HUMAN:
            wrong.append((str(path.relative_to(root)), parsed.automation_rules))
    assert wrong == []


def test_a_customer_pasting_a_report_into_a_new_mail_stays_human() -> None:
    """Report wording in the body, from a person's address: they want help, it is a case."""
    raw = mail("Subject: Mail could not be delivered to your support address",
               "Hi, I got this:\n\nThe following address(es) failed:\n\n  help@example.com\n")
    assert parse(raw).automation is AutomationClass.HUMAN
