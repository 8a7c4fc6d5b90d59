"""winmail.dat (TNEF, application/ms-tnef) -> the files and body Outlook wrapped inside it.

Place in the flow: ``parsing.bodies`` hands every TNEF attachment here; the unpacked files become
attachments (``from_tnef=True``) and the TNEF body fills in when the mail had no text or HTML.

The unpacking is tnefparse's. Its loops trust counts read from the file (a 32-bit property count
is iterated even past the end of the data, a recipient-table row that fails to decode is retried
at the same offset, and each object copies the rest of the buffer), so a hostile 1 KB
winmail.dat can keep it busy for hours. ``_affordable`` walks the same structure first, counting
the iterations and bytes copied tnefparse would spend, and refuses the file over a budget; the
raw winmail.dat then stays an ordinary attachment with a defect.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from parsing.attachments import guess_type
from parsing.model import Attachment

MAX_STEPS = 50_000  # MAPI properties/values/rows tnefparse may visit
MAX_COPIED = 256 * 1024 * 1024  # bytes tnefparse may copy while slicing objects
MAX_OBJECTS = 5_000
MAX_EMBEDDED = 3  # TNEF inside TNEF (attached Outlook items)

_SIGNATURE = 0x223E9F78
_IMESSAGE_SIG = b"\x07\x03\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46"
_ATT_MAPIPROPS, _ATT_RECIPTABLE, _ATT_ATTACHMENT = 0x9003, 0x9004, 0x9005
_LVL_ATTACHMENT = 2
_ATTACH_DATA_OBJ = 0x3701
# MAPI property types of fixed size (bytes per value) and of variable size (counted values).
_FIXED = {0x2: 2, 0xB: 2, 0x3: 4, 0x4: 4, 0xA: 4, 0x5: 8, 0x6: 8, 0x7: 8, 0x14: 8, 0x40: 8}
_FIXED[0x48] = 16  # a GUID
_VARIABLE = frozenset({0x0, 0xD, 0x1E, 0x1F, 0x102})
_U16 = struct.Struct("<H").unpack_from
_U32 = struct.Struct("<I").unpack_from


class _OverBudget(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Unpacked:
    attachments: tuple[Attachment, ...]
    body: str | None
    html: str | None


def unpack(payload: bytes) -> tuple[Unpacked | None, str | None]:
    """The files and bodies in a TNEF payload, or None and why it could not be unpacked."""
    if len(payload) < 6 or _U32(payload, 0)[0] != _SIGNATURE:
        return None, "not a TNEF file (wrong signature)"
    if not _affordable(payload, 0):
        return None, "TNEF structure too costly to unpack (hostile or corrupt counts)"
    try:
        from tnefparse import TNEF

        tnef = TNEF(payload, do_checksum=False)
        files = tuple(_files(tnef))
        body = _text(tnef.body, "cp1252")
        html = _text(tnef.htmlbody, "utf-8")
    except Exception as exc:  # third-party decoder on untrusted bytes: any failure is a defect
        return None, f"TNEF could not be unpacked ({type(exc).__name__}: {str(exc)[:80]})"
    return Unpacked(files, body, html), None


def _files(tnef: object) -> list[Attachment]:
    found = []
    for item in getattr(tnef, "attachments", []):
        try:
            name = item.long_filename()
        except (UnicodeError, ValueError):
            name = bytes(getattr(item, "_name", b"") or b"").decode("latin-1")
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        name = (name or "").strip("\x00 ") or None
        data = item.data if isinstance(item.data, bytes) else bytes(str(item.data), "utf-8")
        found.append(Attachment(name, guess_type(name), data, from_tnef=True))
    return found


def _text(value: object, charset: str) -> str | None:
    if isinstance(value, bytes):
        value = value.decode(charset, "replace")
    if isinstance(value, str) and value.strip("\x00 \r\n"):
        return value.replace("\x00", "")
    return None


def _affordable(data: bytes, depth: int) -> bool:
    """Whether tnefparse's work on ``data`` stays within the budgets (an upper bound)."""
    try:
        _cost_tnef(data, depth, [0, 0])
    except _OverBudget:
        return False
    except (struct.error, IndexError, ValueError):
        return True  # tnefparse stops at the same malformed spot, cheaply
    return True


