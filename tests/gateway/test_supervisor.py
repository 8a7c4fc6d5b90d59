"""``gateway.supervisor``: the restart pause, the id lines on the pipe, the child's priority."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from gateway.supervisor import (
    LINE_LIMIT,
    RestartBackoff,
    WorkerSupervisor,
    decode_ids,
    encode_ids,
)


def test_backoff_doubles_per_death_in_a_row_up_to_the_longest():
    """A crash loop slows down instead of spinning; the pause never exceeds ``longest``."""
    backoff = RestartBackoff(first=0.5, longest=4.0)
    assert [backoff.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_ids_round_trip_in_lines_short_enough_to_be_written_whole():
    """Every line fits one atomic pipe write, and the lines give back every id in order."""
    ids = list(range(1_000_000, 1_003_000))
    lines = encode_ids(ids)
    assert len(lines) > 1 and all(len(line) <= LINE_LIMIT for line in lines)
    assert [i for line in lines for i in decode_ids(line)] == ids


def test_garbled_tokens_are_skipped():
    """A token that is not an id is dropped (its row, if any, is found by the sweep)."""
    assert decode_ids(b"12 x3 -4 56\n") == [12, 56]


def _wait(condition: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def supervised() -> Iterator[WorkerSupervisor]:
    # A child that lives until its stdin closes, as the worker does.
    sup = WorkerSupervisor([sys.executable, "-c", "import sys; sys.stdin.buffer.read()"],
                           backoff=RestartBackoff(first=0.05), niceness=5)
    sup.start()
    yield sup
    sup.stop()


def test_the_worker_runs_nicer_than_the_listener(supervised: WorkerSupervisor):
    """During a burst the listener wins the CPU: the child's niceness is ours plus 5."""
    assert supervised.pid is not None
    expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 5)
    assert os.getpriority(os.PRIO_PROCESS, supervised.pid) == expected


def test_a_restarted_worker_runs_nicer_too(supervised: WorkerSupervisor):
    """The niceness is set again on every start, not only the first."""
    first = supervised.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    _wait(lambda: supervised.restarts == 1 and supervised.pid != first, "a restart")
    pid = supervised.pid
    assert pid is not None
    expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 5)
    assert os.getpriority(os.PRIO_PROCESS, pid) == expected
