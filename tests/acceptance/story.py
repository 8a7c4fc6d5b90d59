"""A scenario as a story: steps told once per deployment, each step's mail kept for judging.

A module's fixture tells its story against a deployed desk (``Story.step`` records which mail
the sink received during each step); the module's tests then judge the record, one behaviour
each. A step that raises ends the story: the tests that need it, or a later step, fail with the
reason, while those judging earlier steps still judge.
"""

from __future__ import annotations

import contextlib
import re
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.acceptance.browser import Browser, markup_shown
from tests.acceptance.deployment import Deployment
from tests.acceptance.sink import Received

_REF = re.compile(r"\[ref:([A-Z]+-\d+|\d{6}):[a-z0-9]+\]")


def case_of(mail: Received) -> str | None:
    """The case number in a mail's reference tag (the subject carries it)."""
    found = _REF.search(mail.subject)
    return found.group(1) if found else None


@dataclass(frozen=True, slots=True)
class Mail:
    """A mail received during a story, labelled with the kind the story expected."""

    kind: str
    received: Received
    lines: tuple[str, ...] = ()  # text the desk wrote into it, one line each


@dataclass
class Story:
    desk: Deployment
    steps: dict[str, list[Received]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    kinds: list[Mail] = field(default_factory=list)
    broken: str | None = None

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Record the mail the sink got while the block ran (mail sent by a finished CLI
        process is in the sink already: the sink answered 250 before the process exited)."""
        if self.broken:
            raise _Stop
        since = self.desk.sink.count
        try:
            yield
        except _Stop:
            raise
        except Exception:
            self.broken = f"step {name!r} failed:\n{traceback.format_exc()}"
            raise _Stop from None
        finally:
            self.steps[name] = self.desk.sink.received(since)

    def mail(self, step: str, *, to: str, kind: str | None = None, subject: str = "",
             lines: tuple[str, ...] = ()) -> list[Received]:
        """The mail of ``step`` to ``to`` (whose subject contains ``subject``); with ``kind``,
        labelled for the browser check, which looks for ``lines`` in it."""
        got = [m for m in self.during(step) if to in m.rcpt_tos and subject in m.subject]
        if kind is not None:
            self.kinds.extend(Mail(kind, m, lines) for m in got)
        return got

    def during(self, step: str) -> list[Received]:
        if step not in self.steps:
            pytest.fail(f"the story never reached step {step!r}: {self.broken}")
        return self.steps[step]

    def fact(self, name: str) -> Any:
        if name not in self.facts:
            pytest.fail(f"the story never learned {name!r}: {self.broken}")
        return self.facts[name]

    def of_kind(self, kind: str) -> list[Mail]:
        return [m for m in self.kinds if m.kind == kind]


class _Stop(Exception):
    """Ends a story early; ``Story.broken`` says why."""


@contextmanager
def telling(story: Story) -> Iterator[Story]:
    """Run a story's steps; a failed step ends it quietly (the tests report it)."""
    with contextlib.suppress(_Stop):
        yield story


def assert_reads_right(browser: Browser, story: Story, kind: str) -> None:
    """Every HTML part of every mail of ``kind`` shows no markup as text and keeps each line
    the desk wrote into it (``Mail.lines``) as a line of its own."""
    labelled = story.of_kind(kind)
    if not labelled:
        pytest.fail(f"no {kind} mail was received to judge ({story.broken})")
    for mail, lines in ((m.received, m.lines) for m in labelled):
        parts = mail.html_parts()
        assert parts, f"{kind}: no HTML part in {mail.subject!r}"
        for html in parts:
            seen = browser.read(html, kind=kind, shape=story.desk.shape.value).visible
            assert markup_shown(seen) == [], f"{kind} shows markup as text:\n{seen}"
            shown = [" ".join(line.split()) for line in seen.splitlines()]
            for line in lines:
                assert " ".join(line.split()) in shown, (
                    f"{kind}: {line!r} is not a line of its own in:\n{seen}")
