"""Pulumi.<stack>.yaml read as the Pulumi CLI reads it, refusing what it refuses and what is dangerous besides.

What the CLI does, from its source (pulumi/pulumi, read for this module):

- YAML 1.2 scalars and no duplicate keys (gopkg.in/yaml.v3; :mod:`stacks.cli_yaml`); a UTF-8 BOM is dropped
  (``workspace/loaders.go`` ``readFileStripUTF8BOM``); a file that is not a mapping is refused
  (``SimplifyMarshalledProject``: "expected project to be an object").
- A key is ``<namespace>:<name>``, or the old ``<namespace>:config:<name>``; anything else is refused
  (``resource/config/key.go`` ``ParseKey``). A key without a namespace is read as ``<project>:<name>``
  (``loaders.go`` ``stackConfigNamespacedWithProject``).
- A scalar reaches the program as text (``2`` as ``"2"``, ``true`` as ``"true"``), a list or mapping as JSON
  (``resource/config/object.go`` ``MarshalString``).
- Before a preview, each key Pulumi.yaml declares is checked (``pkg/workspace/config.go``
  ``validateStackConfigValue``): a secret key must be encrypted ("must be encrypted as it's secret"), and the
  value must be of the declared type (``ValidateConfigValue``: a boolean is ``true`` or ``false``, so ``no``
  is refused; an integer is what ``strconv.Atoi`` reads).

What this module refuses on top, because the CLI would accept it and something would silently go wrong:
keys of a namespace the program never reads (a typo such as ``psf-infr:replicas`` leaves the default in
force); keys without a namespace or in the old ``config:`` form (the CLI reads them, but two spellings of
one key in a file would race); a value with no value (the CLI's own warning says its meaning will change);
a number the CLI would rewrite (``016`` is 14 to it, ``1e3`` is 1000); a key outside ``config:`` (ignored
by the CLI); an encrypted value for a key Pulumi.yaml does not declare secret (the offline plan cannot
decrypt it); and a stack file that does not disable default providers.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from yaml.nodes import Node, ScalarNode

from stacks.cli_yaml import FLOAT, INT, YAML11_BOOLEANS, ConfigFileError, load_yaml_file
from stacks.schema import PROJECT, ConfigKey, SettingsError, cli_accepts, config_schema

STACK_NAME: Final = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
"""The Pulumi CLI's rule for a stack name (``tokens/stack_name.go``)."""
TOP_LEVEL_KEYS: Final = frozenset({"secretsprovider", "encryptedkey", "encryptionsalt", "config", "environment"})
"""What a stack file may hold (``workspace/project.go`` ``ProjectStack``)."""
PULUMI_KEYS: Final = frozenset({"disable-default-providers"})
"""The ``pulumi:`` settings this project uses."""
PROVIDER_PACKAGES: Final = frozenset({"aws", "digitalocean", "fastly", "datadog"})
MAX_VALUES: Final = 10_000
"""More values than this in one file is an alias bomb or a mistake, never a stack's config."""


def check_stack_name(stack: str) -> str:
    """``stack`` if the Pulumi CLI accepts it as a stack name; one error line otherwise."""
    if not STACK_NAME.match(stack):
        raise ConfigFileError(
            f"stack {stack!r}",
            "a stack name may only contain letters, digits, '-', '_' and '.', at most 100 of them "
            "(the Pulumi CLI's rule)",
        )
    return stack


def stack_file_path(root: Path, stack: str) -> Path:
    """Where the CLI looks for a stack's config: ``Pulumi.<stack>.yaml`` beside Pulumi.yaml."""
    return root / f"Pulumi.{check_stack_name(stack)}.yaml"


