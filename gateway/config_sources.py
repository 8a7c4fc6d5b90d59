"""Where each setting comes from: the TOML file and the environment.

Place in the flow: ``gateway.config.load_config`` builds a ``Request`` (the file's data and the
environment) and validates ``GatewayConfig`` against what ``gathered`` makes of it: the two
sources below, merged (environment over file over the model's defaults). Each source also
records the origin of every value it gives, so an error and ``ticketgate config show`` can say
"TICKETGATE_SMTP_PORT" or "config.toml [smtp]".

Why not pydantic-settings' sources: they were all it was used for, and importing it (its CLI
and dotenv sources, importlib.metadata, asyncio) cost every command's start about 0.09 s of
CPU (`import gateway.config` with and without it: 0.33 and 0.24 s, median of 6).
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic.fields import FieldInfo

from gateway.config_model import FILE_ONLY, SECTIONS, GatewayConfig

Key = tuple[str, ...]  # ("port",) for [gateway] keys, ("smtp", "port") for a table's


@dataclass
class Request:
    """One load: the inputs, and the origins the sources fill in."""

    env: Mapping[str, str]
    data: dict[str, Any]  # the parsed TOML file ({} without one)
    path: str | None
    origins: dict[Key, str] = field(default_factory=dict)


def _is_sequence(info: FieldInfo) -> bool:
    origin = typing.get_origin(info.annotation)
    return origin in (tuple, list)


def env_names(key: Key) -> list[str]:
    """The variables that set ``key``, the canonical name first."""
    model: type[Any] = SECTIONS[key[0]] if len(key) == 2 else GatewayConfig
    info = model.model_fields[key[-1]]
    names = [("TICKETGATE_" + "_".join(key)).upper()]
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if isinstance(extra.get("env"), str):
        names.append(str(extra["env"]))
    return names


def every_key() -> list[tuple[Key, FieldInfo]]:
    """Every setting that has a name in the environment, in the model's order."""
    keys: list[tuple[Key, FieldInfo]] = []
    for name, info in GatewayConfig.model_fields.items():
        if name in SECTIONS:
            keys += [((name, sub), sub_info)
                     for sub, sub_info in SECTIONS[name].model_fields.items()]
        elif name not in FILE_ONLY:
            keys.append(((name,), info))
    return keys


def _put(target: dict[str, Any], key: Key, value: Any) -> None:
    if len(key) == 2:
        target.setdefault(key[0], {})[key[1]] = value
    else:
        target[key[0]] = value


def environment_values(request: Request) -> dict[str, Any]:
    """``TICKETGATE_<KEY>`` and ``TICKETGATE_<TABLE>_<KEY>``; empty variables count as unset."""
    env: Mapping[str, str] = request.env
    values: dict[str, Any] = {}
    for key, info in every_key():
        for name in env_names(key):
            raw = env.get(name, "").strip()
            if not raw:
                continue
            value: Any = [v.strip() for v in raw.split(",") if v.strip()] \
                if _is_sequence(info) else raw
            _put(values, key, value)
            request.origins[key] = f"environment {name}"
            break
    # The older combined form: TICKETGATE_SMTP=host:port (the port part may be empty).
    combined = env.get("TICKETGATE_SMTP", "").strip()
    if combined:
        host, _, port = combined.rpartition(":")
        smtp = values.setdefault("smtp", {})
        smtp.setdefault("host", host or "127.0.0.1")
        if port:
            smtp.setdefault("port", port)
        for sub in ("host", "port"):
            request.origins.setdefault(("smtp", sub), "environment TICKETGATE_SMTP")
    return values


def file_values(request: Request) -> dict[str, Any]:
    """The file: ``[gateway]`` keys at the top, each other table under its own name."""
    data = dict(request.data)
    where = request.path or "the config file"
    values: dict[str, Any] = {}
    gateway = data.pop("gateway", {})
    if isinstance(gateway, dict):
        for name, value in gateway.items():
            values[name] = value
            request.origins[(name,)] = f"{where} [gateway]"
    else:
        values["gateway"] = gateway  # refused as an unknown key, with its place
    for name, value in data.items():
        values[name] = value
        if isinstance(value, dict) and name in SECTIONS:
            for sub in value:
                request.origins[(name, sub)] = f"{where} [{name}]"
        request.origins.setdefault((name,), f"{where} [{name}]")
    return values


def _deep_update(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` over it, tables merged key by key (pydantic-settings' merge)."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = _deep_update(merged[key], value)
        else:
            merged[key] = value
    return merged


def gathered(request: Request) -> dict[str, Any]:
    """What the model is validated against: the environment over the file. The file is read
    first, so that where both set a key the origin recorded is the environment's, whose value
    is the one kept (pydantic-settings, which called the environment's source first, showed
    the file as the origin of a value the environment had set)."""
    from_file = file_values(request)
    return _deep_update(from_file, environment_values(request))
