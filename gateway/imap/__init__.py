"""The IMAP edge: pollers that bring mail from IMAP mailboxes to ``intake.accept_many``.

Place in the flow: beside the SMTP/LMTP listener, in front of the durable boundary. Each
``[[imap]]`` account gets a thread that fetches new mail with ``BODY.PEEK[]``, commits it,
submits the ids to the dispatcher, records (account, folder, UIDVALIDITY, last UID) and only
then moves the messages to the processed folder. ``ticketgate serve`` calls ``start_pollers``.
"""

from gateway.imap.drain import FolderDrain
from gateway.imap.poller import Backoff, ImapPoller, start_pollers

__all__ = ["Backoff", "FolderDrain", "ImapPoller", "start_pollers"]
