"""Errors the domain raises for the edges to show as one clear line."""


class DomainError(Exception):
    """The request was understood and refused; the message says why."""


class NotFound(DomainError):
    pass


class Refused(DomainError):
    pass
