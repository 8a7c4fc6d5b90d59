"""The ``ticketgate`` command line: JSON on stdout, logs and errors on stderr.

Place in the flow: an edge. It builds ``Settings`` and a ``Runtime`` and calls the domain's
services; it never touches tables itself beyond opening a transaction for a service.
"""

from gateway.cli.main import main

__all__ = ["main"]
