"""Pure parsing: bytes in, frozen dataclasses out. Imports nothing from gateway/ or workflows/."""

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
from parsing.parse import parse

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
