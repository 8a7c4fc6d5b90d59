"""The thin aiosmtpd handler: cheap checks at MAIL and RCPT, the raw bytes committed at DATA.

Place in the flow: the SMTP/LMTP edge, in front of the durable boundary (Zulip's gateway is
the model). At RCPT a recipient that is not a declared mailbox (nor ``postmaster@`` one of
their domains) gets ``550 5.1.1``, one past ``max_recipients`` ``452 4.5.3``; at MAIL a
declared SIZE over the limit gets ``552 5.3.4`` (aiosmtpd checks it, ``replies.enhanced``
words it). At DATA the bytes go, unparsed, to the group-commit writer; the 250 is sent only
after the commit (RFC 5321 6.1). Any failure there answers ``451 4.3.0`` so the sender keeps
the message and retries (RFC 5321 4.2.5): nothing is accepted and then lost.

Nothing here parses a message or touches the database on the event loop: parsing happens in
workers, the commit on the writer's thread.
"""

from __future__ import annotations

import inspect
import logging

from aiosmtpd.smtp import SMTP, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from gateway.smtp import replies
from gateway.smtp.writer import GroupCommitWriter, WriterClosed, WriterFull
from workflows.inbound.intake import AcceptResult, Envelope, header_message_id
from workflows.settings import Settings
from workflows.storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)


def _peer(session: Session) -> str | None:
    peer = session.peer
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer) if peer else None


