"""Module boundaries: ``parsing/`` imports nothing from ``gateway/`` or ``workflows/``, and
``workflows/`` opens no connection of its own (network clients live in ``gateway/``).

ARCHITECTURE.md module boundaries: edges call the domain, the domain calls parsing, never the
other way round. Walking the AST catches imports inside functions too.
"""

from __future__ import annotations

import ast
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