def _cost_tnef(data: bytes, depth: int, spent: list[int]) -> None:
    """Mirror of ``TNEF.__init__``: objects, and the MAPI lists it decodes."""
    if depth > MAX_EMBEDDED:
        raise _OverBudget
    length = len(data)
    offset, objects = 6, 0
    while offset + 12 < length:
        remaining = length - offset
        spent[1] += remaining  # TNEFObject(data[offset:]) copies the rest of the file
        objects += 1
        if objects > MAX_OBJECTS or spent[1] > MAX_COPIED:
            raise _OverBudget
        level, name = data[offset], _U16(data, offset + 1)[0]
        size = min(remaining, _U32(data, offset + 5)[0] + 11)
        body = data[offset + 9 : offset + size - 2]
        if level == _LVL_ATTACHMENT:
            if name == _ATT_ATTACHMENT:
                _cost_mapi(body, 0, depth, spent)
        elif name == _ATT_MAPIPROPS:
            _cost_mapi(body, 0, depth, spent)
        elif name == _ATT_RECIPTABLE:
            rows, row_offset = _U32(body, 0)[0], 4
            for _ in range(rows):  # every row costs at least one step, so this is bounded
                row_offset = _cost_mapi(body, row_offset, depth, spent)
        offset += size


def _step(spent: list[int], count: int = 1) -> None:
    spent[0] += count
    if spent[0] > MAX_STEPS:
        raise _OverBudget


def _cost_mapi(data: bytes, offset: int, depth: int, spent: list[int]) -> int:
    """Mirror of ``decode_mapi``; returns the offset it would return."""
    _step(spent)
    count = _U32(data, offset)[0]  # outside tnefparse's try: a short read ends the whole parse
    offset += 4
    length = len(data)
    try:
        for index in range(count):
            if offset >= length:  # tnefparse logs and continues for every remaining property
                _step(spent, count - index)
                break
            _step(spent)
            kind, name = _U16(data, offset)[0], _U16(data, offset + 2)[0]
            offset += 4
            if name >= 0x8000:  # named property: GUID, then an id or a UTF-16 name
                offset += 16
                if len(data[offset - 16 : offset]) != 16:
                    break
                named = _U32(data, offset)[0]
                offset += 4
                if named:
                    size = _U32(data, offset)[0]
                    offset += 4 + size + (-size % 4)
                else:
                    offset += 4
            values = None
            if kind & 0x1000:
                kind ^= 0x1000
                values = _U32(data, offset)[0]
                offset += 4
            repeat = values or 1
            if kind in _FIXED:
                _step(spent, repeat)  # fixed-size values never fail, however many are claimed
                offset += _FIXED[kind] * repeat
                if repeat % 2 and kind in (0x2, 0xB):
                    offset += 2
            elif kind in _VARIABLE:
                for _ in range(repeat):
                    offset = _cost_values(data, offset, name, bool(values), depth, spent)
            else:
                break  # tnefparse raises "Unknown MAPI type" and stops this list
    except (struct.error, IndexError):
        pass  # inside tnefparse's try: it stops this list and keeps going
    return offset


def _cost_values(
    data: bytes, offset: int, name: int, multi: bool, depth: int, spent: list[int]
) -> int:
    """Mirror of ``parse_property`` for strings and binaries: each value advances >= 4 bytes."""
    if multi:
        count = 1
    else:
        count = _U32(data, offset)[0]
        offset += 4
    for _ in range(count):
        _step(spent)
        size = _U32(data, offset)[0]
        offset += 4
        item = data[offset : offset + size]
        offset += size + (-size % 4)
        if name == _ATTACH_DATA_OBJ and item.startswith(_IMESSAGE_SIG):
            _cost_tnef(item[len(_IMESSAGE_SIG) :].rstrip(b"\x00"), depth + 1, spent)
    return offset
