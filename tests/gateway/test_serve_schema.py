"""An upgrade as an operator runs it: the schema is upgraded by ``ticketgate init`` with the
gateway stopped, never by ``serve`` behind the back of workers still on the old release.

Each test runs the commands as subprocesses on the test's own migrated database (SQLite, or
PostgreSQL with ``TICKETGATE_TEST_BACKEND=postgresql``) and judges the exit code, the one line on
stderr and the revision left in the database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic import command
from sqlalchemy import text

from workflows.storage.db import SCHEMA_HEAD, Database

TICKETGATE = [sys.executable, "-c", "import sys; from gateway.cli import main; "
              "sys.exit(main(sys.argv[1:]))"]
SERVE = ["serve", "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0"]


def _env(home: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETGATE_")}
    env.update(TICKETGATE_HOME=str(home), TICKETGATE_DATABASE_URL=database_url)
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TICKETGATE, *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def _revision(database_url: str) -> str:
    db = Database(database_url)
    try:
        with db.engine.connect() as conn:
            return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar())
    finally:
        db.dispose()


def _downgrade_one(database_url: str) -> str:
    """The schema one migration back, as the previous release left it; its revision."""
    db = Database(database_url)
    cfg = db._alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")
    db.dispose()
    return _revision(database_url)


def test_serve_on_an_older_schema_refuses_in_one_line_and_leaves_it(tmp_path, database_url):
    """serve used to upgrade an out-of-date schema itself at start: at scale, under workers
    still running the release the schema belongs to. Now: exit 3, one line saying what to run."""
    env = _env(tmp_path / "home", database_url)
    assert _run(env, "init").returncode == 0  # the secret
    older = _downgrade_one(database_url)
    done = _run(env, *SERVE)
    [line] = done.stderr.splitlines()
    assert done.returncode == 3
    assert line == (f"ticketgate: error: the database schema is at {older}, older than this "
                    f"ticketgate's {SCHEMA_HEAD}: stop serve, the workers and beat, then run "
                    "`ticketgate init` to upgrade it")
    assert _revision(database_url) == older


def test_init_upgrades_an_older_schema_then_serve_starts(tmp_path, database_url):
    """The upgrade the error asks for: `ticketgate init` brings the schema to the head and
    keeps what was in it."""
    env = _env(tmp_path / "home", database_url)
    assert _run(env, "init").returncode == 0
    assert _run(env, "org", "add", "Acme", "--domain", "acme.example",
                "--tz", "UTC").returncode == 0
    _downgrade_one(database_url)
    assert _run(env, "init").returncode == 0
    assert _revision(database_url) == SCHEMA_HEAD
    shown = _run(env, "org", "show", "Acme")
    assert shown.returncode == 0, shown.stderr


def test_init_on_a_schema_from_a_newer_release_refuses_in_one_line(tmp_path, database_url):
    """A database a newer release migrated (a rolled-back deploy): init used to print Alembic's
    traceback ("Can't locate revision") and exit 1; serve did the same."""
    env = _env(tmp_path / "home", database_url)
    assert _run(env, "init").returncode == 0
    db = Database(database_url)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'z9_from_the_future'"))
    db.dispose()
    expected = ("ticketgate: error: the database schema is at z9_from_the_future, which this "
                f"ticketgate does not know (it needs {SCHEMA_HEAD}): a newer release migrated "
                "it; run that release")
    for args in (["init"], SERVE):
        done = _run(env, *args)
        assert done.stderr.splitlines() == [expected], args
        assert done.returncode == 3, args
    assert _revision(database_url) == "z9_from_the_future"