class IntakeHandler:
    """aiosmtpd hooks (``handle_*``) for one listener; shared by all its sessions."""

    def __init__(self, settings: Settings, writer: GroupCommitWriter, *, lmtp: bool = False
                 ) -> None:
        self.settings = settings
        self.writer = writer
        self.lmtp = lmtp
        self.in_flight = 0  # sessions waiting for a commit (read by the server on shutdown)
        self.closing = False  # set on shutdown: no new transactions
        self._hooks = [n for n in object.__dir__(self) if n.startswith(("handle_", "auth_"))]

    def __dir__(self) -> list[str]:
        # aiosmtpd reflects over the handler on every connection (``inspect.getmembers``, for
        # ``handle_*`` hooks and ``auth_*`` mechanisms); only those names are ever read, so the
        # rest of ``dir()`` is left out (see ``gateway.smtp.protocol._Reflected``).
        return list(self._hooks)

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: SmtpEnvelope,
                          hostname: str, responses: list[str]) -> list[str]:
        # RFC 2034: we promise an enhanced status code on every reply (see replies.enhanced).
        session.host_name = hostname
        return [*responses[:-1], "250-ENHANCEDSTATUSCODES", responses[-1]]

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: SmtpEnvelope,
                          address: str, mail_options: list[str]) -> str:
        if self.closing:  # RFC 5321 3.8: 421 and the client comes back later
            return replies.SHUTTING_DOWN
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return replies.SENDER_OK

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: SmtpEnvelope,
                          address: str, rcpt_options: list[str]) -> str:
        if len(envelope.rcpt_tos) >= self.settings.smtp.max_recipients:
            # RFC 5321 4.5.3.1.10: 452, and the client sends the rest in a new transaction.
            return replies.TOO_MANY_RECIPIENTS
        # Refused here, in the session, so the sending MTA bounces it to its sender; a mail we
        # took and then dropped would be lost without a word. postmaster@ our domains is
        # always taken, into triage (RFC 5321 4.5.1).
        if self.settings.mailbox(address) is None and self.settings.postmaster(address) is None:
            log.info("refused RCPT for an undeclared mailbox from %s", _peer(session))
            return replies.UNKNOWN_MAILBOX
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return replies.RECIPIENT_OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: SmtpEnvelope) -> str:
        raw = envelope.original_content or b""
        rcpt_tos = tuple(envelope.rcpt_tos)
        self.in_flight += 1
        try:
            result = await self.writer.accept(raw, self._envelope(session, envelope, rcpt_tos),
                                              origin=server)
            # Which batch answered it (see protocol.mail_on_the_way); it may be a later one
            # when the loop was slow to wake this session: then it waits for it once more.
            server.answered_by = self.writer.answered  # type: ignore[attr-defined]
        except WriterFull:
            log.warning("intake queue full; answering 452 to %s", _peer(session))
            return self._per_recipient(replies.SYSTEM_FULL, rcpt_tos)
        except WriterClosed:
            return self._per_recipient(replies.SHUTTING_DOWN, rcpt_tos)
        except DatabaseUnavailable:  # the writer said why, once for the batch
            message_id = header_message_id(raw)
            log.info("<%s> not committed: answered 451, the sender keeps it and retries",
                     message_id, extra={"event": "mail.tempfailed", "message_id": message_id,
                                        "transport": "lmtp" if self.lmtp else "smtp"})
            return self._per_recipient(replies.TEMPORARY_FAILURE, rcpt_tos)
        except Exception:  # process boundary: nothing was kept, the sender keeps it and retries
            log.exception("<%s> commit failed; answering 451", header_message_id(raw))
            return self._per_recipient(replies.TEMPORARY_FAILURE, rcpt_tos)
        finally:
            self.in_flight -= 1
        self._log_accepted(result)
        return self._per_recipient(replies.queued(result.inbound_id), rcpt_tos)

    def _envelope(self, session: Session, envelope: SmtpEnvelope,
                  rcpt_tos: tuple[str, ...]) -> Envelope:
        return Envelope(
            mailbox=self._mailbox_for(rcpt_tos),
            mail_from=envelope.mail_from or "",
            rcpt_tos=rcpt_tos,
            transport="lmtp" if self.lmtp else "smtp",
            source=_peer(session),
        )

    def _mailbox_for(self, rcpt_tos: tuple[str, ...]) -> str:
        """The declared mailbox this copy counts as delivered to.

        One copy is kept per transaction (the sha256 dedupe would fold per-recipient copies
        anyway); all recipients stay in ``envelope_to``. The escalation alias wins, because a
        mail copied to it asks for more than one that merely reaches care@.
        """
        boxes = [box for box in map(self.settings.mailbox, rcpt_tos) if box is not None]
        for box in boxes:
            if box.escalation:
                return box.address
        if boxes:
            return boxes[0].address
        # Only postmaster@: its own address, which no declared policy names, so it is triaged.
        postmasters = [box for box in map(self.settings.postmaster, rcpt_tos) if box is not None]
        return (postmasters or [self.settings.default_mailbox])[0].address

    def _per_recipient(self, reply: str, rcpt_tos: tuple[str, ...]) -> str:
        # RFC 2033 4.2: after DATA an LMTP server answers once per accepted recipient, in
        # RCPT order. All copies share one commit, so they share its outcome.
        if not self.lmtp:
            return reply
        return "\r\n".join(reply for _ in rcpt_tos)

    @staticmethod
    def _log_accepted(result: AcceptResult) -> None:
        if result.created:
            log.debug("<%s> committed as #%s", result.message_id, result.inbound_id)
        else:
            log.info("<%s> redelivered: already #%s", result.message_id, result.inbound_id)

    async def handle_exception(self, error: Exception) -> str:
        # aiosmtpd calls this for an exception in a command; a 4xx keeps the sender retrying
        # rather than bouncing a mail we failed on.
        log.error("SMTP session error: %s: %s", type(error).__name__, error)
        return replies.TEMPORARY_FAILURE


# aiosmtpd reads handle_EHLO's signature on every connection (to tell its old 4-argument form
# from the 5-argument one); given once here, inspect.signature finds it: 29 us -> 9 us a session.
IntakeHandler.handle_EHLO.__signature__ = inspect.signature(  # type: ignore[attr-defined]
    IntakeHandler.handle_EHLO)
