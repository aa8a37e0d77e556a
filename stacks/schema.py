"""The config schema (Pulumi.yaml's ``config:``), its type rules, and the one error every bad value raises.

Pulumi.yaml is the single source of truth for which keys exist, their types and their defaults. It is read
with the CLI's YAML rules (:mod:`stacks.cli_yaml`) and checked the way the CLI checks a project
(pulumi/pulumi ``sdk/go/common/workspace/project.go``: ``Project.Validate`` and ``ValidateConfigValue``),
so a schema the CLI would refuse fails here first, as one line naming the file and the line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from pulumi.errors import RunError

from stacks.cli_yaml import ConfigFileError, load_yaml_file

PROJECT: Final = "psf-infra"
PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent
CLI_TYPES: Final = frozenset({"string", "integer", "boolean", "array", "object"})
"""The types a Pulumi.yaml config key may declare (``project.go``)."""

_SHOWN_MAX: Final = 80

OPTIONAL_SECRETS: Final[Mapping[str, str]] = {
    "pagerdutyToken": "pageOnCall",
    "onCallEmails": "pageOnCall",
    "fastlyReadOnlyApiKey": "fastlyMetrics",
    # The registrar's token (stacks.settings._registrar): needed once registrarDomains lists a domain.
    "gandiToken": "registrarDomains",
}
"""Secret keys a stack may leave unset, each with the key that makes it required (a boolean that is true, or a
list that is not empty; :mod:`stacks.paging` says why Pulumi.yaml declares them as plain strings). They are
secret for everything else: the stack-file reader refuses them in plain text, and the program's own reader
refuses them unless set with ``--secret``."""


def _shown(value: object) -> str:
    if value is None:
        return "(not set)"
    text = repr(value)
    if len(text) <= _SHOWN_MAX:
        return text
    size = f" ({len(value)} characters)" if isinstance(value, str) else ""
    return text[: _SHOWN_MAX - 20] + "..." + size


class SettingsError(RunError, ValueError):
    """A configuration value is missing or invalid. The message is one line, fit to show an operator.

    ``key`` is a key of this project (``replicas``) or a full key of another namespace (``aws:region``).
    ``where`` says where the value came from when that helps (a stack file's line, ``--set``); ``hidden``
    keeps a secret's value out of the message, and ``shown`` describes a value too big to print.

    It is a :class:`pulumi.RunError`, which the Pulumi CLI reports as its message alone, without a traceback.
    """

    def __init__(
        self, key: str, value: object, allowed: str, *, where: str = "", hidden: bool = False, shown: str = ""
    ) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        if not shown:
            shown = "(a secret: its value is not shown)" if hidden and value not in (None, "") else _shown(value)
        suffix = f" ({where})" if where else ""
        super().__init__(f"config {full_key} = {shown} is invalid: {allowed}{suffix}")


@dataclass(frozen=True)
class ConfigKey:
    """One key declared in Pulumi.yaml's ``config:`` schema."""

    name: str
    type: str
    description: str
    default: Any
    secret: bool
    items: str | None = None

    @property
    def required(self) -> bool:
        """Keys without a default must be set in every stack file (or as a secret)."""
        return self.default is None

    @property
    def optional_secret(self) -> bool:
        """A secret a stack may leave unset (:data:`OPTIONAL_SECRETS`), declared with a default of ""."""
        return self.secret and not self.required

    @property
    def type_name(self) -> str:
        """The type as the CLI names it in errors: ``string``, ``array<string>``."""
        return f"array<{self.items}>" if self.type == "array" else self.type


def cli_accepts(type_: str, items: str | None, value: Any) -> bool:
    """Whether the Pulumi CLI accepts ``value`` for a key of this type (``ValidateConfigValue``, project.go).

    ``value`` is what the CLI validates: the text of a scalar as the stack file gives it to the program
    (``"2"``, ``"true"``), or the decoded structure of a list or mapping.
    """
    if type_ == "string":
        return isinstance(value, str)
    if type_ == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return True
        # strconv.Atoi: an optional sign and decimal digits, within 64 bits.
        return isinstance(value, str) and bool(re.fullmatch(r"[+-]?[0-9]+", value)) and abs(int(value)) < 2**63
    if type_ == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if type_ == "object":
        return isinstance(value, dict)
    if type_ == "array" and items is not None and isinstance(value, list):
        return all(cli_accepts(items, None, item) for item in value)
    return False


def _key_spec(name: str, spec: Any, file: str, line: int | None) -> ConfigKey:
    if not isinstance(spec, dict):
        raise ConfigFileError(file, f"config key {name!r} must be a mapping with type and description", line)
    type_ = spec.get("type")
    if type_ not in CLI_TYPES:
        allowed = ", ".join(sorted(CLI_TYPES))
        raise ConfigFileError(file, f"config key {name!r} has type {type_!r}; Pulumi allows {allowed}", line)
    items = spec.get("items")
    item_type = items.get("type") if isinstance(items, dict) else None
    if type_ == "array" and item_type not in CLI_TYPES - {"object"}:
        raise ConfigFileError(
            file, f"config key {name!r} declares an array but no item type ('items: {{type: string}}')", line
        )
    if "default" in spec and "value" in spec:
        raise ConfigFileError(file, f"config key {name!r} cannot have both a default and a value", line)
    default = spec.get("default")
    if default is not None and not cli_accepts(type_, item_type, default):
        item = f"array<{item_type}>" if type_ == "array" else type_
        raise ConfigFileError(file, f"the default of config key {name!r} is not of its type {item}", line)
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise ConfigFileError(file, f"the description of config key {name!r} must be text", line)
    return ConfigKey(
        name=name,
        type=type_,
        description=description,
        default=default,
        secret=spec.get("secret") is True or name in OPTIONAL_SECRETS,
        items=item_type if type_ == "array" else None,
    )


@cache
def config_schema(project_file: Path = PROJECT_ROOT / "Pulumi.yaml") -> Mapping[str, ConfigKey]:
    """The config keys Pulumi.yaml declares, with their types and defaults; one error line if it is malformed."""
    file = project_file.name
    document = load_yaml_file(project_file)
    if not isinstance(document.data, dict):
        raise ConfigFileError(file, "must be a mapping (name, runtime, config, ...)")
    if document.data.get("name") != PROJECT:
        raise ConfigFileError(
            file, f"name must be {PROJECT!r}, the namespace of every stack file's keys", document.line_of("name")
        )
    config = document.data.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigFileError(file, "config must be a mapping of key to its type", document.line_of("config"))
    lines = document.key_lines("config")
    keys: dict[str, ConfigKey] = {}
    for raw_name, spec in config.items():
        name = str(raw_name).removeprefix(f"{PROJECT}:")
        if ":" in name or not name:
            raise ConfigFileError(
                file,
                f"config key {raw_name!r} is not this project's; the program reads only {PROJECT} keys",
                lines.get(str(raw_name)),
            )
        if name in keys:
            raise ConfigFileError(file, f"config key {name!r} is declared twice", lines.get(str(raw_name)))
        keys[name] = _key_spec(name, spec, file, lines.get(str(raw_name)))
    return keys
