"""The stack's import map, and how the program adopts live resources with it (the ``import`` resource option).

The map (``imports/<stack>.yaml``, the contract of IMPORT_MAP_SPEC.md: discovery writes it, people review it)
gives, for each resource the program declares in a part whose owner is ``import``, its live cloud ID::

    imports:
      python-org-zone: Z0123456789ABCDEFGHIJ      # <logical name, or URN>: <live ID>
      nyc1-docs-1: "301234567"                    # IDs are strings, digits quoted
    dropped:                                       # records the DNS cut-over may drop (read by the cut-over check)
      - {zone: python.org, name: old.python.org, type: CNAME, reason: retired in 2019}

:func:`load_import_map` reads and checks the file before the program registers anything. :class:`Adoption`
then runs the program: it sees each resource as it is constructed (a stack transformation), sets
``import_`` on exactly the resources the map names (and ``protect`` in a stack that protects, as
``pulumi import`` does), and when the whole program is constructed checks the map against it:

- every entry names a resource of the program (by logical name, or by URN where names are shared);
- every ID has the shape its type's importer reads, and agrees with what the resource declares
  (:mod:`stacks.import_ids`);
- an entry adopts only a resource of a part whose owner is ``import``, and a part marked ``import`` adopts
  at least one resource (an import part the map says nothing of would be created beside the live one).
  The resources of an import part without an entry have no live twin (discovery reports them): they are
  created, and a warning lists them so the review sees it.

Nothing registers before that check: the top-level components wait for it (``depends_on`` an output the check
resolves), and every other resource waits for its parent or provider. A failed check leaves the stack as it
was. The error is one line naming the file, the entry and what is allowed (:class:`ImportMapError`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

import pulumi
import yaml

from stacks.import_ids import RECORD_TYPES, problem
from stacks.ownership import Ownership, Part
from stacks.parts import Node, UnplacedError, node_of
from stacks.settings import PROJECT, PROJECT_ROOT, Settings, SettingsError

T = TypeVar("T")
_TOP_KEYS: Final = frozenset({"imports", "dropped"})
_DROPPED_KEYS: Final = ("zone", "name", "type", "reason")


class ImportMapError(SettingsError):
    """The import map is malformed, or does not fit the program. One line: the file, the entry, what is allowed.

    A :class:`~stacks.settings.SettingsError` (the map is configuration, committed and reviewed) whose ``key`` is
    ``importMap``, so everything that reports a settings error in one line reports this one too.
    """

    def __init__(self, path: Path, where: str, value: object, allowed: str) -> None:
        self.key = "importMap"
        self.value = value
        self.allowed = allowed
        self.path = path
        shown = "(missing)" if value is None else repr(value)
        pulumi.RunError.__init__(self, f"{_shown_path(path)}: {where} = {shown} is invalid: {allowed}")


def _shown_path(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


class NotRegistered(pulumi.RunError):
    """What every registration waiting for the import check raises when the program failed before it passed.

    Its message is the program's own error (one line); a RunError and not a ValueError, so the SDK reports it
    unwrapped and the CLI prints that line alone.
    """


@dataclass(frozen=True)
class DroppedRecord:
    """A live record the program does not declare and that may vanish at a zone's cut-over, with the reason."""

    zone: str
    name: str
    type: str
    reason: str


@dataclass(frozen=True)
class ImportMap:
    """One stack's import map: ``entries`` maps a logical name (or URN) to a live ID."""

    path: Path
    entries: Mapping[str, str] = field(default_factory=dict)
    dropped: tuple[DroppedRecord, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.entries)


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice (the YAML spec forbids it; PyYAML keeps the last)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"{key!r} is given twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_import_map(path: Path, stack: str) -> ImportMap:
    """Read and check the import map at ``path`` (a missing file imports nothing); ImportMapError if malformed."""
    if not path.exists():
        return ImportMap(path)
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as problem_:
        where = getattr(problem_, "problem_mark", None)
        line = f"line {where.line + 1}" if where is not None else "the file"
        raise ImportMapError(path, line, None, f"must be YAML ({' '.join(str(problem_).split())})") from None
    if document is None:
        return ImportMap(path)
    if not isinstance(document, dict):
        raise ImportMapError(path, "the file", type(document).__name__, "must be a mapping with imports: and dropped:")
    if unknown := sorted(str(k) for k in document if k not in _TOP_KEYS):
        raise ImportMapError(path, unknown[0], None, "is no key of an import map; it has imports: and dropped:")
    return ImportMap(path, _entries(path, stack, document.get("imports")), _dropped(path, document.get("dropped")))


