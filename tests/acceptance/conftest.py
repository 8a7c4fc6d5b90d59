"""Fixtures of the acceptance suite: a capture sink, a deployed desk per module, a browser.

Every scenario module runs twice, once per deployment shape (``deployment`` is parametrized):
embedded (``ticketgate serve`` on SQLite) and scale-out (PostgreSQL, ``serve --role
listener``, a Celery worker and beat on Redis). The scale-out run skips with a reason when
``TICKETGATE_TEST_POSTGRES_URL`` or ``TICKETGATE_TEST_REDIS_URL`` is unset, and fails instead
under ``TICKETGATE_REQUIRE_SERVICES=1``. One desk serves a whole module: its scenario is a
story told in order, so the module's tests judge one shared timeline.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.acceptance.browser import Browser, launch_browser
from tests.acceptance.deployment import Deployment, Services, Shape
from tests.acceptance.sink import running_sink
from tests.conftest import require_service


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    yield from launch_browser()


def _scratch_database(base: str) -> Iterator[str]:
    """A database of its own on the server, dropped afterwards (as tests/conftest.py does)."""
    name = f"tg_acc_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _forget_queue(broker_url: str, queue: str) -> None:
    """Delete what Celery left on Redis for our queue (the server is shared)."""
    client = redis.Redis.from_url(broker_url)
    try:
        keys = list(client.scan_iter(match=f"*{queue}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="module", params=[Shape.EMBEDDED, Shape.SCALE_OUT],
                ids=lambda s: s.value)
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Deployment]:
    """A desk as deployed, mailing a capture sink of its own; stopped after the module."""
    shape: Shape = request.param
    services: Services | None = None
    database: Iterator[str] | None = None
    if shape is Shape.SCALE_OUT:
        postgres = require_service("TICKETGATE_TEST_POSTGRES_URL", "PostgreSQL")
        broker = require_service("TICKETGATE_TEST_REDIS_URL", "Redis")
        database = _scratch_database(postgres)
        services = Services(next(database), broker, f"tg-acc-{uuid.uuid4().hex[:12]}")
    home = tmp_path_factory.mktemp(f"desk-{shape.value}") / "home"
    with running_sink() as sink:
        desk = Deployment(shape, home, sink, services)
        try:
            desk.start()
            yield desk
        finally:
            desk.stop()
            if services is not None:
                _forget_queue(services.broker_url, services.queue)
            if database is not None:
                next(database, None)  # drops it
