"""Reply attribution lines ("On <date>, X wrote:") in the languages mail clients write them in.

Place in the flow: ``parsing.trimmer`` classifies each line of a reply; a line this module calls
an attribution starts the quoted part, so it and everything quoted after it leave the visible
reply. ``parsing.trimmer_patterns`` keeps the upstream (email_reply_trimmer) rules for English,
German, French, Dutch, Italian, Spanish, Portuguese and Chinese; this module adds the rest as
one rule instead of a regex per client and language:

    the line ends with a colon (":" or the full-width "："),
    it names the author with a verb of writing in some language ("napisał", "пишет", "skrev",
    "kirjoitti", "yazdı", "έγραψε", "写道", "작성", ...),
    and it carries a date or a time (a four-digit year, "10:15", "10.15").

A sentence of the reply itself rarely satisfies all three; one that does ("Dnia 12.03.2024 o
10:15 Jan napisał:") is an attribution. Bidirectional marks (Hebrew and Arabic clients wrap
names in them) are ignored. Every test is a substring search or a bounded regex on a line the
caller has capped at ``parsing.trimmer_patterns.MAX_LINE`` characters.
"""

from __future__ import annotations

import re

# Verbs (and fixed phrases) of writing, lower case, as Gmail, Outlook, Thunderbird and Apple
# Mail put them in attribution lines. Language: example line.
CLOSERS: dict[str, tuple[str, ...]] = {
    "pl": ("napisał(a)", "napisała", "napisał", "pisze"),  # W dniu 12.03.2024 o 10:15, Jan napisał:
    "ru": ("написал(а)", "написала", "написал", "пишет"),  # 12.03.2024 10:15, Иван пишет:
    "uk": ("написав(ла)", "написав", "написала", "пише"),  # 12.03.2024 о 10:15 Іван пише:
    "cs": ("napsal(a)", "napsala", "napsal"),  # Dne 12. 3. 2024 v 10:15 Jan Novák napsal(a):
    "sk": ("napísal(a)", "napísala", "napísal"),  # Dňa 12. 3. 2024 o 10:15 Ján napísal(a):
    "sv/da/no": ("skrev",),  # Den 12 mars 2024 kl. 10:15 skrev Anna <anna@x.se>:
    "fi": ("kirjoitti",),  # ti 12.3.2024 klo 10.15 Jukka (j@x.fi) kirjoitti:
    "tr": ("şunu yazdı", "yazdı"),  # ... 12 Mar 2024 Sal, 10:15 tarihinde şunu yazdı:
    "hu": ("ezt írta", "írta"),  # Kovács János <k@x.hu> ezt írta (időpont: 2024. márc. 12.):
    "el": ("έγραψε",),  # Στις Τρί 12 Μαρ 2024 στις 10:15, ο/η Γιάννης <g@x.gr> έγραψε:
    "ro": ("a scris",),  # În mar., 12 mar. 2024 la 10:15, Ion <ion@x.ro> a scris:
    "ca": ("va escriure",),  # El dt., 12 de març 2024 a les 10:15, Joan <j@x.cat> va escriure:
    "vi": ("đã viết",),  # Vào Th 3, 12 thg 3, 2024 vào lúc 10:15 Nguyen <n@x.vn> đã viết:
    "id/ms": ("menulis",),  # Pada tanggal Sel, 12 Mar 2024 pukul 10.15, Budi <b@x.id> menulis:
    "ko": ("님이 작성", "작성"),  # 2024년 3월 12일 (화) 오전 10:15, 김철수 <k@x.kr>님이 작성:
    "zh": ("写道", "寫道"),  # Li Wei <li@x.cn> 于2024年3月12日周二 10:15写道：
    "ja": ("書きました", "のメッセージ"),  # 2024/03/12 10:15、山田太郎 のメッセージ:
    "he": ("מאת", "כתב"),  # בתאריך יום ג׳, 12 במרץ 2024 ב-10:15 מאת Dan <d@x.il>:
    "ar": ("كتب",),  # في الثلاثاء، 12 مارس 2024 في 10:15 ص، كتب Ahmed <a@x.sa>:
    "de": ("schrieb",),  # Am 12.03.2024 um 10:15 schrieb Max Mustermann:
    "nl": ("schreef",),  # Op 12 mrt. 2024 om 10:15 schreef Piet <p@x.nl>:
    "fr": ("a écrit",),  # Le mar. 12 mars 2024 à 10:15, Marie <m@x.fr> a écrit :
    "es/gl": ("escribió", "escribiu"),  # El mar, 12 mar 2024 a las 10:15, Ana <a@x.es> escribió:
    "pt": ("escreveu",),  # Em ter., 12 de mar. de 2024 às 10:15, João <j@x.br> escreveu:
    "it": ("ha scritto",),  # Il giorno mar 12 mar 2024 alle ore 10:15 Luca <l@x.it> ha scritto:
    "en": ("wrote",),  # On Tue, Mar 12, 2024 at 10:15 AM Jane <jane@x.com> wrote:
}
_ALL = tuple(sorted({c for words in CLOSERS.values() for c in words}, key=len, reverse=True))
# An ASCII line can only hold the ASCII closers: a third of the list (has_closer 3.9 -> 1.3 us).
_ASCII = tuple(c for c in _ALL if c.isascii())
# Bidirectional marks (LRM, RLM, the embeddings/overrides and the isolates). A regex, not
# str.translate with a dict: that rebuilds every non-ASCII line character by character
# (5.4 -> 0.6 us for an 89-character line with an em dash, is_attribution on the bench mail).
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_TIME = re.compile(r"(?<!\d)\d{1,2}[:.]\d{2}(?!\d)")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
MAX_ATTRIBUTION = 400  # characters: a longer line is a paragraph, not an attribution


def has_closer(line: str) -> bool:
    """A cheap test: does the line hold a verb of writing in any language we know?"""
    low = line.lower()
    return any(c in low for c in (_ASCII if low.isascii() else _ALL))


def is_attribution(line: str) -> bool:
    """Whether ``line`` introduces a quoted message: "<when>, <who> <wrote>:" in any language."""
    if not line.isascii():  # no bidirectional marks in ASCII
        line = _BIDI.sub("", line)
    text = line.strip().lstrip(">").strip()
    if not text or len(text) > MAX_ATTRIBUTION or text[-1] not in ":：":
        return False
    low = text.lower()
    if not any(_word_in(low, closer) for closer in (_ASCII if low.isascii() else _ALL)):
        return False
    # A date or a time: "Dnia 12.03.2024", "10:15", "2024年3月12日".
    return _YEAR.search(text) is not None or _TIME.search(text) is not None


def _word_in(low: str, closer: str) -> bool:
    """``closer`` as a word of ``low`` (CJK verbs may touch their neighbours)."""
    start = low.find(closer)
    while start != -1:
        end = start + len(closer)
        glued = _cjk(closer)
        before_ok = glued or start == 0 or not low[start - 1].isalnum()
        after_ok = glued or end == len(low) or not low[end].isalnum()
        if before_ok and after_ok:
            return True
        start = low.find(closer, start + 1)
    return False


def _cjk(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" or "\uac00" <= ch
               <= "\ud7af" for ch in text)
