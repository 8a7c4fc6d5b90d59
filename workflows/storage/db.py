"""Engine, sessions and migrations.

Place in the flow: every effect goes through ``Database.transaction()``: one transaction per
stage boundary (intake commit, decision apply), never a session held across stages.
SQLite is the embedded default; PostgreSQL is the same code with another URL.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from workflows.storage.base import dump_json
from workflows.storage.checkpoint import WalCheckpointer

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration's revision, which ``check_current`` compares with the database on every
# command. Written here rather than asked of Alembic because importing Alembic (its
# ScriptDirectory and MigrationContext pull its PostgreSQL, MySQL, MSSQL and Oracle support) cost
# every command's start about 0.24 s of CPU (`import workflows.storage.db` 0.62 -> 0.38 s,
# median of 7); tests/storage/test_migrations.py checks it is Alembic's head.
SCHEMA_HEAD = "f1_inbound_raws"
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or is not initialized; nothing was changed."""


class DatabaseUnreachable(DatabaseUnavailable):
    """No connection at all (a server down, a wrong host or port): initializing cannot help."""


class SchemaMissing(DatabaseUnavailable):
    """A reachable database with no schema yet: ``ticketgate init`` creates it."""


class SchemaMismatch(DatabaseUnavailable):
    """A schema at another revision than this code's: older (``ticketgate init`` upgrades it,
    with the other processes stopped) or unknown, i.e. migrated by a newer release (no command
    of this release can help; upgrading it would fail in Alembic)."""


_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)


def known_revisions() -> frozenset[str]:
    """The revisions of this release's migrations, read from their files (Alembic itself is
    too slow to import on every command; this runs only when a schema is not the head)."""
    return frozenset(match.group(1) for path in (MIGRATIONS / "versions").glob("*.py")
                     if (match := _REVISION.search(path.read_text(encoding="utf-8"))))


def schema_mismatch(current: str) -> SchemaMismatch:
    """The one-line error for a database whose schema is at ``current``, not the head."""
    if current in known_revisions():
        return SchemaMismatch(
            f"the database schema is at {current}, older than this ticketgate's {SCHEMA_HEAD}: "
            "stop serve, the workers and beat, then run `ticketgate init` to upgrade it")
    return SchemaMismatch(
        f"the database schema is at {current}, which this ticketgate does not know (it needs "
        f"{SCHEMA_HEAD}): a newer release migrated it; run that release")


def _sqlite_pragmas(synchronous: str):
    def on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the sqlite3 module, say when transactions begin (see on_begin).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # WAL lets readers run beside the writer; busy_timeout makes concurrent writers wait
        # instead of failing; FULL syncs the WAL on each commit so a 250 survives power loss.
        # 16 KB pages, for a new database (an existing one keeps its own): a stored mail of
        # 5-10 KB then fits one page instead of a page and two overflow pages. Measured when
        # the mail was still in the inbound row that every status UPDATE rewrites (issue 15):
        # that UPDATE 137 -> 39 us a message, ingest CPU 819 -> 736-794 us a message with
        # parsing left out; since f1_inbound_raws the bytes sit apart and are written once
        # (SQLite's own advice for BLOBs: https://sqlite.org/intern-v-extern-blob.html).
        cur.execute("PRAGMA page_size=16384")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return on_connect


READ_ONLY = "ticketgate_read_only"  # execution option: a transaction that never writes
_AUTOCHECKPOINT = "ticketgate_wal_autocheckpoint"  # a pooled connection's setting, as last set


def _begin_immediate(conn):  # type: ignore[no-untyped-def]
    # A deferred transaction that reads and then writes cannot wait for another writer in WAL
    # mode (SQLITE_BUSY_SNAPSHOT skips the busy handler); taking the write lock up front makes
    # concurrent writers (the SMTP intake and a worker) queue on busy_timeout instead of failing.
    # A read-only transaction (``Database.reading``) needs no lock: WAL readers never wait.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, sqlite_synchronous: str = "FULL") -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, json_serializer=dump_json)
        event.listen(engine, "connect", _sqlite_pragmas(sqlite_synchronous.upper()))
        event.listen(engine, "begin", _begin_immediate)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    except ModuleNotFoundError as exc:
        # The drivers of the scale-out deployment are extras, not every install's burden.
        extra = "postgres" if url.startswith("postgresql") else None
        hint = f" (pip install 'ticketgate[{extra}]')" if extra else ""
        raise DatabaseUnavailable(f"the database driver {exc.name!r} is not installed{hint}"
                                  ) from None


