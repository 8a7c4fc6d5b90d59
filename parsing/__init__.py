"""Pure parsing: bytes in, frozen dataclasses out. Imports nothing from gateway/ or workflows/.

``parse`` is imported on first use (PEP 562): a module that needs one small part, such as
``workflows.outbound.headers`` needing ``parsing.decode``, runs this file first, and importing
the whole parser with it (the trimmer's and the classifier's compiled patterns) cost every
command 50-100 ms (-X importtime), read-only ones included. Its module is ``parsing.parser``,
not ``parsing.parse``: a submodule of that name would, once imported, replace the function
as the package's ``parse`` attribute.
"""

from typing import TYPE_CHECKING, Any

from parsing.model import (
    Address,
    Attachment,
    AuthResult,
    AutomationClass,
    Bounce,
    Defect,
    ParsedMail,
    ReferenceSource,
    TokenCandidate,
)

if TYPE_CHECKING:
    from parsing.parser import parse

__all__ = [
    "Address",
    "Attachment",
    "AuthResult",
    "AutomationClass",
    "Bounce",
    "Defect",
    "ParsedMail",
    "ReferenceSource",
    "TokenCandidate",
    "parse",
]


def __getattr__(name: str) -> Any:
    if name == "parse":
        from parsing.parser import parse

        return parse
    raise AttributeError(f"module 'parsing' has no attribute {name!r}")