def stack_names(root: Path) -> list[str]:
    """The stacks that have a stack file in ``root``."""
    names = (p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml"))
    return sorted(name for name in names if STACK_NAME.match(name))


@dataclass(frozen=True)
class ConfigEntry:
    """One config value of a stack file, as the program will receive it."""

    key: str
    text: str
    secure: bool
    line: int | None


@dataclass(frozen=True)
class StackFile:
    """A stack file that passed every check: its config by full key (``psf-infra:replicas``)."""

    stack: str
    path: Path
    entries: Mapping[str, ConfigEntry]

    def config(self) -> dict[str, str]:
        """Full key -> the text the program receives (encrypted values keep their ciphertext)."""
        return {key: entry.text for key, entry in self.entries.items()}

    def project_values(self) -> dict[str, str]:
        """The project's plain (not encrypted) values, by unnamespaced key."""
        prefix = f"{PROJECT}:"
        mine = (e for key, e in self.entries.items() if key.startswith(prefix) and not e.secure)
        return {e.key.removeprefix(prefix): e.text for e in mine}


def go_number_text(value: float) -> str:
    """A float as Go's encoding/json writes it, which is how the CLI hands a YAML float to the program."""
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if 1e-6 <= abs(value) < 1e21:
        return format(Decimal(repr(value)).normalize(), "f")
    return re.sub(r"e([+-])0(\d)$", r"e\1\2", repr(value))


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def describe_type(spec: ConfigKey) -> str:
    """What a value of this key must look like, in words."""
    return {
        "string": "must be text, not a list or a mapping",
        "integer": "must be a whole number",
        "boolean": "must be true or false",
        "object": "must be a mapping",
    }.get(spec.type, f"must be a list of {spec.items} values (a YAML sequence)")


def _type_allowed(spec: ConfigKey, text: str) -> str:
    allowed = f"{describe_type(spec)}; Pulumi.yaml types it {spec.type_name} and the Pulumi CLI refuses anything else"
    if spec.type == "boolean" and text in YAML11_BOOLEANS:
        allowed = (
            f"must be true or false: {text!r} is a boolean only in YAML 1.1 (PyYAML); the Pulumi CLI reads YAML 1.2, "
            f"where it is the text {text!r}, and refuses it for a boolean key"
        )
    return allowed


def _foreign_key(namespace: str, name: str) -> str:
    """Why a key of another namespace is refused."""
    close = difflib.get_close_matches(namespace, [PROJECT, "pulumi"], n=1, cutoff=0.6)
    if close and close[0] == PROJECT:
        return f"the namespace {namespace!r} is not the project's; did you mean {PROJECT}:{name}?"
    if namespace in PROVIDER_PACKAGES:
        return (
            "has no effect: default providers are disabled, and the explicit providers take their settings "
            f"from {PROJECT}: keys (stacks/providers.py)"
        )
    return f"the program reads only {PROJECT}: keys and pulumi:disable-default-providers, so it would be ignored"


def check_key(key: str, schema: Mapping[str, ConfigKey], value: Any = None) -> tuple[str, str]:
    """``(namespace, name)`` of a full config key this project reads; a :class:`SettingsError` otherwise."""
    namespace, _, name = key.partition(":")
    if not namespace or not name or ":" in name:
        raise SettingsError(key, value, "is not a config key: write <namespace>:<name>, e.g. psf-infra:replicas")
    if namespace == PROJECT:
        if name not in schema:
            close = difflib.get_close_matches(name, list(schema), n=1)
            hint = f"; did you mean {PROJECT}:{close[0]}?" if close else " (typo?)"
            raise SettingsError(name, value, f"is not a key Pulumi.yaml declares{hint}")
        return namespace, name
    if namespace == "pulumi":
        if name not in PULUMI_KEYS:
            raise SettingsError(
                key, value, "is not a pulumi: setting this project uses (only disable-default-providers)"
            )
        return namespace, name
    raise SettingsError(key, value, _foreign_key(namespace, name))


def _normalise_key(raw: Any, file: str, line: int | None) -> str:
    """The full key a stack file's key stands for; refuses the spellings the CLI reads but this repository does not."""
    if not isinstance(raw, str):
        raise ConfigFileError(file, f"config key {raw!r} is not text; keys are <namespace>:<name>", line)
    parts = raw.split(":")
    if len(parts) == 1:
        raise ConfigFileError(
            file,
            f"config key {raw!r} has no namespace: the Pulumi CLI reads it as {PROJECT}:{raw}, so write it that "
            "way (every key in this repository's stack files is spelled out, and two spellings of one key would race)",
            line,
        )
    if len(parts) == 3 and parts[1] == "config":
        raise ConfigFileError(
            file, f"config key {raw!r} has the old <namespace>:config:<name> form; write {parts[0]}:{parts[2]}", line
        )
    if len(parts) != 2 or not all(parts):
        raise ConfigFileError(
            file, f"config key {raw!r} is not one the Pulumi CLI can parse: write <namespace>:<name>", line
        )
    return raw


def _program_text(value: Any, node: Node | None, key: str, where: str) -> tuple[str, Any]:
    """(text the program receives, value the CLI validates) for one stack-file value."""
    if value is None:
        raise SettingsError(
            key,
            None,
            'has no value: write "" for empty text, or remove the key to get its default (the Pulumi CLI warns '
            "that an empty value's meaning will change)",
            where=where,
        )
    if isinstance(value, bool):
        text = "true" if value else "false"
        return text, text
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise SettingsError(key, value, "must be a finite number (the Pulumi CLI cannot store it)", where=where)
        text = str(value) if isinstance(value, int) else go_number_text(value)
        written = node.value if isinstance(node, ScalarNode) and node.tag in (INT, FLOAT) else text
        if written != text:
            raise SettingsError(
                key,
                written,
                f'is read by the Pulumi CLI as the number {text}: quote it ("{written}") if you mean that text, or '
                f"write {text} if you mean the number",
                where=where,
            )
        return text, text
    if isinstance(value, str):
        return value, value
    for count, item in enumerate(_walk(value), start=1):
        if count > MAX_VALUES:
            raise SettingsError(
                key,
                None,
                f"must hold at most {MAX_VALUES} values; no config value is that big",
                where=where,
                shown=f"(a value of more than {MAX_VALUES} items, as nested aliases make)",
            )
        if isinstance(item, dict) and "secure" in item:
            raise SettingsError(
                key,
                None,
                "must not hide an encrypted value inside a list or mapping, which the offline plan cannot read",
                where=where,
                shown="(a list or mapping holding secure:)",
            )
        if item is None or (isinstance(item, float) and not math.isfinite(item)):
            raise SettingsError(
                key, value, "must not hold an empty or non-finite item; write every item out", where=where
            )
    return json.dumps(value, separators=(",", ":")), value


def _secure_value(value: Any) -> str | None:
    if isinstance(value, dict) and set(value) == {"secure"}:
        return value["secure"] if isinstance(value["secure"], str) else ""
    return None


def _entry(
    key: str, value: Any, node: Node | None, line: int | None, file: str, schema: Mapping[str, ConfigKey]
) -> ConfigEntry:
    where = f"{file} line {line}" if line else file
    try:
        namespace, name = check_key(key, schema, None if _secure_value(value) is not None else value)
    except SettingsError as exc:
        raise SettingsError(exc.key, exc.value, exc.allowed, where=where) from None
    ciphertext = _secure_value(value)
    if namespace == PROJECT:
        spec = schema[name]
        if spec.secret and ciphertext is None:
            why = (
                "it is a secret a stack may leave unset (stacks/schema.py OPTIONAL_SECRETS), which the program "
                "refuses in plaintext"
                if spec.optional_secret
                else "as Pulumi.yaml declares it secret (the Pulumi CLI refuses plaintext here too)"
            )
            raise SettingsError(
                name,
                value,
                f"must be encrypted: {why}; remove it and run `pulumi config set --secret {name}`",
                where=where,
                hidden=True,
            )
        if ciphertext is not None:
            if not spec.secret:
                raise SettingsError(
                    name,
                    "[secure]",
                    "is encrypted but Pulumi.yaml does not declare it secret; the offline plan cannot decrypt it. "
                    f"Set it in plain text (`pulumi config set {name} <value>`) or declare it secret: true",
                    where=where,
                )
            if not ciphertext:
                raise SettingsError(
                    name,
                    "[secure]",
                    "secure: must hold the ciphertext `pulumi config set --secret` writes",
                    where=where,
                )
            return ConfigEntry(key, ciphertext, True, line)
        text, content = _program_text(value, node, name, where)
        if not cli_accepts(spec.type, spec.items, content):
            raise SettingsError(name, value, _type_allowed(spec, text), where=where)
        return ConfigEntry(key, text, False, line)
    # pulumi:disable-default-providers
    if not (isinstance(value, list) and "*" in value and all(isinstance(v, str) for v in value)):
        raise SettingsError(
            key,
            value,
            'must be ["*"]: every resource uses an explicit provider, never ambient credentials',
            where=where,
        )
    return ConfigEntry(key, json.dumps(value), False, line)


def read_stack_file(root: Path, stack: str, schema: Mapping[str, ConfigKey] | None = None) -> StackFile:
    """The stack file of ``stack`` in ``root``, checked; one :class:`ConfigFileError` or :class:`SettingsError` line."""
    schema = schema if schema is not None else config_schema()
    path = stack_file_path(root, stack)
    if not path.is_file():
        known = ", ".join(stack_names(root)) or "none"
        raise ConfigFileError(path.name, f"no stack file of that name; the stacks here are: {known}")
    document = load_yaml_file(path)
    file = path.name
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"the {type(data).__name__} {data!r}"[:60]
        raise ConfigFileError(file, f"must be a mapping with a config: section, not {kind}", 1)
    top_lines = document.key_lines()
    for key in data:
        if not isinstance(key, str) or key not in TOP_LEVEL_KEYS:
            hint = " (indent config keys under config:)" if isinstance(key, str) and ":" in key else ""
            allowed = ", ".join(sorted(TOP_LEVEL_KEYS))
            raise ConfigFileError(
                file,
                f"{key!r} is not a stack-file setting{hint}; the Pulumi CLI would ignore it. Allowed: {allowed}",
                top_lines.get(str(key)),
            )
    if "environment" in data:
        raise ConfigFileError(
            file,
            "imports Pulumi ESC environments, which the offline plan cannot read; put the values in config:",
            top_lines.get("environment"),
        )
    for key in ("secretsprovider", "encryptedkey", "encryptionsalt"):
        if key in data and not isinstance(data[key], str):
            raise ConfigFileError(file, f"{key} must be text", top_lines.get(key))
    config = data.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        line = top_lines.get("config")
        raise ConfigFileError(file, "config: must be a mapping of <namespace>:<name> to a value", line)
    pairs = document.pairs("config")
    entries: dict[str, ConfigEntry] = {}
    for raw_key, value in config.items():
        key_node, value_node = pairs.get(str(raw_key), (None, None))
        line = key_node.start_mark.line + 1 if key_node is not None else top_lines.get("config")
        key = _normalise_key(raw_key, file, line)
        entries[key] = _entry(key, value, value_node, line, file, schema)
    if "pulumi:disable-default-providers" not in entries:
        raise ConfigFileError(
            file,
            'must set pulumi:disable-default-providers: ["*"], so no resource can deploy with ambient credentials',
            top_lines.get("config"),
        )
    return StackFile(stack, path, entries)


def override_entry(key: str, value: Any, schema: Mapping[str, ConfigKey] | None = None) -> tuple[str, str] | None:
    """``(full key, text)`` of a ``--set`` override, checked like ``pulumi config set``; None unsets the key.

    A string is taken as ``pulumi config set KEY VALUE`` stores it, except for keys Pulumi.yaml types as an
    array, whose value is read as JSON, as ``pulumi config set --json`` would. Other values (from tests) are
    stored as a stack file would store them.
    """
    schema = schema if schema is not None else config_schema()
    full = key if ":" in key else f"{PROJECT}:{key}"
    namespace, name = check_key(full, schema, value)
    if namespace != PROJECT:
        raise SettingsError(full, value, "cannot be overridden here", where="--set")
    if value is None:
        return None
    spec = schema[name]
    if isinstance(value, str):
        text, content = value, value
        if spec.type == "array":
            try:
                content = json.loads(value)
            except json.JSONDecodeError:
                raise SettingsError(
                    name,
                    value,
                    "must be a JSON array for an array key, e.g. --set 'adminCidrs=[\"192.0.2.0/24\"]' "
                    "(like `pulumi config set --json`)",
                    where="--set",
                ) from None
    else:
        text, content = _program_text(value, None, name, "--set")
    if not cli_accepts(spec.type, spec.items, content):
        raise SettingsError(name, value, _type_allowed(spec, text), where="--set", hidden=spec.secret)
    return full, text