def _entries(path: Path, stack: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ImportMapError(path, "imports", type(value).__name__, "must map logical names to live IDs")
    entries: dict[str, str] = {}
    for key, live in value.items():
        if not isinstance(key, str) or not key.strip() or key != key.strip() or any(c.isspace() for c in key):
            raise ImportMapError(path, "imports", key, "keys must be logical names or URNs, without spaces")
        if key.startswith("urn:") and not key.startswith(f"urn:pulumi:{stack}::{PROJECT}::"):
            raise ImportMapError(path, f"imports.{key}", live, f"a URN key must be one of stack {stack}'s")
        if not isinstance(live, str) or not live or live != live.strip() or any(c.isspace() for c in live):
            raise ImportMapError(
                path,
                f"imports.{key}",
                live,
                'must be the live ID as a string, without spaces (quote digits: "301234567")',
            )
        entries[key] = live
    return entries


def _dropped(path: Path, value: Any) -> tuple[DroppedRecord, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ImportMapError(path, "dropped", type(value).__name__, "must be a list of records")
    records: list[DroppedRecord] = []
    for n, item in enumerate(value):
        where = f"dropped[{n}]"
        if not isinstance(item, dict) or set(item) != set(_DROPPED_KEYS):
            raise ImportMapError(path, where, item, f"must give exactly {', '.join(_DROPPED_KEYS)}")
        if not all(isinstance(item[k], str) and item[k].strip() for k in _DROPPED_KEYS):
            raise ImportMapError(path, where, item, f"{', '.join(_DROPPED_KEYS)} must be non-empty strings")
        zone, name, kind = item["zone"].strip(), item["name"].strip(), item["type"].strip()
        if (name != zone and not name.endswith("." + zone)) or name.endswith("."):
            raise ImportMapError(path, f"{where}.name", name, f"must be a name inside {zone}, without a trailing dot")
        if kind not in RECORD_TYPES:
            raise ImportMapError(
                path, f"{where}.type", kind, f"must be a Route 53 record type: {', '.join(RECORD_TYPES)}"
            )
        record = DroppedRecord(zone, name, kind, item["reason"].strip())
        if any((r.zone, r.name, r.type) == (zone, name, kind) for r in records):
            raise ImportMapError(path, where, f"{name} {kind}", "lists that record twice")
        records.append(record)
    return tuple(records)


@dataclass
class _Seen:
    """A custom resource as the program constructed it: its node (part, URN) and its inputs."""

    node: Node
    inputs: Mapping[str, Any]


class Adoption:
    """Runs the program with the stack's ownership and import map applied (see the module docstring)."""

    def __init__(self, settings: Settings, import_map: ImportMap) -> None:
        self.settings = settings
        self.map = import_map
        self._nodes: dict[int, Node] = {}
        self._keep: list[pulumi.Resource] = []
        self._seen: list[_Seen] = []
        self._gate: asyncio.Future[None] | None = None
        self._gate_output: pulumi.Output[list[pulumi.Resource]] | None = None

    def run(self, program: Callable[[], T]) -> T:
        """Construct the program, check the map against it, then let it register; on any error, nothing does."""
        loop = asyncio.get_running_loop()
        self._gate = loop.create_future()
        self._gate_output = pulumi.Output.from_input(self._gate).apply(lambda _: [])
        pulumi.runtime.register_stack_transformation(self._transform)
        try:
            result = program()
            self.check()
        except BaseException as failure:
            # Everything constructed is waiting for the gate: fail it, or the SDK would wait for those
            # registrations forever. The SDK reports the first of them to fail, wrapping a ValueError (as a
            # SettingsError is) in a message of its own: they fail with the program's one line instead.
            closed = NotRegistered(str(failure)) if isinstance(failure, pulumi.RunError) else failure
            closed.__cause__ = failure if closed is not failure else None
            self._gate.set_exception(closed)
            raise
        self._gate.set_result(None)
        return result

    def _transform(self, args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        parent = args.opts.parent
        parent_node = self._nodes.get(id(parent)) if parent is not None else None
        custom = isinstance(args.resource, pulumi.CustomResource)
        try:
            node = node_of(args.type_, args.name, parent_node, custom=custom)
        except UnplacedError as unplaced:
            raise SettingsError("ownership", args.name, f"has no part: {unplaced}") from None
        self._nodes[id(args.resource)] = node
        # The nodes are found again by the resource's id(): keep the resources alive so no id is reused.
        self._keep.append(args.resource)
        options: dict[str, Any] = {}
        if parent is None and self._gate_output is not None:
            if args.opts.depends_on is not None:
                raise SettingsError("ownership", args.name, "a top-level component must not set depends_on")
            options["depends_on"] = self._gate_output
        if custom and node.part is not None:
            self._seen.append(_Seen(node, args.props))
            live = self._entry(node)
            if live is not None:
                if reason := problem(args.type_, live, args.props):
                    raise ImportMapError(self.map.path, f"imports.{self._key(node)}", live, reason)
                options["import_"] = live
                # `pulumi import` protects what it adopts: a code change must not delete a resource that
                # existed before the program did.
                if self.settings.protect:
                    options["protect"] = True
        if not options:
            return None
        return pulumi.ResourceTransformationResult(
            args.props, pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(**options))
        )

    def _urn(self, node: Node) -> str:
        return node.urn(self.settings.stack, PROJECT)

    def _key(self, node: Node) -> str:
        urn = self._urn(node)
        return urn if urn in self.map.entries else node.name

    def _entry(self, node: Node) -> str | None:
        entries = self.map.entries
        if not entries:
            return None
        urn = self._urn(node)
        if urn in entries:
            return entries[urn]
        return entries.get(node.name)

    def check(self) -> None:
        """The map against the constructed program: names, shared names, parts and their owners, completeness."""
        path, entries = self.map.path, self.map.entries
        by_name: dict[str, list[_Seen]] = {}
        by_urn: dict[str, _Seen] = {}
        for seen in self._seen:
            by_name.setdefault(seen.node.name, []).append(seen)
            by_urn[self._urn(seen.node)] = seen
        mapped: set[int] = set()
        for key in entries:
            if key in by_urn:
                mapped.add(id(by_urn[key]))
                continue
            named = by_name.get(key, [])
            if not named:
                raise ImportMapError(
                    path, f"imports.{key}", entries[key], f"names no resource of stack {self.settings.stack}'s program"
                )
            if len(named) > 1:
                raise ImportMapError(
                    path,
                    f"imports.{key}",
                    entries[key],
                    f"{len(named)} resources share that name; key each by its URN ({self._urn(named[0].node)}, ...)",
                )
            mapped.add(id(named[0]))
        for seen in self._seen:
            if id(seen) not in mapped:
                continue
            assert seen.node.part is not None
            owner = self.settings.owner(seen.node.part)
            if owner is not Ownership.IMPORT:
                key = self._key(seen.node)
                raise ImportMapError(
                    path,
                    f"imports.{key}",
                    entries[key],
                    f"adopts a resource of {seen.node.part}, whose owner is {owner.value}: set ownership "
                    f"{seen.node.part}=import to adopt the part, or drop the entry",
                )
        self._check_parts(mapped)

    def _check_parts(self, mapped: set[int]) -> None:
        """Every part marked import has resources here and adopts at least one; the rest are listed as created."""
        members: dict[Part, list[_Seen]] = {}
        for seen in self._seen:
            assert seen.node.part is not None
            members.setdefault(seen.node.part, []).append(seen)
        for part, owner in self.settings.owners.explicit:
            if owner is Ownership.IMPORT and part not in members:
                raise SettingsError(
                    "ownership",
                    f"{part}=import",
                    f"stack {self.settings.stack} has no resource of {part}: nothing to adopt",
                )
        for part in sorted(members):
            if self.settings.owner(part) is not Ownership.IMPORT:
                continue
            adopted = [s for s in members[part] if id(s) in mapped]
            if not adopted:
                raise ImportMapError(
                    self.map.path,
                    "imports",
                    None,
                    f"ownership {part}=import, but the map adopts none of its {len(members[part])} resources: "
                    "each would be created beside its live twin; run make discover or give their IDs",
                )
            created = [s.node.name for s in members[part] if id(s) not in mapped]
            if created:
                # Discovery found no live twin for these (or the type cannot be imported): the review must see
                # that adopting the part creates them.
                more = f" and {len(created) - 3} more" if len(created) > 3 else ""
                pulumi.log.warn(
                    f"{part}=import: {len(adopted)} resource(s) adopted, {len(created)} created "
                    f"(no entry in {_shown_path(self.map.path)}): {', '.join(created[:3])}{more}"
                )


def load_for(settings: Settings) -> ImportMap:
    """The import map of the stack ``settings`` describe (``importMap``, or ``imports/<stack>.yaml``)."""
    return load_import_map(settings.import_map_path, settings.stack)
