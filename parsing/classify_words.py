"""The vocabulary of ``parsing.classify``: subjects, senders and sentences of automated mail.

Place in the flow: ``parsing.classify``'s rules match these patterns against a message's
``Facts``. They live apart from the rules because they are data, long and multilingual:
non-delivery report subjects (strong ones, and weak ones a person may write too), the opening
sentences of reports, out-of-office subjects in the ten most common languages and more, and
challenge-response ("please confirm you are human") wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import AnyStr

from parsing.memo import keep

# Display names only mail systems use (Sendmail, Postfix, Exim, Exchange, MDaemon).
BOUNCE_NAMES = re.compile(
    r"^(?:mail delivery (?:system|subsystem|service)|mail administrator|mailer[- ]daemon"
    r"|postmaster|microsoft outlook|mail delivery failure|mdaemon)$",
    re.I,
)


# Subjects of non-delivery reports. Each is a phrase no person writes as a subject of their
# own; languages: en, de, fr, es, it, pt, nl, sv/da/no, pl, cs, ru, ja, zh.
BOUNCE_SUBJECT = re.compile(
    r"^(?:undelivered mail returned to sender|delivery status notification(?: \((?:failure|delay)"
    r"\))?$|undeliverable(?: mail| message)?:?|undelivered:|mail delivery failed"
    r"|failure notice|returned mail:|delivery failure|mail delivery failure|delivery has failed"
    r"|warning: message .{0,80} delayed|delayed mail \(still being retried\)"
    r"|delivery notification: delivery has (?:failed|been delayed)|non-?delivery(?: report)?:"
    r"|permanent delivery failure|delivery status notification$|automatically rejected mail"
    r"|mail system error|delivery failure notification|delivery final failure"
    r"|delivery (?:report|failure|delay) notification|warning: .{1,80} - user unknown"
    r"|notice: mail delivery status|message status - undeliverable"
    r"|unzustellbar:|nicht zustellbar:|non remis|non distribuable|impossible de remettre"
    r"|no se puede entregar|non recapitabile|recapito fallito"
    r"|onbestelbaar|kan niet worden bezorgd|kunne ikke leveres|kan inte levereras|olevererbart"
    r"|niedostarczalne|nedoručitelné|недоставленное"
    r"|undeliverable mail|delivery status notification \(failure\)|配信不能|退信"
    # French gateways append the verdict: "RE: <subject> : non remis".
    r"|.{0,200}\s:\s*(?:non remis|non délivré|undeliverable|unzustellbar)\s*(?:\([^()]{0,40}\))?$)",
    re.I,
)


# Subjects a customer might write too ("Mail could not be delivered to our CRM", "Returned to
# sender"): they count only with a sign that a machine sent the mail (``_machine_sender``).
WEAK_BOUNCE_SUBJECT = re.compile(
    r"^(?:returned mail\b|mail could not be delivered|message could not be delivered"
    r"|message not delivered|failed delivery|mail delivery problem|mail delivery warning"
    r"|could not send message|mail error$|nondeliverable mail|returned to sender"
    r"|no entregado|não entregue|nie dostarczono|не доставлено|未送达|送信できませんでした)",
    re.I,
)


MACHINE_LOCAL_PART = re.compile(
    r"daemon|post[_.-]?master|mailer|delivery|system|admin|gateway|^gw|gw\d|smtp|mta|imss|notif"
    r"|no-?reply|bounce|mail-?server|virus|scanner",
    re.I,
)


# A report's own wording at the start of its body, with a subject that speaks of mail or delivery.
REPORT_OPENINGS = re.compile(
    r"following address(?:\(es\)|es)? failed|could not be delivered to the following"
    r"|was not delivered to:|following recipient\(s\) could not be reached"
    r"|delivery has failed to these recipients|delivery to the following recipients? failed"
    r"|unable to deliver (?:your )?message to the following|undeliverable to the following"
    r"|permanent fatal errors|transient non-fatal errors|following recipients could not be"
    r"|message with subject:.{0,200}could not be delivered|could not be delivered to one or more"
    r"|following recipients cannot be delivered|this is a delivery status notification"
    r"|your message could not be delivered to\s|following (?:mail|message) could not be delivered"
    r"|could not be delivered to:",
    re.I | re.S,
)


# The mailboxes of a mail system itself (RFC 5321 4.5.1: postmaster; MAILER-DAEMON by
# custom), as against role addresses people write from (admin@, system@).
DAEMON_LOCAL_PART = re.compile(r"mailer-?daemon|post[_.-]?master|^daemon$", re.I)


# An SMTP transcript quoted by a mail system: the RCPT TO it gave and a failure reply at the
# start of a line (RFC 5321 4.2: 4yz transient, 5yz permanent).
TRANSCRIPT_RCPT = re.compile(r"^\W{0,12}RCPT TO:", re.I | re.M)
TRANSCRIPT_FAILURE = re.compile(r"^\W{0,12}[45][0-5]\d[ -]", re.M)


REPLY_PREFIX = re.compile(r"^\s*(?:re|fwd?|aw|wg|sv|vs|tr|rv|odp|antw|ответ|回复|答复)\s*:", re.I)


REPORT_SUBJECT_WORDS = re.compile(
    r"deliver|undeliver|returned|failure|failed|error|non[- ]?remis|warning|notification|bounce"
    # The same words in Japanese, as Japanese carriers title their reports ("error", "non-
    # delivery", "delivery", "returned").
    r"|エラー|不達|配信|返送",
    re.I,
)


# Out-of-office and automatic-reply subjects in the ten most common languages of business mail
# (en, zh, es, hi, ar, pt, ru, ja, de, fr, bn, ko) and nl, it, sv, da, no, pl, cs, tr, fi: Outlook's
# "Automatic reply:" and the vacation notices of Gmail, Notes, Zimbra as they localise them.
AUTO_SUBJECT = re.compile(
    r"^(?:out of (?:the )?office(?: auto-?reply)?|automatic reply"
    r"|auto(?:matic)?[ -]?re(?:ply|sponse)"
    r"|autoreply|auto|abwesenheitsnotiz|automatische antwort|ich bin nicht im büro"
    r"|réponse automatique|absence du bureau|absent du bureau|message d'absence"
    r"|risposta automatica|fuori sede|respuesta automática|fuera de la oficina"
    r"|resposta automática|ausente do escritório|fora do escritório"
    r"|autosvar|automatisch antwoord|afwezig|niet op kantoor|poza biurem"
    r"|odpowiedź automatyczna|automatická odpověď|mimo kancelář|otomatik yanıt|ofis dışında"
    r"|automaattinen vastaus|poissa toimistolta|fraværende|frånvarande|ikke på kontoret"
    r"|автоответ|автоматический ответ|вне офиса"
    r"|自动回复|自動回覆|自动答复|不在办公室|自動応答|自動返信|不在通知"
    r"|الرد التلقائي|رد تلقائي|خارج المكتب|स्वचालित उत्तर|कार्यालय से बाहर|স্বয়ংক্রিয় উত্তর"
    r"|자동 응답|자동 회신|부재중"
    r"|vacation(?: reply| notice| message)?|away from (?:the|my) office|on vacation)"
    r"\s*(?:[:：(]|$)",
    re.I,
)
# Lotus Notes: "Jane Doe is out of the office." Apart from AUTO_SUBJECT, which needs only
# ``match``, so that this one is searched only in a subject that holds "is out of ".
NOTES_AWAY_SUBJECT = re.compile(r"(?:^|\s)is out of (?:the )?office(?:[\s.:]|$)", re.I)


AUTO_PHRASE = re.compile(r"out of (?:the )?office|automatic reply|auto-?reply|abwesenheit", re.I)


# Challenge-response systems (SpamArrest, Boxbe, Mailblocks, TMDA, ASSP): the mail asks the
# sender to prove being human before it is delivered. Subject and opening sentence both.
CHALLENGE_SUBJECT = re.compile(
    r"please confirm (?:your|that you are)|confirm (?:your )?(?:e-?mail|message|sender)"
    r"|verify (?:your|that you are)|are you human|sender verification|spam ?arrest"
    r"|boxbe|mailblocks|awaiting your (?:approval|verification)|please verify|tmda"
    r"|challenge.?response|requires? (?:your )?verification",
    re.I,
)
# Every CHALLENGE_SUBJECT match holds one of these words, as re.I reads letters (a bytes pattern
# for ``reference.ascii_folded`` text): a subject without any is not searched.
CHALLENGE_SUBJECT_HINT = re.compile(
    rb"confirm|verif|human|arrest|boxbe|mailblocks|awaiting|tmda|challenge"
)


CHALLENGE_TEXT = re.compile(
    r"(?:confirm|verify|prove) (?:that )?you(?: are|'re) (?:a )?(?:human|real person|not a"
    r" (?:robot|spammer))|sender verification|(?:challenge|verification) (?:e-?mail|request)"
    r"|click (?:the|this) link (?:below )?to (?:verify|confirm) (?:your|that)|spam ?arrest"
    r"|boxbe|is protected by (?:spam ?arrest|boxbe|a challenge|an anti-?spam)"
    r"|approved senders? list|will be delivered (?:once|after|when) you (?:verify|confirm)",
    re.I,
)


# The subject and the sender recur from mail to mail: every reply of a thread carries "Re: <our
# subject> [ref:...]", every mail of a customer the same local part and display name. A match
# below is a pure function of the text, so its answer is kept process-wide (as parsing.reference
# keeps its scans), one dict a pattern (a key holding the pattern would hash its compiled code
# on every lookup): classify 101k -> 62k instructions a bench mail (callgrind). Bounded: texts up
# to _HIT_CACHE_CHARS characters, at most _HIT_CACHE_SIZE answers a pattern (emptied when full).
_HIT_CACHE_CHARS = 1024
_HIT_CACHE_SIZE = 1024


def _remembered(test: Callable[[AnyStr], object]) -> Callable[[AnyStr], bool]:
    """``test(text) is not None`` (``test`` a pattern's match or search), remembered."""
    cache: dict[AnyStr, bool] = {}

    def hit(text: AnyStr) -> bool:
        if len(text) > _HIT_CACHE_CHARS:
            return test(text) is not None
        try:
            return cache[text]
        except KeyError:
            pass
        answer = test(text) is not None
        keep(cache, text, answer, _HIT_CACHE_SIZE)
        return answer

    return hit


bounce_name = _remembered(BOUNCE_NAMES.match)
bounce_subject = _remembered(BOUNCE_SUBJECT.match)
weak_bounce_subject = _remembered(WEAK_BOUNCE_SUBJECT.match)
machine_local_part = _remembered(MACHINE_LOCAL_PART.search)
daemon_local_part = _remembered(DAEMON_LOCAL_PART.search)
reply_prefix = _remembered(REPLY_PREFIX.match)
report_subject_words = _remembered(REPORT_SUBJECT_WORDS.search)
auto_subject = _remembered(AUTO_SUBJECT.match)
notes_away_subject = _remembered(NOTES_AWAY_SUBJECT.search)
challenge_subject_hint = _remembered(CHALLENGE_SUBJECT_HINT.search)
challenge_subject = _remembered(CHALLENGE_SUBJECT.search)
