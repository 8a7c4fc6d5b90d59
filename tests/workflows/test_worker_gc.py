"""Long-running workers freeze what start-up made (issue 15): ``serve --role worker`` while it
runs (unfrozen when it returns, as ``ingest``), Celery's worker processes once started."""

from __future__ import annotations

import gc
import sys
import threading
import time

import pytest
from celery.signals import worker_process_init, worker_ready

from gateway.cli.serve_worker import run_worker


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_serve_worker_freezes_while_it_runs_and_unfreezes_after(rt, unfrozen, monkeypatch):
    monkeypatch.setattr(sys, "stdin", None)  # no listener's pipe: it polls the database
    stop = threading.Event()
    runner = threading.Thread(target=run_worker, args=(rt, stop))
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while gc.get_freeze_count() == 0 and runner.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        frozen = gc.get_freeze_count()
    finally:
        stop.set()
        runner.join(60)
    assert (frozen > 0, runner.is_alive(), gc.get_freeze_count()) == (True, False, 0)


@pytest.mark.parametrize("signal", [worker_process_init, worker_ready],
                         ids=["prefork child", "main process"])
def test_celery_worker_freezes_once_started(unfrozen, signal):
    import workflows.tasks  # noqa: F401 (connects the handlers)

    signal.send(sender=None)
    assert gc.get_freeze_count() > 0
