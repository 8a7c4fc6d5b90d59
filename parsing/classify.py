"""Who wrote this mail: a person, an autoresponder, a mail system, a list, or we ourselves?

Place in the flow: ``parsing.parse`` builds ``Facts`` from the parsed headers and text and calls
``classify``; the class lands in ``ParsedMail.automation`` and every rule that hit in
``automation_rules``, so a decision trace can say *why* a mail was not treated as a customer
reply. An auto-reply or a bounce must never reopen a case or answer back (RFC 3834 2).

GNU Mailman style: each rule is a name, a one-line description and one check; ``RULES`` maps
rules to classes; when several classes hit, ``PRECEDENCE`` decides: LOOP > COMPLAINT
> BOUNCE > AUTO_REPLY > LIST > HUMAN (our own mail coming back matters most; a bounce of a list
post is a bounce).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from parsing import bounce, reference, ses
from parsing.model import Address, AutomationClass

MAX_HOPS = 25  # RFC 5321 6.3: a loop shows as a pile of Received fields; 25 is far past normal
LOOP_HEADER = "x-ticketgate-loop"  # set on everything we send; its value is our instance id


@dataclass(frozen=True, slots=True)
class Facts:
    """What the rules look at ("msg-ish"), built once per message."""

    headers: Mapping[str, list[str]]  # lower-case name -> raw values in order
    subject: str
    sender: Address | None
    message_id: str | None
    content_type: str  # of the message itself, lower case
    report_type: str  # the report-type parameter of multipart/report, lower case
    text_head: str  # the start of the text body
    hops: int  # Received fields
    key: bytes | None = None

    def has(self, name: str) -> bool:
        return name in self.headers

    def first(self, name: str) -> str:
        values = self.headers.get(name)
        return values[0].strip() if values else ""

    def tokens(self, name: str) -> set[str]:
        """Comma/semicolon-separated lower-case values of every ``name`` field."""
        return {
            t.strip().lower()
            for value in self.headers.get(name, [])
            for t in re.split(r"[,;]", value)
            if t.strip()
        }


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    description: str
    check: Callable[[Facts], bool]


def rule(name: str, description: str) -> Callable[[Callable[[Facts], bool]], Rule]:
    def wrap(check: Callable[[Facts], bool]) -> Rule:
        return Rule(name, description, check)

    return wrap


# --- LOOP: our own outbound mail came back -------------------------------------------------


@rule("loop_header", "carries X-Ticketgate-Loop, which we set on everything we send")
def _loop_header(f: Facts) -> bool:
    return f.has(LOOP_HEADER)


@rule("own_message_id", "its Message-ID is one we generate (and verifies when a key is given)")
def _own_message_id(f: Facts) -> bool:
    match = reference.MESSAGE_ID_RE.match(f.message_id or "")
    if match is None:
        return False
    if f.key is None:
        return True
    expected = reference.sign(match.group(1), f.key)
    return hmac.compare_digest(match.group(2).lower(), expected)


@rule("too_many_hops", f"more than {MAX_HOPS} Received fields: it is going round in circles")
def _too_many_hops(f: Facts) -> bool:
    return f.hops > MAX_HOPS


# --- BOUNCE: a delivery status notification or a look-alike --------------------------------

_BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailer_daemon",
                             "mdaemon", "mail.delivery.system", "mailerdaemon"})
# Display names only mail systems use (Sendmail, Postfix, Exim, Exchange, MDaemon).
_BOUNCE_NAMES = re.compile(
    r"^(?:mail delivery (?:system|subsystem|service)|mail administrator|mailer[- ]daemon"
    r"|postmaster|microsoft outlook|mail delivery failure|mdaemon)$",
    re.I,
)
# Subjects of non-delivery reports. Each is a phrase no person writes as a subject of their
# own; languages: en, de, fr, es, it, pt, nl, sv/da/no, pl, cs, ru, ja, zh.
_BOUNCE_SUBJECT = re.compile(
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
_WEAK_BOUNCE_SUBJECT = re.compile(
    r"^(?:returned mail\b|mail could not be delivered|message could not be delivered"
    r"|message not delivered|failed delivery|mail delivery problem|mail delivery warning"
    r"|could not send message|mail error$|nondeliverable mail|returned to sender"
    r"|no entregado|não entregue|nie dostarczono|не доставлено|未送达|送信できませんでした)",
    re.I,
)
_MACHINE_LOCAL_PART = re.compile(
    r"daemon|postmaster|mailer|delivery|system|admin|gateway|^gw|gw\d|smtp|mta|imss|notif"
    r"|no-?reply|bounce|mail-?server|virus|scanner", re.I)


# A report's own wording at the start of its body, with a subject that speaks of mail or delivery.
_REPORT_OPENINGS = re.compile(
    r"following address(?:\(es\)|es)? failed|could not be delivered to the following"
    r"|was not delivered to:|following recipient\(s\) could not be reached"
    r"|delivery has failed to these recipients|delivery to the following recipients? failed"
    r"|unable to deliver (?:your )?message to the following|undeliverable to the following"
    r"|permanent fatal errors|transient non-fatal errors|following recipients could not be"
    r"|message with subject:.{0,200}could not be delivered|could not be delivered to one or more"
    r"|following recipients cannot be delivered|this is a delivery status notification"
    r"|your message could not be delivered to\s|following (?:mail|message) could not be delivered",
    re.I | re.S,
)
_REPLY_PREFIX = re.compile(r"^\s*(?:re|fwd?|aw|wg|sv|vs|tr|rv|odp|antw|ответ|回复|答复)\s*:", re.I)
_REPORT_SUBJECT_WORDS = re.compile(
    r"deliver|undeliver|returned|failure|failed|error|non[- ]?remis|warning|notification|bounce",
    re.I,
)


@rule("dsn_report", "multipart/report; report-type=delivery-status (RFC 3464)")
def _dsn_report(f: Facts) -> bool:
    return f.content_type == "multipart/report" and f.report_type == "delivery-status"


@rule("mailer_daemon_sender", "From is MAILER-DAEMON@, postmaster@ or 'Mail Delivery System'")
def _mailer_daemon(f: Facts) -> bool:
    if f.sender is None:
        return False
    local = f.sender.email.partition("@")[0].strip("\\")
    return local in _BOUNCE_SENDERS or _BOUNCE_NAMES.match(f.sender.name.strip()) is not None


@rule("bounce_subject", "subject of a common non-delivery report (Postfix, Exchange, Gmail, ...)")
def _bounce_subject(f: Facts) -> bool:
    return _BOUNCE_SUBJECT.match(f.subject) is not None


@rule("weak_bounce_subject", "a subject people use too, from a sender that looks like a machine")
def _weak_bounce_subject(f: Facts) -> bool:
    return _WEAK_BOUNCE_SUBJECT.match(f.subject) is not None and _machine_sender(f)


def _machine_sender(f: Facts) -> bool:
    """Signs in the envelope and headers that no person sent this (the body aside)."""
    if f.first("return-path").replace(" ", "") == "<>" or f.has("x-failed-recipients"):
        return True
    if f.first("auto-submitted").lower() not in ("", "no"):
        return True
    local = f.sender.email.partition("@")[0] if f.sender else ""
    return not local or _MACHINE_LOCAL_PART.search(local) is not None


@rule("qmail_bounce_text", "body of a qmail failure notice (qmail-send)")
def _qmail(f: Facts) -> bool:
    return bounce.QMAIL_SENTINEL in f.text_head


@rule("exim_bounce_text", "body of an Exim delivery failure or delay report")
def _exim(f: Facts) -> bool:
    return bounce.EXIM_SENTINEL in f.text_head


@rule("x_failed_recipients", "has X-Failed-Recipients (Exim and others on bounces)")
def _x_failed(f: Facts) -> bool:
    return f.has("x-failed-recipients")


@rule("report_text", "body opens like a non-delivery report and the subject speaks of delivery")
def _report_text(f: Facts) -> bool:
    # A reply or forward ("Re:", "Fwd:") that quotes a report is a person talking about it.
    if _REPLY_PREFIX.match(f.subject):
        return False
    # A customer may paste a report into a new mail asking for help: a machine's sign too.
    return (_REPORT_SUBJECT_WORDS.search(f.subject) is not None
            and _REPORT_OPENINGS.search(f.text_head[:4096]) is not None
            and _machine_sender(f))


def _from_amazon(f: Facts) -> bool:
    return f.sender is not None and f.sender.domain.endswith(ses.SENDER_DOMAINS)


@rule("ses_bounce_notification", "an Amazon SES bounce notification (JSON) from Amazon")
def _ses_bounce(f: Facts) -> bool:
    return _from_amazon(f) and ses.notification_type(f.text_head) == "Bounce"


# --- COMPLAINT: abuse feedback reports, RFC 5965 ---------------------------------------------


@rule("ses_complaint_notification", "an Amazon SES complaint notification (JSON) from Amazon")
def _ses_complaint(f: Facts) -> bool:
    return _from_amazon(f) and ses.notification_type(f.text_head) == "Complaint"


@rule("arf_report", "multipart/report; report-type=feedback-report (ARF, RFC 5965)")
def _arf(f: Facts) -> bool:
    return f.content_type == "multipart/report" and f.report_type == "feedback-report"


# --- AUTO_REPLY: autoresponders, RFC 3834 -------------------------------------------------

_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-auto-reply")
# Out-of-office and automatic-reply subjects in the ten most common languages of business mail
# (en, zh, es, hi, ar, pt, ru, ja, de, fr, bn, ko) and nl, it, sv, da, no, pl, cs, tr, fi: Outlook's
# "Automatic reply:" and the vacation notices of Gmail, Notes, Zimbra as they localise them.
_AUTO_SUBJECT = re.compile(
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
    r"\s*(?:[:：(]|$)"
    # Lotus Notes: "Jane Doe is out of the office."
    r"|(?:^|\s)is out of (?:the )?office(?:[\s.:]|$)",
    re.I,
)
_AUTO_PHRASE = re.compile(r"out of (?:the )?office|automatic reply|auto-?reply|abwesenheit", re.I)
# Challenge-response systems (SpamArrest, Boxbe, Mailblocks, TMDA, ASSP): the mail asks the
# sender to prove being human before it is delivered. Subject and opening sentence both.
_CHALLENGE_SUBJECT = re.compile(
    r"please confirm (?:your|that you are)|confirm (?:your )?(?:e-?mail|message|sender)"
    r"|verify (?:your|that you are)|are you human|sender verification|spam ?arrest"
    r"|boxbe|mailblocks|awaiting your (?:approval|verification)|please verify|tmda"
    r"|challenge.?response|requires? (?:your )?verification",
    re.I,
)
_CHALLENGE_TEXT = re.compile(
    r"(?:confirm|verify|prove) (?:that )?you(?: are|'re) (?:a )?(?:human|real person|not a"
    r" (?:robot|spammer))|sender verification|(?:challenge|verification) (?:e-?mail|request)"
    r"|click (?:the|this) link (?:below )?to (?:verify|confirm) (?:your|that)|spam ?arrest"
    r"|boxbe|is protected by (?:spam ?arrest|boxbe|a challenge|an anti-?spam)"
    r"|approved senders? list|will be delivered (?:once|after|when) you (?:verify|confirm)",
    re.I,
)


@rule("auto_submitted", "Auto-Submitted other than 'no' (RFC 3834 5.1)")
def _auto_submitted(f: Facts) -> bool:
    value = f.first("auto-submitted").partition(";")[0].strip().lower()
    return bool(value) and value != "no"


@rule("x_autoreply", "X-Autoreply / X-Autorespond style header from an autoresponder")
def _x_autoreply(f: Facts) -> bool:
    return any(f.first(h).lower() not in ("no", "false", "0") for h in _AUTO_HEADERS if f.has(h))


@rule("precedence_auto_reply", "Precedence: auto_reply")
def _precedence_auto(f: Facts) -> bool:
    return "auto_reply" in f.tokens("precedence")


@rule("auto_reply_subject", "subject starts like an out-of-office or automatic reply")
def _auto_subject(f: Facts) -> bool:
    # An explicit "Auto-Submitted: no" is the sender saying a person wrote it (RFC 3834 5.1):
    # it outranks a guess from the subject.
    if f.first("auto-submitted").lower().startswith("no"):
        return False
    return _AUTO_SUBJECT.search(f.subject) is not None


@rule("ms_inbox_rules_loop", "X-MS-Exchange-Inbox-Rules-Loop: generated by an Outlook rule")
def _inbox_rules(f: Facts) -> bool:
    return f.has("x-ms-exchange-inbox-rules-loop")


@rule("suppress_with_auto_signal", "X-Auto-Response-Suppress All/OOF plus another weak signal")
def _suppress(f: Facts) -> bool:
    # Outlook sets X-Auto-Response-Suppress on ordinary mail too: it asks others not to answer,
    # it does not say this mail is automatic. Only with a second, weak hint does it count.
    if not f.tokens("x-auto-response-suppress") & {"all", "oof"}:
        return False
    null_return_path = f.first("return-path").replace(" ", "") == "<>"
    return null_return_path or _AUTO_PHRASE.search(f.subject) is not None


@rule("challenge_response", "asks the sender to prove being human before delivery")
def _challenge(f: Facts) -> bool:
    return (_CHALLENGE_SUBJECT.search(f.subject) is not None
            and _CHALLENGE_TEXT.search(f.text_head[:4096]) is not None)


@rule("mdn_report", "multipart/report; report-type=disposition-notification (read receipt)")
def _mdn(f: Facts) -> bool:
    return f.content_type == "multipart/report" and f.report_type == "disposition-notification"


# --- LIST: mailing lists and bulk mail -----------------------------------------------------


@rule("list_id", "has List-Id (RFC 2919)")
def _list_id(f: Facts) -> bool:
    return f.has("list-id")


@rule("list_unsubscribe", "has List-Unsubscribe (RFC 2369)")
def _list_unsubscribe(f: Facts) -> bool:
    return f.has("list-unsubscribe")


@rule("list_headers", "has another RFC 2369 List-* field (Post, Help, Subscribe, Owner, Archive)")
def _list_headers(f: Facts) -> bool:
    return any(f.has(h) for h in ("list-post", "list-help", "list-subscribe", "list-owner"))


@rule("precedence_bulk", "Precedence: bulk, list or junk (RFC 3834 2 asks not to answer them)")
def _precedence_bulk(f: Facts) -> bool:
    return bool(f.tokens("precedence") & {"bulk", "list", "junk"})


@rule("x_mailing_list", "X-Mailing-List or Mailing-List (ezmlm, older list managers)")
def _x_mailing_list(f: Facts) -> bool:
    return f.has("x-mailing-list") or f.has("mailing-list")


_CAMPAIGN_HEADERS = (
    "list-unsubscribe-post",  # RFC 8058 one-click unsubscribe
    "x-campaign",
    "x-campaign-id",
    "x-mc-user",  # Mailchimp
    "x-csa-complaints",
)


@rule("esp_bulk", "Feedback-ID of a bulk sender together with campaign headers")
def _esp_bulk(f: Facts) -> bool:
    return f.has("feedback-id") and any(f.has(h) for h in _CAMPAIGN_HEADERS)


RULES: tuple[tuple[Rule, AutomationClass], ...] = (
    (_loop_header, AutomationClass.LOOP),
    (_own_message_id, AutomationClass.LOOP),
    (_too_many_hops, AutomationClass.LOOP),
    (_dsn_report, AutomationClass.BOUNCE),
    (_mailer_daemon, AutomationClass.BOUNCE),
    (_bounce_subject, AutomationClass.BOUNCE),
    (_weak_bounce_subject, AutomationClass.BOUNCE),
    (_qmail, AutomationClass.BOUNCE),
    (_exim, AutomationClass.BOUNCE),
    (_x_failed, AutomationClass.BOUNCE),
    (_report_text, AutomationClass.BOUNCE),
    (_ses_bounce, AutomationClass.BOUNCE),
    (_arf, AutomationClass.COMPLAINT),
    (_ses_complaint, AutomationClass.COMPLAINT),
    (_auto_submitted, AutomationClass.AUTO_REPLY),
    (_x_autoreply, AutomationClass.AUTO_REPLY),
    (_precedence_auto, AutomationClass.AUTO_REPLY),
    (_auto_subject, AutomationClass.AUTO_REPLY),
    (_inbox_rules, AutomationClass.AUTO_REPLY),
    (_suppress, AutomationClass.AUTO_REPLY),
    (_challenge, AutomationClass.AUTO_REPLY),
    (_mdn, AutomationClass.AUTO_REPLY),
    (_list_id, AutomationClass.LIST),
    (_list_unsubscribe, AutomationClass.LIST),
    (_list_headers, AutomationClass.LIST),
    (_precedence_bulk, AutomationClass.LIST),
    (_x_mailing_list, AutomationClass.LIST),
    (_esp_bulk, AutomationClass.LIST),
)
PRECEDENCE = (
    AutomationClass.LOOP,
    AutomationClass.COMPLAINT,  # a complaint quotes our mail and may look like a bounce
    AutomationClass.BOUNCE,
    AutomationClass.AUTO_REPLY,
    AutomationClass.LIST,
)


def classify(facts: Facts) -> tuple[AutomationClass, tuple[str, ...]]:
    """The winning class and the names of all rules that hit, in table order."""
    hits = [(r.name, cls) for r, cls in RULES if r.check(facts)]
    classes = {cls for _, cls in hits}
    winner = next((c for c in PRECEDENCE if c in classes), AutomationClass.HUMAN)
    return winner, tuple(name for name, _ in hits)
