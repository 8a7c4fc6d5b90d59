"""Errors the domain raises for the edges to show as one clear line."""


def error_line(exc: BaseException) -> str:
    """``exc``'s message on one line: a driver's error may span several (libpq's "Is the
    server running on that host...?" hint), and a log line is one event."""
    return " ".join(str(exc).split())


class DomainError(Exception):
    """The request was understood and refused; the message says why."""


class NotFound(DomainError):
    pass


class Refused(DomainError):
    pass
