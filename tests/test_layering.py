"""Module boundaries: ``parsing/`` imports nothing from ``gateway/`` or ``workflows/``,
``workflows/`` opens no connection of its own (network clients live in ``gateway/``), and a
command imports only what it uses.

ARCHITECTURE.md module boundaries: edges call the domain, the domain calls parsing, never the
other way round. Walking the AST catches imports inside functions too. What a command imports
at start is checked in a fresh interpreter, where nothing else has imported it first.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PARSING = Path(__file__).resolve().parent.parent / "parsing"
FORBIDDEN = ("gateway", "workflows")


def _imported_modules(path: Path) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.append(node.module)
    return modules


@pytest.mark.parametrize("path", sorted(PARSING.glob("*.py")), ids=lambda p: p.name)
def test_parsing_imports_no_edge_or_domain_module(path: Path) -> None:
    """A parser that reached into the database or settings could not be tested bytes-in."""
    bad = [m for m in _imported_modules(path) if m.split(".")[0] in FORBIDDEN]
    assert bad == [], f"{path.name} imports {bad}"


WORKFLOWS = PARSING.parent / "workflows"
# The wire belongs to gateway/: sockets, mail protocols, HTTP. The domain talks to a
# ``Transport``/``Dispatcher`` it is handed, so it can be tested without a server.
NETWORK = ("socket", "smtplib", "imaplib", "imapclient", "aiosmtpd", "fastapi", "uvicorn",
           "gateway")


@pytest.mark.parametrize("path", sorted(WORKFLOWS.rglob("*.py")),
                         ids=lambda p: str(p.relative_to(WORKFLOWS)))
def test_workflows_opens_no_connection_of_its_own(path: Path) -> None:
    """Network clients live in gateway/ (ARCHITECTURE.md): the domain is handed its edges,
    the Celery app included (``gateway.celery_app`` gives it its settings and runtime), so no
    module of workflows/ imports gateway/, even lazily."""
    bad = [m for m in _imported_modules(path) if m.split(".")[0] in NETWORK]
    assert bad == [], f"{path.relative_to(WORKFLOWS)} imports {bad}"


# The intake and processing side: the SMTP listener, the IMAP poller, the inbound pipeline, the
# parser's heavy part (its compiled patterns) and the mail templates.
PIPELINE = ("workflows.inbound.process", "workflows.inbound.dispatch", "workflows.inbound.apply",
            "parsing.parser", "parsing.trimmer", "aiosmtpd", "imapclient", "gateway.imap",
            "jinja2")


def _loaded_after(statement: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has loaded after running ``statement``."""
    probe = (f"import json, sys\n{statement}\n"
             f"print(json.dumps([m for m in {list(modules)!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, cwd=PARSING.parent)
    return list(json.loads(done.stdout))


def test_a_reading_command_imports_no_intake_or_processing():
    """``case list``, ``org list``: a runtime and the case services, without the pipeline
    (the SMTP relay's import of ``gateway.imap`` once pulled all of it into every command)."""
    statement = ("import gateway.app, gateway.config, workflows.cases.views, "
                 "workflows.cases.organizations")
    assert _loaded_after(statement, PIPELINE) == []


def test_the_database_layer_imports_alembic_only_to_migrate():
    """``check_current`` runs on every command; Alembic (every SQL dialect) only for ``init``."""
    assert _loaded_after("import workflows.storage.db", ("alembic",)) == []


def test_loading_settings_imports_neither_the_parser_nor_pydantic_settings():
    assert _loaded_after("import gateway.config", ("parsing.parser", "pydantic_settings")) == []
