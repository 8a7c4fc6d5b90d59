"""A plain install runs: ``pip install .`` (or the wheel ``pip wheel --no-deps .`` builds) holds
every file the code reads at run time, and the installed code finds them.

Place in the flow: before any of it, the packaging. The mail, notice and console templates
(``templates/``), the console's static files and alembic's migrations are no Python modules:
only pyproject.toml's package-data puts them in a wheel, and a checkout or an editable install
reads them from the working tree, so neither would ever show one missing. These tests build a
wheel of the checkout, install it into a fresh directory with ``--no-deps`` (the dependencies
are this environment's) and run the installed ``ticketgate`` console script from outside the
checkout, on a fresh home: ``init`` and ``serve`` migrate its new database.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.acceptance.sink import running_sink
from tests.conftest import ROOT
from tests.gateway.serving import ServeProcess

WAIT = 180  # one pip run or one command; generous for a loaded 2-core machine

# What a copy of the checkout leaves out: VCS, virtualenvs, caches, data, and what a build
# writes into its source tree (a stale build/lib would put deleted modules in the wheel).
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv*", "build", "dist", "*.egg-info", "var",
                                    "__pycache__", ".*_cache", ".hypothesis")


@dataclass(frozen=True)
class Installed:
    """ticketgate as ``pip install --target`` laid it out, and how to run it from elsewhere."""

    site: Path  # the packages, templates and migrations
    script: Path  # the ``ticketgate`` console script pip wrote
    env: dict[str, str]  # PYTHONPATH: the install only; none of the test run's TICKETGATE_*
    cwd: Path  # outside the checkout, so the checkout is on no import path

    def run(self, *argv: str, env: dict[str, str] | None = None) -> list[dict]:
        done = subprocess.run([str(self.script), *argv], cwd=self.cwd,
                              env={**self.env, **(env or {})}, capture_output=True, text=True,
                              timeout=WAIT, check=False)
        assert done.returncode == 0, (argv, done.stdout, done.stderr)
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def _pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q",
                           *args], capture_output=True, text=True, timeout=WAIT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The checkout's wheel, built as ``pip wheel --no-deps .`` builds it and installed.

    Built from a copy: setuptools builds inside the source tree. Without build isolation, with
    this environment's setuptools (the ``test`` extra), and without an index: nothing is
    downloaded."""
    tmp = tmp_path_factory.mktemp("installed")
    shutil.copytree(ROOT, tmp / "src", ignore=NOT_SOURCE)
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp / "dist"),
         str(tmp / "src"))
    [wheel] = (tmp / "dist").glob("ticketgate-*.whl")
    site = tmp / "site"
    _pip("install", "--no-deps", "--no-index", "--target", str(site), str(wheel))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TICKETGATE_") and k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    (tmp / "elsewhere").mkdir()
    return Installed(site, site / "bin" / "ticketgate", env, tmp / "elsewhere")


def _home(tmp_path: Path) -> dict[str, str]:
    """A fresh home: init (or serve) creates its SQLite database with the installed
    migrations. On ``make test``'s PostgreSQL pass these tests are not run (no database_url):
    the same installed migrations run there, which the file comparison below covers."""
    return {"TICKETGATE_HOME": str(tmp_path / "home")}


# Where the installed interpreter finds each piece: the modules and the data they read.
PROBE = """
import json
import gateway.cli, gateway.http.render as page, workflows.outbound.compose as mail
import workflows.storage.db as db
print(json.dumps({"cli": gateway.cli.__file__, "mail templates": str(mail.TEMPLATES),
                  "console static": str(page.STATIC), "migrations": str(db.MIGRATIONS)}))
"""


def test_the_installed_copy_is_what_runs(installed: Installed):
    """The modules and the data they read come from the install, not from the checkout."""
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=installed.cwd, env=installed.env,
                          capture_output=True, text=True, timeout=WAIT, check=True)
    found = {what: Path(path).resolve() for what, path in json.loads(done.stdout).items()}
    assert {what: path.is_relative_to(installed.site.resolve()) and path.exists()
            for what, path in found.items()} == dict.fromkeys(found, True), found


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.mark.parametrize("folder", ["templates", "workflows/storage/migrations"])
def test_every_file_the_code_reads_is_installed(installed: Installed, folder: str):
    """Each template (mail, notices, console pages, the console's static files) and each
    migration of the checkout is in the install: the ones no test below renders too."""
    assert _files(installed.site / folder) == _files(ROOT / folder)


def test_a_post_from_the_installed_copy_reaches_the_customer_rendered(
        installed: Installed, tmp_path: Path):
    """README's round trip: init (migrations), org, contact, case; the post's mail, HTML part
    rendered from the installed templates, arrives at the customer's SMTP server."""
    with running_sink() as sink:
        env = {**_home(tmp_path), "TICKETGATE_TRANSPORT": f"smtp://127.0.0.1:{sink.port}"}
        installed.run("init", env=env)
        installed.run("org", "add", "Acme", "--domain", "acme.example", "--tz", "Europe/Berlin",
                      env=env)
        installed.run("contact", "add", "Acme", "alice@acme.example", "--name", "Alice", env=env)
        installed.run("case", "open", "--org", "Acme", "--contact", "alice@acme.example",
                      "--subject", "Printer on fire", env=env)
        [posted] = installed.run("case", "post", "CASE-1001", "--body", "Which model is it?",
                                 "--request-info", env=env)
        [mail] = sink.wait_for(lambda got: len(got) >= 1, "the post's mail")
    assert posted["sent"] is True and mail.rcpt_tos == ("alice@acme.example",)
    assert "Which model is it?" in (mail.html() or "") and "Which model is it?" in mail.text()


def test_the_installed_console_serves_its_pages_and_static_files(
        installed: Installed, tmp_path: Path):
    """``serve`` from the install migrates the fresh home's database and serves the sign-in
    page (a console template) and its stylesheet (a static file)."""
    env = {**installed.env, **_home(tmp_path)}
    srv = ServeProcess(tmp_path / "home", env=env, command=(str(installed.script),),
                       cwd=installed.cwd)
    try:
        srv.start()
        out = srv.wait_for_output("console and API: http://")
        found = re.search(r"console and API: (http://\S+)", out)
        assert found, out
        console = found.group(1).rstrip("/")
        with urllib.request.urlopen(f"{console}/login", timeout=30) as page:
            login = page.read().decode()
        with urllib.request.urlopen(f"{console}/static/console.css", timeout=30) as css:
            stylesheet = css.read()
        assert '<link rel="stylesheet" href="/static/console.css">' in login
        assert stylesheet == (ROOT / "templates/console/static/console.css").read_bytes()
        srv.stop()
    finally:
        srv.ensure_dead()
