"""A command's handler named by module and function, imported only when the command runs.

Place in the flow: ``gateway.cli.main`` and ``gateway.cli.groups`` give one to each subcommand
(``set_defaults(run=Lazy(...))``). Building the parser imported every handler module before,
and with them SMTP, IMAP, SQLAlchemy, pydantic and the parser: 1.2 s of CPU for
``ticketgate --help`` (issue 15 follow-up). Now only the command that runs imports its module.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass

Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Lazy:
    """``module.name``, a handler taking the parsed arguments and returning the exit code."""

    module: str
    name: str

    def resolve(self) -> Handler:
        handler: Handler = getattr(importlib.import_module(self.module), self.name)
        return handler

    def __call__(self, args: argparse.Namespace) -> int:
        return self.resolve()(args)
