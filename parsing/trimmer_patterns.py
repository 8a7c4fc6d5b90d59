"""Line-classification tables and matchers for :mod:`parsing.trimmer`.

Ported from the ideas (not the code) of discourse/email_reply_trimmer. Every matcher here looks
at a single line (or a few lines joined into one) whose length the caller has capped, and every
regex is either anchored, prefiltered by a cheap substring test, or written with possessive /
bounded quantifiers, so no input can make a matcher backtrack for long.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from parsing import trimmer_i18n

# Ruby's [[:blank:]]: whitespace that does not break the line (space, tab, NBSP, ...); BL is the
# bare character-class body so it can be combined with other characters.
BL = r" \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
B = f"[{BL}]"
BL_CHARS = " \t\u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"

# Lines longer than this never get the regex matchers: quote headers and "sent from" lines are
# short, and the cap is what keeps every per-line regex cheap on hostile input.
MAX_LINE = 500

DELIMITER_CHARS = "-_,=+~#*ᐧ—"

_ONE_LINE_SIGNATURES = [
    r"\w+ from mobile",
    r"[(<]*sent (?:from|via|with|by) .",
    # Upstream matches any line starting "From my"; requiring a short line keeps the
    # author's own "From my point of view, ..." sentences.
    r"from my .{1,20}$",
    "get outlook for ",
    "envoyé depuis (?:mon|yahoo mail)",
    r"von meinem .+ gesendet",
    r"diese nachricht wurde von .+ gesendet",
    "inviato da ",
    "sendt fra min ",
    "enviado do meu ",
    "enviado desde mi ",
    "verzonden met ",
    "verstuurd vanaf mijn ",
    "från min ",
]
# Outlook mobile's "Get Outlook for iOS/Android" and the iPhone line, as clients localise them
# (a line the author's text goes on after stays: trimmer_kinds.signatures_before_text). Each
# holds a non-ASCII character or "outlook": ``may_be_localised`` gates them.
_LOCALISED_SIGNATURES = [
    "envoyé de mon ",
    "télécharger outlook pour ",
    "gesendet von outlook für ",
    r"outlook für (?:ios|android) herunterladen",
    "obtener outlook para ",
    "scarica outlook per ",
    r"outlook voor (?:ios|android) downloaden",
    "obter o outlook para ",
    "skickat från min ",
    "wysłane z mojego ",
    "отправлено с моего ",
    "odesláno z mého ",
    "lähetetty iphonesta",
    r"(?:iphone|ipad)から送信",
    r"发自我的 ?(?:iphone|ipad|手机)",
    "從我的 iPhone 傳送",
]
SIGNATURE = re.compile(
    rf"{B}*(?:{'|'.join(_ONE_LINE_SIGNATURES + _LOCALISED_SIGNATURES)})", re.I
)
_SIGNATURE_FIRST = re.compile(rf"{B}*(?:{'|'.join(_ONE_LINE_SIGNATURES)})", re.I)
_SIGNATURE_LOCALISED = re.compile(rf"{B}*(?:{'|'.join(_LOCALISED_SIGNATURES)})", re.I)
# Markdown links are unwrapped before the signature test ("Sent from [Outlook](https://...)").
# The label excludes "[" so each "[" starts at most one short scan.
MARKDOWN_LINK = re.compile(r"\[([^\[\]]+)\]\([^()]*\)")


# "On <date>, <someone> wrote:" in several languages: (opener, words that stop the lazy scan,
# closer). The scan between opener and closer may not cross another opener/closer word, so a
# sentence that merely starts with "On" does not swallow the text up to a later "wrote".
_ON_DATE_SOMEONE_WROTE = [
    ("在", "在|写道", "写道"),  # Chinese
    ("Op", r"Op|het\svolgende\sgeschreven|schreef", r"het\svolgende\sgeschreven|schreef[^:]+"),
    ("In message", "In message|writes", "writes"),  # English (usenet)
    ("(?:On|At)", "On|wrote|writes|says|said", "wrote|writes|says|said"),  # English
    ("Le", r"Le|nous\sa\sdit|a\s+écrit", r"nous\sa\sdit|a\s+écrit"),  # French
    ("Am", r"Am|schrieben\sSie", r"schrieben\sSie"),  # German (formal)
    ("Am", "Am|geschrieben", "geschrieben|schrieb[^:]+"),  # German
    ("Il", r"Il|ha\sscritto", r"ha\sscritto"),  # Italian
    ("(?:Dnia|Dňa)", "Dnia|Dňa|napisał", r"napisał(?:\(a\))?"),  # Polish / Slovak
    ("Em", "Em|escreveu", "escreveu"),  # Portuguese
    ("El", "El|escribió", "escribió"),  # Spanish
]
ON_DATE_SOMEONE_WROTE = re.compile(
    rf"[{BL}<>-]*(?:"
    + "|".join(
        rf"{on} (?:(?!\b(?>{stop})\b).)+?(?:{wrote})" for on, stop, wrote in _ON_DATE_SOMEONE_WROTE
    )
    + rf")[{BL}.:>-]*$",
    re.I,
)
# "Am ... schrieb X <x@y" / "Op ... schreef X het": the header goes on past the line end.
OPEN_ENDED_WROTE = re.compile(rf"[{BL}<>-]*(?:Am|Op) .*?\b(?:schrieb|schreef)[^:]*$", re.I)
# Cheap tests used to decide whether a header may have been wrapped over several lines.
_OPENERS = "在|Op|In message|On|At|Le|Am|Il|Dnia|Dňa|Em|El"
ON_DATE_OPENER = re.compile(rf"[\s<>-]*(?:{_OPENERS}) ", re.I)
# ON_DATE_OPENER at the start of every line of "\n" + text. The regex engine skips from one
# "\n" to the next in C; the leading spaces are one class (str.isspace less "\n", what "\s"
# matches), and a look-ahead at the words' first letters spares most lines the twelve
# case-folded words (26 lines of the bench mail: 102k -> 28k instructions, callgrind).
_LINE_SPACE = re.escape("".join(c for c in map(chr, range(0x3001)) if c.isspace() and c != "\n"))
_OPENER_FIRSTS = "".join(sorted({word[0] for word in _OPENERS.split("|")}))
ON_DATE_OPENER_LINES = re.compile(
    rf"\n[{_LINE_SPACE}<>\-]*+(?=[{_OPENER_FIRSTS}])(?:{_OPENERS}) ", re.I
)
ON_DATE_CLOSER = re.compile(  # matched against lower-cased lines
    r"写道|geschreven|schreef|writes|wrote|says|said|a dit|écrit|schrieben|schrieb|scritto"
    r"|napisał|escreveu|escribió"
)

# "Am 18.09.2013 um 16:24 schrieb codinghorror <info@discourse.org>:" (the name comes last).
ON_DATE_WROTE_SOMEONE = re.compile(
    rf"[{BL}>]*(?:Op|Am|Den|søn\.)\s.+\s(?:schreef|schrieb|skrev)\s[^:]++:"
)
# "суббота, 14 марта 2015 г. пользователь etewiah написал:", "... napisał(a):", "... пише:"
YEAR_THEN_WROTE = ("napisał(a):", "пише:")
DATE_SOMEONE_WROTE_CLOSERS = (*YEAR_THEN_WROTE, "написал:")
DATE_SOMEONE_WROTE_RU = re.compile(r"\d{4}.{1,80}пользователь.{0,160}?написал:")
# Spelled out: "\d{4}" runs a repeat loop per position, 2x slower (1.8 vs 3.8 us a line).
FOUR_DIGITS = re.compile(r"\d\d\d\d")
# "<someone@example.com>" closing a line, possibly followed by ":".
ANGLE_EMAIL_AT_END = re.compile(r"<[^@<>]++@[^@<>.]++\.[^@<>]++>:?$")
# "Max Mustermann <x@y.z> schrieb am Fr., 28. Apr. 2017 um 11:53 Uhr:"
SOMEONE_WROTE_ON_DATE = re.compile(r"\bwrote\s+on\b|\bschrieb\s+am\b")
COLON_AFTER_TEXT = re.compile(r"[^:]:")
# "2016-03-03 17:21 GMT+01:00 Some One"
ISO_DATE_SOMEONE = re.compile(rf"[{BL}>]*20\d\d-\d\d-\d\d \d\d:\d\d GMT\+\d\d:\d\d [\w{BL}]+$")
# The "@domain.tld" part of an address; the local part is checked by hand (see trimmer).
EMAIL_TAIL = re.compile(r"(?<=[\w.+-])@[\w.-]+\.\w{2,}\b")
POSTED_BY_SOMEONE_ON_DATE = re.compile(rf"[{BL}>]*Posted by .+ on \d\d/\d\d/\d{{4}}$", re.I)
# The words between the dashes of Outlook's and other clients' "-----Original Message-----"
# and "---------- Forwarded message ----------" lines, per language.
_SEPARATOR_WORDS = [
    "(?:Forwarded|Original|Reply) Message", "Message transféré", "Message d['’]origine",  # en, fr
    "Ursprüngliche Nachricht", "Originalnachricht", "Antwort Nachricht",  # de
    "Weitergeleitete Nachricht",
    "Mensaje original", "Mensaje reenviado",  # es
    "Mensagem original", "Mensagem encaminhada",  # pt
    "Messaggio originale", "Messaggio inoltrato",  # it
    "Oorspronkelijk bericht", "Origineel bericht", "Doorgestuurd bericht",  # nl
    "Oprindelig meddelelse", "Oprindelig besked", "Videresendt meddelelse",  # da
    "Opprinnelig melding", "Videresendt melding",  # no
    "Ursprungligt meddelande", "Originalmeddelande", "Vidarebefordrat meddelande",  # sv
    "Alkuperäinen viesti", "Välitetty viesti",  # fi
    "Wiadomość oryginalna", "Oryginalna wiadomość", "Przekazana wiadomość",  # pl
    "Původní zpráva", "Pôvodná správa", "Eredeti üzenet", "Orijinal ileti",  # cs, sk, hu, tr
    "Исходное сообщение", "Пересылаемое сообщение", "Αρχικό μήνυμα",  # ru, el
    "原始邮件", "原始郵件", "元のメッセージ", "転送されたメッセージ", "원본 메시지",  # zh, ja, ko
]  # fmt: skip
FORWARDED = re.compile(
    rf"[{BL}>]*(?:Begin forwarded message:|Début du message transféré :)"
    rf"|[{BL}>*]*-{{2,}}{B}*(?:{'|'.join(_SEPARATOR_WORDS)}){B}*-{{2,}}",
    re.I,
)

# Outlook-style header blocks ("From: ... / Sent: ... / To: ... / Subject: ...").
_HEADERS_WITH_DATE = [
    "Sendt", "Sent", "Date", "Le", "Gesendet", "Enviada em", "Enviado", "Fecha", "Data",
    "Datum", "Skickat", "发送时间",
]  # fmt: skip
# Outlook in other languages (the block the trimmer cuts needs three header lines); tried only
# on lines ``may_be_localised`` lets through (a colon near the start, or non-ASCII).
_LOCALISED_HEADERS_WITH_DATE = [
    "Dato", "Envoyé", "Enviado el", "Inviato", "Verzonden", "Wysłano", "Odesláno", "Odoslané",
    "Lähetetty", "Отправлено", "Дата", "Надіслано", "Gönderildi", "Elküldve", "Dátum",
    "Στάλθηκε", "送信日時", "日付", "寄件日期", "发送日期", "보낸 날짜",
]  # fmt: skip
_HEADERS_WITH_TEXT = [
    "Fra", "Til", "Emne",  # Norwegian
    "From", "To", "Cc", "Reply-To", "Subject",  # English
    "De", "Expéditeur", "À", "Destinataire", "Répondre à", "Objet",  # French
    "Von", "An", "Betreff",  # German
    "Para", "Assunto", "Asunto",  # Portuguese, Spanish
    "Da", "Risposta", "A", "Oggetto",  # Italian
    "Van", "Beantwoorden - Aan", "Aan", "Onderwerp",  # Dutch
    "Från", "Till", "Ämne",  # Swedish
    "发件人", "收件人", "主题",  # Chinese
]  # fmt: skip
_LOCALISED_HEADERS_WITH_TEXT = [
    "抄送",  # Chinese
    "寄件者", "收件者", "主旨", "副本",  # Chinese (Taiwan)
    "差出人", "宛先", "件名",  # Japanese
    "보낸 사람", "받는 사람", "제목", "참조",  # Korean
    "Od", "Do", "Temat", "DW",  # Polish
    "Komu", "Předmět", "Kopie", "Predmet", "Kópia",  # Czech, Slovak
    "Lähettäjä", "Vastaanottaja", "Aihe", "Kopio",  # Finnish
    "От", "Від", "Кому", "Тема", "Копия", "Копія",  # Russian, Ukrainian
    "Kimden", "Kime", "Konu", "Bilgi",  # Turkish
    "Feladó", "Címzett", "Tárgy", "Másolat",  # Hungarian
    "Από", "Προς", "Θέμα", "Κοιν",  # Greek
]  # fmt: skip


def _header_rx(names: list[str], tail: str, flags: int = 0) -> re.Pattern[str]:
    # CJK clients may write the full-width colon.
    return re.compile(rf"[{BL}*]*(?:{'|'.join(names)})[{BL}*]*[:：]{tail}", flags)


HEADER_WITH_DATE = _header_rx(_HEADERS_WITH_DATE + _LOCALISED_HEADERS_WITH_DATE, r".*\d")
HEADER_WITH_TEXT = _header_rx(_HEADERS_WITH_TEXT + _LOCALISED_HEADERS_WITH_TEXT, r".*\w", re.I)
_HEADER_DATE_FIRST = _header_rx(_HEADERS_WITH_DATE, r".*\d")
_HEADER_TEXT_FIRST = _header_rx(_HEADERS_WITH_TEXT, r".*\w", re.I)
_HEADER_DATE_LOCALISED = _header_rx(_LOCALISED_HEADERS_WITH_DATE, r".*\d")
_HEADER_TEXT_LOCALISED = _header_rx(_LOCALISED_HEADERS_WITH_TEXT, r".*\w", re.I)

# Other quoting styles, rewritten to "> " before classification.
QUOTE_PREFIX = re.compile(rf"(?:{B}*+[^\W\d_]*+[>|])++")  # "JD> ", "| ", "> > "
QUOTE_MARK = re.compile(r"[^\W\d_]+>|\|")
# The line starts of "\n" + text where QUOTE_PREFIX matches something other than blanks and
# ">" (a letter or a "|"): the only lines that rewriting changes.
QUOTE_PREFIX_TO_REWRITE = re.compile(rf"\n[{BL}>]*+(?:[^\W\d_]++[>|]|\|)")
# Both line-start searches in one pass over "\n" + text (each is a scan for "\n" in the regex
# engine, 12k instructions a bench mail, callgrind): group "rewrite" is a
# QUOTE_PREFIX_TO_REWRITE line, any other match an ON_DATE_OPENER_LINES one. No line can match
# both (the rewrite ends in ">" or "|" right after letters, an opener needs a space there), and
# the openers are only used when nothing is rewritten, so the text they are found in is the text
# the joiner gets.
LINE_STARTS = re.compile(
    rf"\n(?:(?P<rewrite>{QUOTE_PREFIX_TO_REWRITE.pattern[2:]})"
    rf"|(?i:{ON_DATE_OPENER_LINES.pattern[2:]}))"
)
ALIAS_QUOTE_HEADER = re.compile(r'.*>{5} "[^"]+" == .+ writes:')
ENCLOSED_OPEN = re.compile(r">>> ?(.+?) ?>>>")
ENCLOSED_CLOSE = re.compile(r"<<< ?(.+?) ?<<<")
ENCLOSED_FENCE = {">": re.compile(rf">{{4,}}{B}*"), "<": re.compile(rf"<{{4,}}{B}*")}
UNSUBSCRIBE = re.compile(r"Unsubscribe: .+@.+", re.I)
CODE_CLOSE = re.compile(r" {0,3}```\s*$")

# The anchored rules in one regex, in upstream's order of precedence (signature, then marker,
# then header), so classifying a line costs a single regex call.
EMBEDDED_ANCHORED = re.compile(
    "|".join(
        f"(?i:{rx.pattern})" if rx.flags & re.I else rx.pattern
        for rx in (
            ON_DATE_SOMEONE_WROTE,
            ON_DATE_WROTE_SOMEONE,
            ISO_DATE_SOMEONE,
            POSTED_BY_SOMEONE_ON_DATE,
            FORWARDED,
        )
    )
)
LINE_KIND = re.compile(
    f"(?P<signature>(?i:{_SIGNATURE_FIRST.pattern}))|(?P<embedded>{EMBEDDED_ANCHORED.pattern})"
    f"|(?P<header>{_HEADER_DATE_FIRST.pattern}|(?i:{_HEADER_TEXT_FIRST.pattern}))"
)
# The localised signatures and headers, with LINE_KIND's groups (``embedded`` never matches).
# Tried only when LINE_KIND found nothing and the line can hold one (``may_be_localised``): each
# localised signature has a non-ASCII character or "outlook", each header a colon within
# HEADER_NAME_REACH characters. An English prose line then pays three C-level tests instead of
# eighty more alternatives; the bench mail's parse costs about 7k instructions (0.4%) more than
# before these words (callgrind, collector off).
LINE_KIND_LOCALISED = re.compile(
    f"(?P<signature>(?i:{_SIGNATURE_LOCALISED.pattern}))|(?P<embedded>(?!))"
    f"|(?P<header>{_HEADER_DATE_LOCALISED.pattern}|(?i:{_HEADER_TEXT_LOCALISED.pattern}))"
)
HEADER_NAME_REACH = 48  # characters: the longest name is 18, plus blanks and "*"


# The names of the localised headers an ASCII line can hold, lower case (ascii_localised_head).
_ASCII_LOCALISED_NAMES = frozenset(name.lower() for name in _LOCALISED_HEADERS_WITH_DATE
                                   + _LOCALISED_HEADERS_WITH_TEXT if name.isascii())


def may_be_localised(line: str) -> bool:
    """Whether ``LINE_KIND_LOCALISED`` can match ``line``: its signatures hold a non-ASCII
    character or "Outlook"; its headers a colon near the start (or non-ASCII), with only
    their name before it on an ASCII line (``ascii_localised_head``)."""
    if not line.isascii() or "utlook" in line:
        return True
    colon = line.find(":", 0, HEADER_NAME_REACH)
    return colon != -1 and ascii_localised_head(line, colon)


def ascii_localised_head(line: str, colon: int) -> bool:
    """For an ASCII ``line`` whose first colon is at ``colon``: can a localised header (only
    its name and blanks or "*" before the line's first colon) or signature (the ASCII ones hold
    "outlook") match it? A prose line "Update 5: ...": _classify 34k -> 27k instr. (callgrind)."""
    return line[:colon].strip(" \t*").lower() in _ASCII_LOCALISED_NAMES or "outlook" in line.lower()


def line_numbers(text: str, offsets: Iterable[int]) -> list[int]:
    """The numbers of the lines of ``text`` that hold the ascending ``offsets``."""
    numbers, line, pos = [], 0, 0
    for at in offsets:
        line += text.count("\n", pos, at)
        pos = at
        numbers.append(line)
    return numbers


# --------------------------------------------------------------------------- matchers
# Each takes one line no longer than MAX_LINE.


def is_signature(line: str) -> bool:
    """A "Sent from my phone" style line, which is dropped wherever it appears."""
    if "](" in line:
        line = MARKDOWN_LINK.sub(r"\1", line)
    return SIGNATURE.match(line) is not None


def is_embedded(line: str) -> bool:
    """A line that introduces a quoted or forwarded message ("On ..., X wrote:")."""
    return EMBEDDED_ANCHORED.match(line) is not None or embedded_by_content(line)


def embedded_by_content(line: str) -> bool:
    """The marker rules that are not anchored at the start of the line."""
    # Each rule is tried only where the text it needs is there (these gates are what the
    # rules test first): the bare ">" of a quoted blank line used to run all six (13k -> 0.7k
    # instructions, callgrind). tests/parsing/test_trimmer_fastpaths.py holds the old chain.
    if ("wrote" in line or "schrieb" in line) and (
        someone_wrote_on_date(line) or someone_via_something_wrote(line)
        or someone_email_wrote(line)
    ):
        return True
    if "<" in line and date_someone_email(line):
        return True
    # The other two need a colon (a full-width one in CJK text).
    if ":" not in line and "：" not in line:
        return False
    if line.isascii():
        # date_someone_wrote's closers are not ASCII, and an attribution ends with its colon
        # (is_attribution strips the line and the ">" before it, not after).
        return line.rstrip().endswith(":") and trimmer_i18n.is_attribution(line)
    return date_someone_wrote(line) or trimmer_i18n.is_attribution(line)


def date_someone_wrote(line: str) -> bool:
    """'<date with a year> ... napisał(a):' / '... пише:' / '... пользователь X написал:'."""
    if "написал:" in line and DATE_SOMEONE_WROTE_RU.search(line):
        return True
    for closer in YEAR_THEN_WROTE:
        at = line.find(closer)
        while at != -1:
            # A four-digit year must end 1..160 characters before the closer.
            if FOUR_DIGITS.search(line, max(0, at - 164), at - 1):
                return True
            at = line.find(closer, at + 1)
    return False


def date_someone_email(line: str) -> bool:
    """'2015-10-18 0:17 GMT+03:00 Matt Palmer <info@discourse.org>:' and the like."""
    lt = line.rfind("<")
    if lt < 5 or not ANGLE_EMAIL_AT_END.match(line, lt):
        return False
    # A four-digit year must end 1..81 characters before the "<".
    return FOUR_DIGITS.search(line, max(0, lt - 85), lt - 1) is not None


def someone_wrote_on_date(line: str) -> bool:
    """'Max <x@y.z> schrieb am Fr., 28. Apr. 2017 um 11:53 Uhr:'."""
    if "wrote" not in line and "schrieb" not in line:
        return False
    for m in SOMEONE_WROTE_ON_DATE.finditer(line):
        if m.start() >= 1:
            return COLON_AFTER_TEXT.search(line, m.end() + 1) is not None
    return False


def someone_via_something_wrote(line: str) -> bool:
    """'codinghorror via Discourse Meta wrote:'."""
    s = line.rstrip().removesuffix(":")
    for wrote in (" wrote", " schrieb"):
        if s.endswith(wrote):
            head = s[: -len(wrote)]
            at = head.find(" via ", 1)
            return at != -1 and at + 5 < len(head)
    return False


def someone_email_wrote(line: str) -> bool:
    """'Some One <info@discourse.org> wrote:'."""
    s = line.removesuffix(":")
    if not s.endswith("wrote") or "@" not in s:
        return False
    head = s[:-5]
    for m in EMAIL_TAIL.finditer(head):
        if m.end() < len(head) and _local_part_starts_after_text(head, m.start()):
            return True
    return False


def _local_part_starts_after_text(s: str, at: int) -> bool:
    # The address's local part must begin at a word boundary with something before it.
    i = at
    while i > 1 and (s[i - 1].isalnum() or s[i - 1] in "_.+-"):
        i -= 1
        if _is_word(s[i - 1]) != _is_word(s[i]):
            return True
    return False


def _is_word(c: str) -> bool:
    return c.isalnum() or c == "_"
