"""workflows/ is grouped by stage (issue 16): each folder says its place in the flow, and only
the cross-cutting modules stay at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"
TOP_LEVEL = {"__init__.py", "domain.py", "errors.py", "runtime.py", "secret.py", "settings.py",
             "tasks.py"}


def test_only_cross_cutting_modules_stay_at_the_top():
    assert {p.name for p in WORKFLOWS.glob("*.py")} == TOP_LEVEL


@pytest.mark.parametrize("package", sorted(p.parent.name for p in WORKFLOWS.glob("*/__init__.py")))
def test_each_stage_folder_says_its_place_in_the_flow(package: str):
    doc = ast.get_docstring(ast.parse((WORKFLOWS / package / "__init__.py").read_text()))
    assert doc and "Place in the flow" in doc
