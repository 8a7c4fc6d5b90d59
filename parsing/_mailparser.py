"""The one place ``mail-parser`` is used: reading obsolete Date syntax, off the hot path.

Place in the flow: ``parsing.headers.date`` tries the stdlib's ``parsedate_to_datetime`` first
(a few microseconds) and comes here only when that fails, loses the zone or reads a two- or
three-digit year literally. mail-parser's date reader implements RFC 5322 4.3 obsolete syntax
(comments anywhere, ``10 : 00``, leap seconds, ``obs-year``) and says no rather than guessing.

Why not more of mail-parser: its ``MailParser`` re-parses the whole message with
``policy.default`` (about 300 msg/s here, against a 1,000 msg/s budget for the whole pipeline),
and loop detection only needs to count ``Received`` fields, not to parse them (RFC 5321 6.3).
The import is lazy so that a process that never meets a broken Date never pays for it.
"""

from __future__ import annotations

import datetime as dt


def obsolete_date(value: str) -> dt.datetime | None:
    """An aware UTC datetime for an RFC 5322 date, including obsolete forms, or None."""
    try:
        from mailparser.dates import parse_mail_date

        result = parse_mail_date(value)
    except Exception:  # a third-party reader on hostile text: its failure only means "no date"
        return None
    return result.value if isinstance(result.value, dt.datetime) else None