class Database:
    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL") -> None:
        self.url = url
        self.engine = make_engine(url, sqlite_synchronous=sqlite_synchronous)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._checkpointer: WalCheckpointer | None = None
        if self.dialect == "sqlite":
            event.listen(self.engine, "checkout", self._set_autocheckpoint)
            event.listen(self.engine, "checkin", self._nudge_checkpointer)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error."""
        session = self._sessions()
        try:
            with session.begin():
                yield session
        except OperationalError as exc:
            raise DatabaseUnavailable(f"database error: {exc.orig}") from exc
        finally:
            session.close()

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A Core connection in one transaction, committed on success: for the hot paths where
        an ORM session's bookkeeping costs more than the statements (the group commit)."""
        with self._connection(read_only=False) as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection in a read-only transaction: on SQLite it takes no write lock, so the
        SMTP intake's group commit does not wait for it. Never write through it."""
        with self._connection(read_only=True) as conn:
            yield conn

    @contextmanager
    def _connection(self, *, read_only: bool) -> Iterator[Connection]:
        try:
            with self.engine.connect().execution_options(**{READ_ONLY: read_only}) as conn, \
                    conn.begin():
                yield conn
        except OperationalError as exc:
            raise DatabaseUnavailable(f"database error: {exc.orig}") from exc

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def checkpoints_in_background(self) -> Iterator[None]:
        """On a SQLite file, WAL checkpoints in a thread of their own instead of inside this
        process's commits (``workflows.storage.checkpoint`` says why), for as long as the block
        runs; elsewhere nothing changes. For processes that commit large batches. Acts."""
        path = self.engine.url.database if self.dialect == "sqlite" else None
        if not path or path == ":memory:" or self._checkpointer is not None:
            yield
            return
        checkpointer = WalCheckpointer(path)
        checkpointer.start()
        self._checkpointer = checkpointer
        try:
            yield
        finally:
            self._checkpointer = None
            checkpointer.stop()

    def _set_autocheckpoint(self, dbapi_conn, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        # Pool event: a connection checked out while the thread checkpoints leaves it to the
        # thread (0: never in a commit); otherwise SQLite's default of 1,000 pages.
        want = 0 if self._checkpointer is not None else 1000
        if record.info.get(_AUTOCHECKPOINT, 1000) != want:
            dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={want}")
            record.info[_AUTOCHECKPOINT] = want

    def _nudge_checkpointer(self, _dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # Pool event: a connection comes back after its transaction ended, committed or not.
        if (checkpointer := self._checkpointer) is not None:
            checkpointer.nudge()

    def _alembic_config(self) -> Config:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return cfg

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        from alembic import command

        try:
            with self.engine.begin() as conn:
                current = _revisions(conn)
                if current and current[0] not in known_revisions():
                    raise schema_mismatch(current[0])  # Alembic would only say "Can't locate"
                cfg = self._alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except OperationalError as exc:
            raise DatabaseUnavailable(f"cannot reach the database: {exc.orig}") from exc

    def check_current(self) -> None:
        """Raise ``DatabaseUnavailable`` unless the schema is at the newest migration
        (``SCHEMA_HEAD``). Reads Alembic's version table as Alembic does (none when the table
        is missing), without importing Alembic."""
        try:
            with self.engine.connect() as conn:
                current = _revisions(conn)
        except OperationalError as exc:
            raise DatabaseUnreachable(f"cannot reach the database: {exc.orig}") from exc
        if not current:
            raise SchemaMissing("the database is not initialized: run `ticketgate init`")
        if current != [SCHEMA_HEAD]:
            raise schema_mismatch(current[0])

    def has_rows(self, *tables: str) -> bool:
        """Whether any of ``tables`` exists and holds a row (false on a database without a
        schema); raises ``DatabaseUnreachable`` when the server cannot be reached."""
        try:
            with self.engine.connect() as conn:
                present = set(inspect(conn).get_table_names())
                return any(conn.execute(text(f"SELECT 1 FROM {t} LIMIT 1")).first() is not None
                           for t in tables if t in present)
        except OperationalError as exc:
            raise DatabaseUnreachable(f"cannot reach the database: {exc.orig}") from exc

    def dispose(self) -> None:
        self.engine.dispose()


def _revisions(conn: Connection) -> list[str]:
    """The revision(s) in Alembic's version table, as Alembic reads them (none when the table
    is missing)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return []
    return list(conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
