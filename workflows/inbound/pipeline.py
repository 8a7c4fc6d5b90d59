"""Parse the next batch in a thread while this one is committed and processed (``ingest``).

Place in the flow: ``gateway.cli.ingest`` reads batch k+1's files and hands their bytes to
``ParseAhead.submit`` before it commits and processes batch k; ``process_batch(parsed=...)``
then takes those parses instead of parsing the batch itself (``process._parse_ahead``).

Why a thread pays under the interpreter lock: the thread that writes spends a good part of a
batch in calls that release the lock (the sqlite3 driver around every statement and commit:
SQLite's B-tree writes, FTS5 tokenizing, the fsyncs; psycopg while the server answers), and
parsing is pure Python that needs no connection. So the parse of the next batch runs in those
gaps, on the machine's other core. Measured in ``bench/process.py`` (issue 15; figures in its
closing note).

Parsing is pure and never raises on bad mail (``parsing``); should it raise all the same, that
mail is left out of the answer and parsed again where it always was, inside processing, which
then records the error with the message.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from parsing import ParsedMail, parse

log = logging.getLogger(__name__)

# When the writing thread comes back from a call that released the interpreter lock while the
# parser holds it, it waits until the parser is asked to let go: after the switch interval,
# 5 ms by default. A batch makes ~15 such calls beside the per-mail ones, so at 5 ms the
# writer would mostly wait; at 0.5 ms the wait is small and the parser is not interrupted so
# often that switching costs more than it gains. Set only while a ``ParseAhead`` runs.
SWITCH_INTERVAL = 0.0005


class ParseAhead:
    """One thread that parses batches of raw messages in the order submitted. Use as a
    context manager: it lowers the switch interval while open and restores it on exit."""

    def __init__(self, key: bytes | None) -> None:
        self._key = key
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse-ahead")
        self._interval = sys.getswitchinterval()

    def __enter__(self) -> ParseAhead:
        sys.setswitchinterval(SWITCH_INTERVAL)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # Batches not started are dropped (an interrupted ingest); the one in hand finishes.
        self._pool.shutdown(wait=True, cancel_futures=True)
        sys.setswitchinterval(self._interval)

    def submit(self, raws: Sequence[bytes]) -> Future[dict[int, tuple[ParsedMail, float]]]:
        """Start parsing ``raws``; the future's answer maps each one's position to its parse
        and the CPU seconds it took (this thread's time: waiting for the interpreter lock is
        not the message's cost, and counts against no time limit)."""
        return self._pool.submit(self._parse_all, list(raws))

    def _parse_all(self, raws: list[bytes]) -> dict[int, tuple[ParsedMail, float]]:
        parsed: dict[int, tuple[ParsedMail, float]] = {}
        for position, raw in enumerate(raws):
            started = time.thread_time()
            try:
                mail = parse(raw, key=self._key)
            except Exception:  # parsed again inside processing, which keeps the error
                log.exception("parsing ahead failed; the message is parsed again")
                continue
            parsed[position] = (mail, time.thread_time() - started)
        return parsed
