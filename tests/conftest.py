"""Shared fixtures: a fresh data directory and database per test, on SQLite or PostgreSQL.

``TICKETGATE_TEST_BACKEND=postgresql`` (``make test`` sets it for its second pass) runs every
database test against the server in ``TICKETGATE_TEST_POSTGRES_URL``: each test gets its own
database, cloned from a migrated template made once per run, and dropped afterwards, so a run
never depends on what the server already holds.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gateway.transport import FileTransport
from tests.tls_files import tls_files  # noqa: F401 (a shared fixture)
from workflows.cases import directory
from workflows.domain import MailboxPolicy
from workflows.runtime import Runtime
from workflows.settings import Mailbox, Settings
from workflows.storage.db import Database

# aiosmtpd's Controller (the SMTP sinks of the outbound and notice tests) gives its server
# thread 5 s to start and answer a probe, then raises TimeoutError; a loaded CI machine can miss
# that. The variable wins over the ``ready_timeout`` argument, so it covers every Controller.
os.environ.setdefault("AIOSMTPD_CONTROLLER_TIMEOUT", "60")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "mail"
KEY = b"k" * 32
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday


def require_service(env_name: str, what: str) -> str:
    """The URL of a real server from the environment; skip without it (fail in CI)."""
    url = os.environ.get(env_name)
    if url:
        return url
    if os.environ.get("TICKETGATE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is required (TICKETGATE_REQUIRE_SERVICES=1) but {env_name} is unset")
    pytest.skip(f"{what} not configured: set {env_name}")


def corpus_root() -> Path:
    root = Path(os.environ.get("TICKETGATE_CORPUS", ROOT.parent / "shared" / "corpus"))
    if root.is_dir():
        return root
    if os.environ.get("TICKETGATE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"the shared corpus is required in CI but {root} is missing")
    pytest.skip(f"shared corpus not found at {root} (set TICKETGATE_CORPUS)")


class Clock:
    """An injected clock that tests move by hand: time travel, never sleep."""

    def __init__(self, now: dt.datetime = START) -> None:
        self.current = now

    def __call__(self) -> dt.datetime:
        return self.current

    def advance(self, **delta: float) -> dt.datetime:
        self.current += dt.timedelta(**delta)
        return self.current


def _admin_url(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _pg_template() -> Iterator[str | None]:
    if os.environ.get("TICKETGATE_TEST_BACKEND") != "postgresql":
        yield None
        return
    base = require_service("TICKETGATE_TEST_POSTGRES_URL", "PostgreSQL")
    name = f"tg_tpl_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(_admin_url(base, name))
    db.migrate()
    db.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    db.dispose()
    return path


@pytest.fixture
def database_url(tmp_path: Path, _pg_template: str | None, _sqlite_template: Path
                 ) -> Iterator[str]:
    """A migrated, empty database of its own for this test."""
    if _pg_template is None:
        path = tmp_path / "var" / "ticketgate.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(_sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    base = os.environ["TICKETGATE_TEST_POSTGRES_URL"]
    name = f"tg_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{_pg_template}"'))
    yield _admin_url(base, name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


MAILBOXES = (
    Mailbox("care@desk.example", MailboxPolicy.TRIAGE),
    Mailbox("new@desk.example", MailboxPolicy.OPEN_CASE),
    Mailbox("escalations@desk.example", MailboxPolicy.TRIAGE, escalation=True),
)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    home = tmp_path / "var"
    home.mkdir(exist_ok=True)
    (home / "secret.key").write_text(KEY.hex())
    return Settings(
        home=home,
        database_url=database_url,
        mailboxes=MAILBOXES,
        from_address="care@desk.example",
        message_id_domain="desk.example",
        escalation_address="managers@desk.example",
        trusted_authserv_ids=("mx.desk.example",),
        sqlite_synchronous="NORMAL",
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def rt(settings: Settings, clock: Clock) -> Iterator[Runtime]:
    db = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    yield Runtime(settings=settings, db=db, key=KEY, transport=FileTransport(settings.outbox_dir),
                  clock=clock)
    db.dispose()


@pytest.fixture
def people(rt: Runtime) -> dict[str, str]:
    """Acme (alice designated, bob not), Globex (carol designated)."""
    with rt.db.transaction() as s:
        directory.add_organization(s, name="Acme", domains=["acme.example"],
                                   timezone="Europe/Berlin", country="DE",
                                   notify=["ops@acme.example"], now=rt.now())
        directory.add_organization(s, name="Globex", domains=["globex.example"],
                                   timezone="America/Denver", country="US", notify=[],
                                   now=rt.now())
        for org, email, designated in (("Acme", "alice@acme.example", True),
                                       ("Acme", "bob@acme.example", False),
                                       ("Globex", "carol@globex.example", True)):
            directory.add_contact(s, organization=org, email=email, name=email.split("@")[0],
                                  designated=designated, now=rt.now())
    return {"alice": "alice@acme.example", "bob": "bob@acme.example",
            "carol": "carol@globex.example"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass, run the tests that use a database; the rest ran on SQLite."""
    if os.environ.get("TICKETGATE_TEST_BACKEND") != "postgresql":
        return
    keep = [i for i in items if "database_url" in getattr(i, "fixturenames", ())]
    dropped = [i for i in items if i not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A CLI ``main()`` run in-process configures the root logger as a command would; put it
    back so later tests (and pytest's own output) do not get every INFO line of the session."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
