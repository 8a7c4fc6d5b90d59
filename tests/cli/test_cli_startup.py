"""Start-up of ``ticketgate``: the parser imports no handler, every handler it names exists, and
the failures are mapped to exit codes without importing their modules up front.

Timings are in bench/startup.py; these tests check what is imported, not how long it takes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from gateway.cli.lazy import Lazy
from gateway.cli.main import EXIT_CODES, build_parser, command_named, exit_code

HEAVY = ("sqlalchemy", "pydantic", "alembic", "parsing", "jinja2", "celery", "aiosmtpd")

# Runs main() in a fresh interpreter and prints its exit code and the heavy packages loaded.
PROBE = f"""
import json, sys
from gateway.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
print(json.dumps({{"code": code, "heavy": heavy}}))
"""


@pytest.mark.parametrize(("argv", "code"), [(["--help"], 0), (["case", "--help"], 0),
                                            (["serve", "--help"], 0), (["case", "open"], 2)])
def test_parsing_arguments_imports_no_heavy_package(argv, code):
    """--help, a group's --help and a missing option stop before any handler's imports."""
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True,
                          text=True, timeout=60, check=False)
    assert json.loads(done.stdout.splitlines()[-1]) == {"code": code, "heavy": []}, done.stderr


def _parsers(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, object]]:
    """Each command of the tree with what its ``run`` default is (None: not set)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser.get_default("run")
    for action in subs:
        for name, child in action.choices.items():
            yield from _parsers(child, f"{path} {name}")


def test_every_command_names_a_handler_that_exists():
    """Each subcommand's handler, named by module and function, resolves to a function."""
    commands = dict(_parsers(build_parser(), "ticketgate"))
    wrong = {path: run for path, run in commands.items()
             if not (isinstance(run, Lazy) and callable(run.resolve()))}
    assert "ticketgate notice report list" in commands and wrong == {}  # the walk went deep


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def test_user_add_offers_the_accounts_roles():
    """``user add --role`` offers exactly gateway.http.accounts.Role."""
    from gateway.http.accounts import Role

    add = _subcommands(_subcommands(build_parser()).choices["user"]).choices["add"]
    [role] = [a for a in add._actions if "--role" in a.option_strings]
    assert list(role.choices or ()) == [r.value for r in Role]


def test_reply_set_help_lists_the_services_placeholders():
    """``reply --help`` lists exactly workflows.cases.saved_replies.PLACEHOLDERS for ``set``."""
    from workflows.cases.saved_replies import PLACEHOLDERS

    reply = _subcommands(_subcommands(build_parser()).choices["reply"])
    [text] = [c.help for c in reply._choices_actions if c.dest == "set"]
    assert re.findall(r"\{(\w+)\}", text or "") == list(PLACEHOLDERS)


@pytest.mark.parametrize(("module", "name", "code"), [
    ("gateway.config", "ConfigError", 2), ("workflows.outbound.compose", "BadAddress", 2),
    ("workflows.errors", "DomainError", 1), ("workflows.errors", "NotFound", 1),
    ("workflows.storage.db", "DatabaseUnavailable", 3), ("workflows.secret", "SecretMissing", 3)])
def test_failures_keep_their_exit_code(module, name, code):
    """The classes main() imported before give the exit codes they gave then."""
    cls = getattr(importlib.import_module(module), name)
    assert exit_code(cls("boom")) == code


def test_other_exceptions_are_not_mapped():
    """A bug is not said in one line as a refusal: main() raises it."""
    assert exit_code(KeyError("boom")) is None


@pytest.mark.parametrize(("module", "name"), [(m, n) for m, n, _code in EXIT_CODES])
def test_exit_codes_name_the_module_defining_each_class(module, name):
    """A class is looked up where it is defined: a re-exporting module may not be loaded when
    the defining one raises."""
    assert getattr(importlib.import_module(module), name).__module__ == module


def _tree(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, str, str]]:
    """Each parser of the tree with its help and its defaults, as text."""
    yield path, parser.format_help(), repr(sorted(parser._defaults.items()))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _tree(child, f"{path} {name}")


def test_one_command_parser_builds_that_command_as_the_full_one():
    """``build_parser(only=...)`` (what main() builds for a command) holds that command alone,
    with the same subcommands, options, help and handlers as in the full parser."""
    full = _subcommands(build_parser()).choices
    for name, parser in full.items():
        alone = _subcommands(build_parser(only=name)).choices
        assert list(alone) == [name]
        assert list(_tree(alone[name], name)) == list(_tree(parser, name))
    assert list(_subcommands(build_parser(only="no-such")).choices) == list(full)


@pytest.mark.parametrize(("argv", "command"), [
    (["ingest", "a.eml"], "ingest"), (["--config", "c.toml", "-v", "case", "list"], "case"),
    (["--log-format=json", "parse", "-"], "parse"), (["--log-format", "ingest", "x"], "x"),
    (["--conf", "c.toml", "ingest"], None), (["--help"], None), (["-v"], None), ([], None)])
def test_the_command_main_builds_alone(argv, command):
    """The command is read as argparse reads it; when that is not certain (an abbreviated
    option, --help), None: the full parser is built."""
    assert command_named(argv) == command
