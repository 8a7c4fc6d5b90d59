"""``ticketgate config show`` and ``ticketgate config reference``.

Place in the flow: an operator's view of ``gateway.config``: ``show`` prints the effective value
of every setting, secrets masked, and where it came from (the environment variable, the file
and table, or the default); ``reference`` prints the Markdown table that README.md carries
(generated from ``gateway.config_model``; ``tests/test_config_reference.py`` keeps them equal).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from gateway.config import load_config, to_settings
from gateway.config_sources import Key, env_names, every_key

MASK = "********"
README_BEGIN, README_END = "<!-- config:begin -->", "<!-- config:end -->"


def _is_secret(info: FieldInfo) -> bool:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    return bool(extra.get("secret"))


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _masked(value: Any, info: FieldInfo) -> Any:
    """Secrets show as set or not; a URL keeps its shape with the password masked."""
    if value is None or not _is_secret(info):
        return _plain(value)
    if isinstance(value, str) and "://" in value:
        from sqlalchemy.engine import make_url

        try:
            return make_url(value).render_as_string(hide_password=True)
        except Exception:  # not a URL SQLAlchemy reads: show nothing of it
            return MASK
    if isinstance(value, dict):
        return dict.fromkeys(value, MASK)
    return MASK


def _value(model: Any, key: Key) -> Any:
    section = getattr(model, key[0]) if len(key) == 2 else model
    return getattr(section, key[-1])


def _name(key: Key) -> str:
    return f"{key[0]}.{key[1]}" if len(key) == 2 else key[0]


# Settings whose default is derived from others: shown as the value in effect.
DERIVED = ("home", "database_url", "from_address", "message_id_domain")


def show(args: argparse.Namespace) -> int:
    loaded = load_config(args.config)
    effective = to_settings(loaded.model)
    rows = []
    for key, info in every_key():
        value = _value(loaded.model, key)
        if key[0] in DERIVED and len(key) == 1:
            value = getattr(effective, key[0])
        rows.append({"setting": _name(key), "value": _masked(value, info),
                     "from": loaded.origin(key)})
    tables = {name: loaded.origin((name,)) for name in ("mailbox", "imap", "sla")
              if getattr(loaded.model, name)}
    if args.json:
        print(json.dumps({"file": loaded.path, "settings": rows, "tables": tables}))
        return 0
    print(f"config file: {loaded.path or '(none)'}")
    width = max(len(r["setting"]) for r in rows)
    for row in rows:
        value = row["value"]
        value = "(unset)" if value is None else value if isinstance(value, str) \
            else json.dumps(value)
        print(f"{row['setting']:<{width}}  {value}  ({row['from']})")
    for name, origin in tables.items():
        print(f"[[{name}]] / [{name}]: from {origin}")
    return 0


def _default_text(info: FieldInfo) -> str:
    default = info.get_default(call_default_factory=True)
    if default is None or default == {} or default == ():
        return "unset"
    if isinstance(default, tuple):
        return "`" + json.dumps(list(default)) + "`"
    if isinstance(default, bool):
        return "`" + str(default).lower() + "`"
    return f"`{default}`"


def reference_table() -> str:
    """The README's table: one row per setting, in the model's order."""
    lines = ["| setting (TOML) | environment | default | meaning |", "|---|---|---|---|"]
    for key, info in every_key():
        toml = f"`[{key[0]}] {key[1]}`" if len(key) == 2 else f"`{key[0]}`"
        env = " ".join(f"`{n}`" for n in env_names(key))
        description = (info.description or "").replace("|", "\\|")
        lines.append(f"| {toml} | {env} | {_default_text(info)} | {description} |")
    return "\n".join(lines) + "\n"


def reference(args: argparse.Namespace) -> int:
    sys.stdout.write(reference_table())
    return 0
