"""The Celery application as ``ticketgate worker`` and ``ticketgate beat`` run it.

Place in the flow: the ``-A`` module of the exec'd ``celery`` program (``gateway.cli.workers``).
It is ``workflows.tasks.app`` with the edge's concerns added: where its settings come from
(``gateway.config``) and how its runtime is opened (``gateway.app``), which the domain does
not import; and Celery's logs (and ours, from the tasks) go through ``gateway.logs`` in the
format ``--log-format`` chose, which reaches this process as ``TICKETGATE_LOG_FORMAT``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import setup_logging

from gateway.app import build_runtime
from gateway.config import load_settings
from gateway.logs import configure_logging
from workflows.tasks import app

__all__ = ["app"]
app.use_edges(load_settings, build_runtime)


@setup_logging.connect
def _route_logs(loglevel: Any = None, **_: Any) -> None:
    # Connecting to setup_logging stops Celery from installing its own handlers.
    level = loglevel if isinstance(loglevel, int) else logging.getLevelName(
        str(loglevel or "INFO").upper())
    configure_logging(level if isinstance(level, int) else logging.INFO,
                      os.environ.get("TICKETGATE_LOG_FORMAT", "auto"))
