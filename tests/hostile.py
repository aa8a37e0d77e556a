"""Hostile configurations, each run through the offline plan as an operator would meet it.

Every case is a stack file (a copy of a committed one with one change, or a file of its own), extra stack
files beside it, and plan arguments. :func:`run` plans it with ``offline.plan.main`` in-process, from a
temporary directory holding copies of the committed stack files, and returns the exit code and output.
``tests/test_hostile_config.py`` asserts each outcome; ``python -m tests.hostile`` prints them as the
Markdown table of the issue's closing note, so the table is what the tests check.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from offline import plan
from offline.recorder import PROJECT_ROOT

Edit = Callable[[str], "str | bytes"]
TextEdit = Callable[[str], str]


@dataclass(frozen=True)
class Hostile:
    """One bad input: what it is, how to make it, and the exit code and message the plan must give."""

    id: str
    category: str
    what: str
    edit: Edit | None = None
    stack: str = "staging"
    args: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
    exit: int = 2
    says: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What the plan did with a hostile input."""

    exit: int
    stdout: str
    stderr: str

    @property
    def first_line(self) -> str:
        """The first line the operator reads (stderr, where errors go; stdout when stderr is empty)."""
        lines = (self.stderr or self.stdout).splitlines()
        return lines[0] if lines else ""


def committed(stack: str) -> str:
    """A committed stack file's text."""
    return (PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text()


def replace(old: str, new: str) -> TextEdit:
    """Replace one exact piece of the file's text (which must be there)."""

    def edit(text: str) -> str:
        if old not in text:
            raise AssertionError(f"{old!r} is not in the stack file: the case is stale")
        return text.replace(old, new, 1)

    return edit


def setting(key: str, yaml_value: str) -> TextEdit:
    """Set ``psf-infra:<key>`` to a YAML value written as text, replacing the line if the file has one."""

    def edit(text: str) -> str:
        lines = text.splitlines()
        prefix = f"  psf-infra:{key}:"
        for i, line in enumerate(lines):
            if line.startswith(prefix):
                # Drop a block sequence that belongs to the old value.
                end = i + 1
                while end < len(lines) and lines[end].startswith("    "):
                    end += 1
                lines[i:end] = [f"{prefix} {yaml_value}"]
                return "\n".join(lines) + "\n"
        return text.rstrip("\n") + f"\n{prefix} {yaml_value}\n"

    return edit


def append(line: str) -> TextEdit:
    """Add a line at the end of the file (under config:, when indented)."""
    return lambda text: text.rstrip("\n") + "\n" + line + "\n"


def whole(content: str | bytes) -> Edit:
    """Replace the whole file."""
    return lambda _: content


OWN: Final = {
    "namePrefix": "psf-alice",
    "internalDomain": "int.alice.psf.io",
    "domainSuffix": "alice.psf.io",
    "vpcRanges": "[ams1=10.31.0.0/20, nyc1=10.32.0.0/20, sfo1=10.33.0.0/20]",
}
"""What a new stack, alice, must make its own so that it collides with no committed stack."""


def sibling(**changes: str) -> str:
    """A staging-like stack file of its own (no collision with the committed ones), with ``changes`` applied."""
    text = committed("staging")
    for key, value in {**OWN, **changes}.items():
        text = setting(key, value)(text)
    return text


def alice(delegated: bool = True, **changes: str) -> dict[str, str]:
    """The stack files for a new stack ``alice``: its own file, and prod's delegating its suffix to it."""
    files = {"alice": sibling(**changes)}
    if delegated:
        files["prod"] = replace("    - staging.psf.io\n", "    - staging.psf.io\n    - alice.psf.io\n")(
            committed("prod")
        )
    return files


PEM_BODY: Final = "MIIBszCCAVmgAwIBAgIUQ2Vy"
"""The start of a PEM body: enough for the reader, which must refuse what follows before any X.509 parsing."""


CASES: tuple[Hostile, ...] = (
    # --- SSH networks that are not /0 but cover much of the internet ---------------------------------------
    Hostile(
        "admin-two-halves",
        "admin networks",
        "adminCidrs: [0.0.0.0/1, 128.0.0.0/1]",
        setting("adminCidrs", "[0.0.0.0/1, 128.0.0.0/1]"),
        says=("adminCidrs", "/16"),
    ),
    Hostile(
        "admin-two-halves-prod",
        "admin networks",
        "prod, adminCidrs: two halves of the internet, via --set",
        stack="prod",
        args=("--set", 'adminCidrs=["0.0.0.0/1", "128.0.0.0/1"]'),
        says=("adminCidrs", "/16"),
    ),
    Hostile("admin-slash-4", "admin networks", "adminCidrs: [16.0.0.0/4]", setting("adminCidrs", "[16.0.0.0/4]")),
    Hostile("admin-v6-wide", "admin networks", "adminCidrs: ['2000::/3']", setting("adminCidrs", "['2000::/3']")),
    Hostile("admin-v6-any", "admin networks", "adminCidrs: ['::/0']", setting("adminCidrs", "['::/0']")),
    Hostile(
        "admin-many-narrow",
        "admin networks",
        "adminCidrs: two /16s (together more than one /16)",
        setting("adminCidrs", "[10.0.0.0/16, 10.2.0.0/16]"),
        says=("together",),
    ),
    Hostile("admin-loopback", "admin networks", "adminCidrs: [127.0.0.1/32]", setting("adminCidrs", "[127.0.0.1/32]")),
    Hostile(
        "admin-v4-mapped",
        "admin networks",
        "adminCidrs: ['::ffff:0:0/96'] (all of IPv4, spelt as IPv6)",
        setting("adminCidrs", "['::ffff:0:0/96']"),
    ),
    Hostile(
        "admin-host-bits", "admin networks", "adminCidrs: [140.211.10.1/24]", setting("adminCidrs", "[140.211.10.1/24]")
    ),
    # --- what a stack is: one source of truth ------------------------------------------------------------------
    Hostile(
        "staging-says-prod",
        "environment",
        "stack staging with environment: prod and no domainSuffix",
        lambda t: setting("environment", "prod")(replace("  psf-infra:domainSuffix: staging.psf.io\n", "")(t)),
        says=("environment", "'staging'"),
    ),
    Hostile(
        "staging-says-prod-suffix",
        "environment",
        "stack staging with environment: prod (suffix kept)",
        setting("environment", "prod"),
        says=("environment",),
    ),
    Hostile(
        "prod-says-staging",
        "environment",
        "stack prod with environment: staging",
        setting("environment", "staging"),
        stack="prod",
        says=("environment", "'prod'"),
    ),
    Hostile(
        "dev-stack-says-prod",
        "environment",
        "a new stack alice with environment: prod",
        stack="alice",
        extra=alice(environment="prod", domainSuffix='""'),
        says=("environment",),
    ),
    # --- collisions with another stack file of the repository ------------------------------------------------------
    Hostile(
        "prefix-taken",
        "collisions",
        "stack alice with staging's namePrefix",
        stack="alice",
        extra=alice(namePrefix="psf-staging"),
        says=("namePrefix", "staging"),
    ),
    Hostile(
        "prefix-extends",
        "collisions",
        "stack alice with namePrefix psf-prod-2 (a '-' extension of prod's)",
        stack="alice",
        extra=alice(namePrefix="psf-prod-2"),
        says=("namePrefix", "prod"),
    ),
    Hostile(
        "internal-taken",
        "collisions",
        "stack alice with staging's domainSuffix and internalDomain",
        stack="alice",
        extra=alice(domainSuffix="staging.psf.io", internalDomain="int.staging.psf.io"),
        says=("internalDomain", "also the internalDomain of stack 'staging'"),
    ),
    Hostile(
        "internal-is-prod-public",
        "collisions",
        "stack alice with internalDomain python.org (prod's public zone)",
        stack="alice",
        extra=alice(internalDomain="python.org"),
        says=("internalDomain", "inside domainSuffix"),
    ),
    Hostile(
        "suffix-is-prod-internal",
        "collisions",
        "stack alice with domainSuffix psf.io (its top zone would be prod's internal zone)",
        stack="alice",
        extra=alice(domainSuffix="psf.io", internalDomain="int.alice.psf.io"),
        says=("domainSuffix", "stack 'prod'"),
    ),
    Hostile(
        "internal-is-own-public",
        "collisions",
        "internalDomain equal to one of the stack's own public zones",
        setting("internalDomain", "python-org.staging.psf.io"),
        says=("internalDomain",),
    ),
    Hostile(
        "suffix-taken",
        "collisions",
        "stack alice with staging's domainSuffix",
        stack="alice",
        extra=alice(domainSuffix="staging.psf.io", internalDomain="int2.staging.psf.io"),
        says=("domainSuffix", "stack 'staging'"),
    ),
    Hostile(
        "vpc-taken",
        "collisions",
        "stack alice with prod's vpcRanges",
        stack="alice",
        extra=alice(vpcRanges="[ams1=10.110.0.0/20, nyc1=10.120.0.0/20, sfo1=10.130.0.0/20]"),
        says=("vpcRanges", "overlaps prod's ams1 10.110.0.0/20"),
    ),
    Hostile(
        "vpc-inside-another",
        "collisions",
        "stack alice with a vpcRanges entry inside staging's nyc1 range",
        stack="alice",
        extra=alice(vpcRanges="[ams1=10.31.0.0/20, nyc1=10.220.4.0/24, sfo1=10.33.0.0/20]"),
        says=("vpcRanges", "staging's nyc1 10.220.0.0/20"),
    ),
    Hostile(
        "vpc-taken-seen-by-prod",
        "collisions",
        "prod planned while a file alice copies its vpcRanges",
        stack="prod",
        extra=alice(vpcRanges="[ams1=10.110.0.0/20, nyc1=10.120.0.0/20, sfo1=10.130.0.0/20]"),
        says=("vpcRanges", "alice"),
    ),
    Hostile(
        "suffix-not-delegated",
        "collisions",
        "stack alice whose domainSuffix prod does not delegate",
        stack="alice",
        extra=alice(delegated=False),
        says=("domainSuffix", "delegatedDomains of stack 'prod'"),
    ),
    Hostile(
        "prod-drops-delegation",
        "collisions",
        "prod, delegatedDomains: [] while staging delegates from it",
        setting("delegatedDomains", "[]"),
        stack="prod",
        says=("delegatedDomains", "staging.psf.io"),
    ),
    Hostile(
        "dkim-duplicate",
        "collisions",
        "dkimKeys with the selector mail twice",
        setting("dkimKeys", "['mail=" + "A" * 216 + "', 'mail=" + "B" * 216 + "']"),
        says=("dkimKeys", "selector"),
    ),
    # --- stack files the CLI refuses, or reads differently from PyYAML ----------------------------------------------
    Hostile(
        "plaintext-secret",
        "stack file",
        "a secret key in plain text",
        append("  psf-infra:fastlyApiKey: abc123notencrypted"),
        says=("fastlyApiKey", "encrypted"),
    ),
    Hostile(
        "no-namespace",
        "stack file",
        "replicas: 3 (no namespace)",
        append("  replicas: 3"),
        says=("replicas", "namespace"),
    ),
    Hostile(
        "namespace-typo",
        "stack file",
        "psf-infr:replicas: 3 (misspelt namespace)",
        append("  psf-infr:replicas: 3"),
        says=("psf-infr:replicas", "did you mean"),
    ),
    Hostile(
        "provider-namespace",
        "stack file",
        "aws:region: us-west-2",
        append("  aws:region: us-west-2"),
        says=("aws:region", "default providers"),
    ),
    Hostile(
        "legacy-config-form",
        "stack file",
        "psf-infra:config:replicas: 2",
        append("  psf-infra:config:replicas: 2"),
        says=("config",),
    ),
    Hostile(
        "key-typo",
        "stack file",
        "psf-infra:replica: 2 (typo of replicas)",
        append("  psf-infra:replica: 2"),
        says=("replica", "did you mean psf-infra:replicas"),
    ),
    Hostile(
        "duplicate-key",
        "stack file",
        "psf-infra:replicas written twice",
        append("  psf-infra:replicas: 3"),
        says=("written twice",),
    ),
    Hostile("yaml11-no", "stack file", "psf-infra:protect: no", setting("protect", "no"), says=("protect", "YAML 1.1")),
    Hostile("yaml11-off", "stack file", "psf-infra:dnssec: off", setting("dnssec", "off"), says=("dnssec", "YAML 1.1")),
    Hostile("yaml11-yes-prod", "stack file", "prod, psf-infra:backups: yes", setting("backups", "yes"), stack="prod"),
    Hostile(
        "octal-version",
        "stack file",
        "psf-infra:postgresVersion: 016 (octal 14 to the CLI)",
        setting("postgresVersion", "016"),
        says=("postgresVersion", "14"),
    ),
    Hostile("float-replicas", "stack file", "psf-infra:replicas: 1e0", setting("replicas", "1e0"), says=("replicas",)),
    Hostile(
        "underscore-number",
        "stack file",
        "psf-infra:hstsMaxAge: 63_072_000",
        setting("hstsMaxAge", "63_072_000"),
        says=("hstsMaxAge", "63072000"),
    ),
    Hostile("string-for-array", "stack file", "psf-infra:datacenters: nyc1", setting("datacenters", "nyc1")),
    Hostile("list-for-string", "stack file", "psf-infra:saltMaster: [a, b]", setting("saltMaster", "[a, b]")),
    Hostile("number-items", "stack file", "psf-infra:sshKeys: [123, 456]", setting("sshKeys", "[123, 456]")),
    Hostile(
        "empty-value", "stack file", "psf-infra:saltMaster: (no value)", setting("saltMaster", ""), says=("no value",)
    ),
    Hostile(
        "secure-for-plain-key",
        "stack file",
        "psf-infra:saltMaster: {secure: ...} (not a secret key)",
        setting("saltMaster", "{secure: v1:abcd}"),
        says=("saltMaster", "not declare it secret"),
    ),
    Hostile(
        "secure-empty",
        "stack file",
        "psf-infra:fastlyApiKey: {secure: ''}",
        append("  psf-infra:fastlyApiKey: {secure: ''}"),
    ),
    Hostile(
        "key-outside-config",
        "stack file",
        "psf-infra:replicas: 3 at the top level (not under config:)",
        append("psf-infra:replicas: 3"),
        says=("indent",),
    ),
    Hostile(
        "esc-environment",
        "stack file",
        "environment: [psf/secrets] (a Pulumi ESC import)",
        append("environment:\n  - psf/secrets"),
        says=("ESC",),
    ),
    Hostile(
        "default-providers-on",
        "stack file",
        "pulumi:disable-default-providers removed",
        replace('  pulumi:disable-default-providers:\n    - "*"\n', ""),
        says=("disable-default-providers",),
    ),
    Hostile(
        "default-providers-empty",
        "stack file",
        "pulumi:disable-default-providers: []",
        replace('  pulumi:disable-default-providers:\n    - "*"\n', "  pulumi:disable-default-providers: []\n"),
        says=("disable-default-providers",),
    ),
    Hostile(
        "pulumi-other", "stack file", "pulumi:template: x", append("  pulumi:template: x"), says=("pulumi:template",)
    ),
    Hostile("three-part-key", "stack file", "psf-infra:a:b: 1", append("  psf-infra:a:b: 1"), says=("psf-infra:a:b",)),
    Hostile("numeric-key", "stack file", "1: x under config:", append("  1: x")),
    # --- files the loader can meet, in every shape ------------------------------------------------------------------
    Hostile(
        "malformed-yaml",
        "file shape",
        "malformed YAML (a stray mapping)",
        replace("  psf-infra:replicas: 1", "  psf-infra:replicas: 1: 2"),
        says=("Pulumi.staging.yaml line", "invalid YAML"),
    ),
    Hostile(
        "tab-indent",
        "file shape",
        "a tab in the indentation",
        replace("  psf-infra:replicas: 1", "\tpsf-infra:replicas: 1"),
        says=("line",),
    ),
    Hostile("file-is-list", "file shape", "the file is a YAML list", whole("- a\n- b\n"), says=("mapping",)),
    Hostile("file-is-string", "file shape", "the file is a string", whole("just some text\n"), says=("mapping",)),
    Hostile("file-is-number", "file shape", "the file is a number", whole("42\n"), says=("mapping",)),
    Hostile("file-empty", "file shape", "the file is empty", whole(""), says=("disable-default-providers",)),
    Hostile("config-is-list", "file shape", "config: is a list", whole("config:\n  - a\n"), says=("config:",)),
    Hostile("config-is-string", "file shape", "config: is a string", whole("config: text\n"), says=("config:",)),
    Hostile(
        "not-utf8",
        "file shape",
        "not UTF-8 (a Latin-1 byte)",
        lambda t: t.replace("# Staging", "# Stag\xe9ing", 1).encode("latin-1"),
        says=("UTF-8",),
    ),
    Hostile("utf16", "file shape", "UTF-16 with a BOM", lambda t: t.encode("utf-16"), says=("UTF-8",)),
    Hostile("nul-byte", "file shape", "a NUL byte", lambda t: t.replace("# Staging", "# \x00", 1), says=("U+0000",)),
    Hostile(
        "two-documents",
        "file shape",
        "two YAML documents (the CLI reads only the first)",
        append("---\nconfig: {}"),
        says=("single document",),
    ),
    Hostile("custom-tag", "file shape", "psf-infra:replicas: !Ref x", setting("replicas", "!Ref x"), says=("tag",)),
    Hostile(
        "python-tag",
        "file shape",
        "a !!python/object tag",
        setting("replicas", "!!python/object:os.system x"),
        says=("tag",),
    ),
    Hostile(
        "alias-bomb",
        "file shape",
        "nested aliases (a billion laughs)",
        append(
            "  psf-infra:notifyHandles: &a [&b [&c ['@x','@x','@x','@x','@x','@x','@x','@x','@x','@x'],"
            + ",".join(["*c"] * 30)
            + "]"
            + ",*b" * 30
            + "]"
        ),
        says=("values",),
    ),
    Hostile(
        "deep-nesting",
        "file shape",
        "10,000 nested lists",
        setting("sshKeys", "[" * 10_000 + "]" * 10_000),
        says=("deep",),
    ),
    Hostile(
        "timestamp",
        "file shape",
        "psf-infra:postgresVersion: 2016-01-01",
        setting("postgresVersion", "2016-01-01"),
        says=("psf-infra:postgresVersion", "timestamp"),
    ),
    Hostile("huge-file", "file shape", "a 2 MB file", append("#" + "x" * 2_000_000), says=("bytes",)),
    Hostile("unknown-stack", "file shape", "--stack dev (no such file)", stack="dev", says=("no stack file",)),
    Hostile(
        "bad-stack-name", "file shape", "--stack ../prod (not a stack name)", stack="../prod", says=("stack name",)
    ),
    # --- misleading messages, fixed ---------------------------------------------------------------------------------
    Hostile(
        "empty-secret",
        "messages",
        "--set fastlyOriginToken= (empty secret)",
        args=("--set", "fastlyOriginToken="),
        says=("fastlyOriginToken = ''", "must not be empty"),
    ),
    Hostile(
        "long-domain",
        "messages",
        "a 300-character saltMaster",
        setting("saltMaster", ("a" * 60 + ".") * 4 + "b" * 55 + ".org"),
        says=("253 characters",),
    ),
    Hostile(
        "long-label",
        "messages",
        "a 70-character DNS label",
        setting("saltMaster", "x" * 70 + ".psf.io"),
        says=("63 characters",),
    ),
    Hostile(
        "empty-hostname",
        "messages",
        'pythonOrgOrigin: ""',
        setting("pythonOrgOrigin", '""'),
        says=("pythonOrgOrigin = ''", "must not be empty"),
    ),
    # --- settings that weaken prod name their key -------------------------------------------------------------------
    *(
        Hostile(
            f"prod-{key}-off",
            "weakened prod",
            f"prod, {key}=false",
            stack="prod",
            args=("--set", f"{key}=false"),
            says=(f"psf-infra:{key}", "must be true in prod"),
        )
        for key in ("protect", "dnssec", "backups", "databaseReplica", "pageOnCall")
    ),
    Hostile(
        "prod-protect-off-file",
        "weakened prod",
        "prod, psf-infra:protect: false in the stack file",
        setting("protect", "false"),
        stack="prod",
        says=("psf-infra:protect", "must be true in prod"),
    ),
    Hostile(
        "prod-one-replica",
        "weakened prod",
        "prod, replicas=1",
        stack="prod",
        args=("--set", "replicas=1"),
        says=("replicas", "at least 2"),
    ),
    Hostile(
        "prod-one-datacenter",
        "weakened prod",
        'prod, datacenters=["nyc1"]',
        stack="prod",
        args=("--set", 'datacenters=["nyc1"]'),
        says=("datacenters", "ams1, sfo1"),
    ),
    # --- the keys of the hosts, the edge and DNS ------------------------------------------------------------------
    Hostile(
        "vpc-reserved",
        "vpc ranges",
        "vpcRanges with sfo1=10.244.0.0/20 (DigitalOcean reserves it)",
        setting("vpcRanges", "[ams1=10.210.0.0/20, nyc1=10.220.0.0/20, sfo1=10.244.0.0/20]"),
        says=("vpcRanges", "DigitalOcean reserves"),
    ),
    Hostile(
        "vpc-public",
        "vpc ranges",
        "vpcRanges with sfo1=8.8.0.0/20 (not private)",
        setting("vpcRanges", "[ams1=10.210.0.0/20, nyc1=10.220.0.0/20, sfo1=8.8.0.0/20]"),
        says=("RFC 1918",),
    ),
    Hostile(
        "vpc-too-big",
        "vpc ranges",
        "vpcRanges with sfo1=10.0.0.0/12",
        setting("vpcRanges", "[ams1=10.210.0.0/20, nyc1=10.220.0.0/20, sfo1=10.0.0.0/12]"),
        says=("/16 to /24",),
    ),
    Hostile(
        "vpc-overlap-within",
        "vpc ranges",
        "vpcRanges with sfo1 inside nyc1's range",
        setting("vpcRanges", "[ams1=10.210.0.0/20, nyc1=10.220.0.0/20, sfo1=10.220.8.0/21]"),
        says=("nyc1's 10.220.0.0/20",),
    ),
    Hostile(
        "vpc-missing-dc",
        "vpc ranges",
        "vpcRanges without sfo1, which the stack deploys",
        setting("vpcRanges", "[ams1=10.210.0.0/20, nyc1=10.220.0.0/20]"),
        says=("missing sfo1",),
    ),
    Hostile(
        "vpc-no-datacenter",
        "vpc ranges",
        "vpcRanges: [10.210.0.0/20, ...] (no datacenter names)",
        setting("vpcRanges", "[10.210.0.0/20, 10.220.0.0/20, 10.230.0.0/20]"),
        says=("datacenter=range",),
    ),
    Hostile(
        "vpc-text",
        "vpc ranges",
        "vpcRanges: nyc1=10.220.0.0/20 (text, not a list)",
        setting("vpcRanges", "nyc1=10.220.0.0/20"),
        says=("vpcRanges",),
    ),
    Hostile(
        "salt-sha-short",
        "salt bootstrap",
        "saltBootstrapSha256: abc",
        setting("saltBootstrapSha256", "abc"),
        says=("saltBootstrapSha256", "64 hexadecimal"),
    ),
    Hostile(
        "salt-sha-digits",
        "salt bootstrap",
        "saltBootstrapSha256: 64 decimal digits, unquoted (a YAML number to the CLI)",
        setting("saltBootstrapSha256", "1" * 64),
        says=("saltBootstrapSha256",),
    ),
    Hostile(
        "salt-version-float",
        "salt bootstrap",
        "saltVersion: 3006.10 (the CLI hands the program 3006.1)",
        setting("saltVersion", "3006.10"),
        says=("saltVersion",),
    ),
    Hostile(
        "salt-bootstrap-latest",
        "salt bootstrap",
        "saltBootstrapVersion: latest",
        setting("saltBootstrapVersion", "latest"),
        says=("saltBootstrapVersion", "release tag"),
    ),
    Hostile(
        "salt-master-of-prod",
        "salt bootstrap",
        "staging, saltMaster: salt.nyc1.psf.io (prod's master)",
        setting("saltMaster", "salt.nyc1.psf.io"),
        says=("saltMaster", "salt<suffix>.nyc1.int.staging.psf.io"),
    ),
    Hostile(
        "ca-empty-prod",
        "CA certificate",
        'prod, psfCaCertificate: ""',
        setting("psfCaCertificate", '""'),
        stack="prod",
        says=("psfCaCertificate = ''", "required in prod"),
    ),
    Hostile(
        "ca-name-not-pem",
        "CA certificate",
        "psfCaCertificate: PSF_CA (a name, not a PEM)",
        setting("psfCaCertificate", "PSF_CA"),
        says=("psfCaCertificate", "exactly one PEM certificate"),
    ),
    Hostile(
        "ca-garbage-pem",
        "CA certificate",
        "psfCaCertificate: a PEM block whose body is not a certificate",
        setting("psfCaCertificate", '"-----BEGIN CERTIFICATE-----\\nbm90IGEgY2VydA==\\n-----END CERTIFICATE-----"'),
        says=("not a readable PEM",),
    ),
    Hostile(
        "ca-private-key",
        "CA certificate",
        "psfCaCertificate: a private key pasted by mistake",
        setting("psfCaCertificate", f'"-----BEGIN PRIVATE KEY-----\\n{PEM_BODY}\\n-----END PRIVATE KEY-----"'),
        says=("psfCaCertificate", "(PEM,"),
    ),
    Hostile(
        "delegated-outside-prod",
        "DNS delegation",
        "staging, delegatedDomains: [x.staging.psf.io]",
        setting("delegatedDomains", "[x.staging.psf.io]"),
        says=("delegatedDomains", "outside prod"),
    ),
    Hostile(
        "delegated-nested",
        "DNS delegation",
        "prod, delegatedDomains: [staging.psf.io, a.staging.psf.io]",
        setting("delegatedDomains", "[staging.psf.io, a.staging.psf.io]"),
        stack="prod",
        says=("delegatedDomains", "inside staging.psf.io"),
    ),
    Hostile(
        "delegated-foreign-zone",
        "DNS delegation",
        "prod, delegatedDomains: [staging.psf.io, staging.example.com] (not inside prod's zones)",
        setting("delegatedDomains", "[staging.psf.io, staging.example.com]"),
        stack="prod",
        says=("delegatedDomains", "staging.example.com", "inside one of this stack's zones"),
    ),
    Hostile(
        "delegation-stack-empty",
        "DNS delegation",
        'staging, delegationStack: ""',
        setting("delegationStack", '""'),
        says=("delegationStack = ''",),
    ),
    Hostile(
        "delegation-stack-short",
        "DNS delegation",
        "delegationStack: prod (not <organization>/psf-infra/<stack>)",
        setting("delegationStack", "prod"),
        says=("delegationStack", "<organization>/psf-infra/<stack>"),
    ),
    Hostile(
        "delegation-stack-self",
        "DNS delegation",
        "delegationStack: organization/psf-infra/staging (the stack itself)",
        setting("delegationStack", "organization/psf-infra/staging"),
        says=("delegationStack", "not this stack"),
    ),
    Hostile(
        "delegation-stack-in-prod",
        "DNS delegation",
        "prod, delegationStack: organization/psf-infra/staging",
        setting("delegationStack", "organization/psf-infra/staging"),
        stack="prod",
        says=("delegationStack", "empty in prod"),
    ),
    Hostile(
        "mail-softfail",
        "mail",
        "mailSenders: ['python.org ~all']",
        setting("mailSenders", "['python.org ~all']"),
        says=("mailSenders", "-all"),
    ),
    Hostile(
        "mail-ptr",
        "mail",
        "mailSenders: ['python.org ptr']",
        setting("mailSenders", "['python.org ptr']"),
        says=("mailSenders", "include:<domain>"),
    ),
    Hostile(
        "mail-lookups",
        "mail",
        "mailSenders: python.org with 10 includes (11 SPF lookups with mx)",
        setting("mailSenders", "['python.org " + " ".join(f"include:s{i}.example.org" for i in range(10)) + "']"),
        says=("mailSenders", "SPF allows 10"),
    ),
    Hostile(
        "mail-domain-twice",
        "mail",
        "mailSenders naming python.org twice",
        setting("mailSenders", "['python.org include:a.org', 'python.org include:b.org']"),
        says=("mailSenders", "twice"),
    ),
    Hostile(
        "cdn-log-zero",
        "logs",
        "cdnLogRetentionDays: 0",
        setting("cdnLogRetentionDays", "0"),
        says=("cdnLogRetentionDays", "1 to 3650"),
    ),
    Hostile(
        "cdn-log-decade",
        "logs",
        "cdnLogRetentionDays: 3651",
        setting("cdnLogRetentionDays", "3651"),
        says=("cdnLogRetentionDays", "1 to 3650"),
    ),
    Hostile(
        "cdn-log-unit",
        "logs",
        "cdnLogRetentionDays: 30d",
        setting("cdnLogRetentionDays", "30d"),
        says=("cdnLogRetentionDays", "integer"),
    ),
    Hostile(
        "tls-authority-typo",
        "TLS",
        "tlsCertificateAuthority: letsencrypt",
        setting("tlsCertificateAuthority", "letsencrypt"),
        says=("tlsCertificateAuthority", "lets-encrypt"),
    ),
    Hostile(
        "tls-configuration-name",
        "TLS",
        "fastlyTlsConfiguration: default (a name, not an ID)",
        setting("fastlyTlsConfiguration", "default"),
        says=("fastlyTlsConfiguration", "ID"),
    ),
    Hostile(
        "ownership-unknown-service",
        "ownership",
        "ownership: [certificate:salt=external] (no edge service salt)",
        setting("ownership", "[certificate:salt=external]"),
        says=("ownership", "names no certificate"),
    ),
    Hostile(
        "ownership-bad-owner",
        "ownership",
        "ownership: [certificate:python-org=imported]",
        setting("ownership", "[certificate:python-org=imported]"),
        says=("ownership", "owner must be one of"),
    ),
    Hostile(
        "ownership-twice",
        "ownership",
        "ownership: [certificate:python-org=external, certificate:python-org=managed]",
        setting("ownership", "[certificate:python-org=external, certificate:python-org=managed]"),
        says=("ownership", "twice"),
    ),
    Hostile(
        "ownership-no-kind",
        "ownership",
        "ownership: [pypi=external] (no part kind)",
        setting("ownership", "[pypi=external]"),
        says=("ownership", "names no part"),
    ),
    Hostile(
        "tls-certificates-retired",
        "ownership",
        "tlsCertificates: [python-org=external] (the key ownership replaced)",
        setting("tlsCertificates", "[python-org=external]"),
        says=("tlsCertificates",),
    ),
    Hostile(
        "import-map-not-yaml",
        "ownership",
        "importMap: imports/prod.json",
        setting("importMap", "imports/prod.json"),
        says=("importMap", ".yaml"),
    ),
    # --- on-call (PagerDuty), the Fastly metrics, standbys and the registrar ----------------------------------
    Hostile(
        "oncall-bad-tier",
        "on-call",
        "prod, onCall: [boss Ee Durbin, ...]",
        setting("onCall", "[boss Ee Durbin, volunteer Donald Stufft]"),
        stack="prod",
        says=("onCall", '"employee <name>"'),
    ),
    Hostile(
        "oncall-no-volunteer",
        "on-call",
        "prod, onCall: [employee Ee Durbin] (no backup)",
        setting("onCall", "[employee Ee Durbin]"),
        stack="prod",
        says=("onCall", "at least one volunteer"),
    ),
    Hostile(
        "oncall-twice",
        "on-call",
        "prod, onCall naming Ee Durbin as employee and volunteer",
        setting("onCall", "[employee Ee Durbin, volunteer Ee Durbin]"),
        stack="prod",
        says=("onCall", "twice"),
    ),
    Hostile(
        "oncall-text",
        "on-call",
        "prod, onCall: employee Ee Durbin (text, not a list)",
        setting("onCall", "employee Ee Durbin"),
        stack="prod",
        says=("onCall", "array"),
    ),
    Hostile(
        "oncall-escalation-zero",
        "on-call",
        "onCallEscalationMinutes: 0",
        setting("onCallEscalationMinutes", "0"),
        says=("onCallEscalationMinutes", "1 to 1440"),
    ),
    Hostile(
        "oncall-time-zone",
        "on-call",
        "onCallTimeZone: Mars/Olympus",
        setting("onCallTimeZone", "Mars/Olympus"),
        says=("onCallTimeZone", "IANA"),
    ),
    Hostile(
        "oncall-start-no-offset",
        "on-call",
        'onCallRotationStart: "2026-01-05T16:00:00" (no offset)',
        setting("onCallRotationStart", '"2026-01-05T16:00:00"'),
        says=("onCallRotationStart", "offset"),
    ),
    Hostile(
        "oncall-start-timestamp",
        "on-call",
        "onCallRotationStart: 2026-01-05T16:00:00Z unquoted (a YAML timestamp)",
        setting("onCallRotationStart", "2026-01-05T16:00:00Z"),
        says=("onCallRotationStart",),
    ),
    Hostile(
        "pagerduty-token-plaintext",
        "on-call",
        "prod, psf-infra:pagerdutyToken in plain text",
        append("  psf-infra:pagerdutyToken: u+abcdefghijklmnopqrst"),
        stack="prod",
        says=("pagerdutyToken", "must be encrypted"),
    ),
    Hostile(
        "pagerduty-token-empty",
        "on-call",
        "prod, --set pagerdutyToken= (pages with no token)",
        stack="prod",
        args=("--set", "pagerdutyToken="),
        says=("pagerdutyToken", "required when pageOnCall is true"),
    ),
    Hostile(
        "oncall-emails-bare",
        "on-call",
        "prod, --set onCallEmails=ee@example.org (no names)",
        stack="prod",
        args=("--set", "onCallEmails=ee@example.org"),
        says=("onCallEmails", "address list"),
    ),
    Hostile(
        "oncall-emails-missing",
        "on-call",
        "prod, --set onCallEmails with one address for five people",
        stack="prod",
        args=("--set", "onCallEmails=Ee Durbin <ee@example.org>"),
        says=("onCallEmails", "has no address for"),
    ),
    Hostile(
        "staging-pages-on-call",
        "on-call",
        "staging, pageOnCall: true",
        setting("pageOnCall", "true"),
        says=("pageOnCall", "must be false in staging"),
    ),
    Hostile(
        "fastly-metrics-yes",
        "fastly metrics",
        "psf-infra:fastlyMetrics: yes",
        setting("fastlyMetrics", "yes"),
        stack="prod",
        says=("fastlyMetrics", "YAML 1.1"),
    ),
    Hostile(
        "fastly-metrics-key-short",
        "fastly metrics",
        "prod, --set fastlyReadOnlyApiKey=short",
        stack="prod",
        args=("--set", "fastlyReadOnlyApiKey=short"),
        says=("fastlyReadOnlyApiKey", "32 letters"),
    ),
    Hostile(
        "fastly-metrics-key-plaintext",
        "fastly metrics",
        "prod, psf-infra:fastlyReadOnlyApiKey in plain text",
        append("  psf-infra:fastlyReadOnlyApiKey: " + "k" * 32),
        stack="prod",
        says=("fastlyReadOnlyApiKey", "must be encrypted"),
    ),
    Hostile(
        "prod-standbys-off",
        "weakened prod",
        "prod, standbys=false",
        stack="prod",
        args=("--set", "standbys=false"),
        says=("psf-infra:standbys", "must be true in prod"),
    ),
    Hostile(
        "standby-datacenter-missing",
        "standbys",
        "staging, standbys: true with datacenters [ams1, nyc1] (the bugs standby runs in sfo1)",
        lambda t: setting("standbys", "true")(setting("datacenters", "[ams1, nyc1]")(t)),
        says=("datacenters", "must include sfo1", "standbys to false"),
    ),
    Hostile(
        "registrar-outside-prod",
        "registrar",
        "staging, registrarDomains: [python.org]",
        setting("registrarDomains", "[python.org]"),
        says=("registrarDomains", "outside prod"),
    ),
    Hostile(
        "registrar-unknown-domain",
        "registrar",
        "prod, registrarDomains: [python.com] (no zone for it)",
        setting("registrarDomains", "[python.com]"),
        stack="prod",
        says=("registrarDomains", "python.com", "zones for"),
    ),
    Hostile(
        "registrar-bad-mode",
        "registrar",
        "prod, registrarDomains: [python.org ds-later]",
        setting("registrarDomains", "[python.org ds-later]"),
        stack="prod",
        says=("registrarDomains", "ns-only"),
    ),
    Hostile(
        "registrar-twice",
        "registrar",
        "prod, registrarDomains: [python.org, python.org ns-only]",
        setting("registrarDomains", "[python.org, python.org ns-only]"),
        stack="prod",
        says=("registrarDomains", "twice"),
    ),
    Hostile(
        "registrar-no-token",
        "registrar",
        "prod, registrarDomains: [python.org] with --set gandiToken=",
        setting("registrarDomains", "[python.org]"),
        stack="prod",
        args=("--set", "gandiToken="),
        says=("gandiToken", "required while registrarDomains lists python.org"),
    ),
    Hostile(
        "gandi-token-plaintext",
        "registrar",
        "prod, psf-infra:gandiToken in plain text",
        append("  psf-infra:gandiToken: a-personal-access-token"),
        stack="prod",
        says=("gandiToken", "must be encrypted"),
    ),
    Hostile(
        "origin-token-quote",
        "messages",
        "--set fastlyOriginToken with a '\"' (Fastly writes it into VCL)",
        args=("--set", 'fastlyOriginToken=abc"def0123456789xyz'),
        says=("fastlyOriginToken", "VCL"),
    ),
    Hostile(
        "staging-pages",
        "paging",
        "staging, notifyHandles with a @pagerduty handle",
        args=("--set", 'notifyHandles=["@pagerduty-psf-infrastructure"]'),
        says=("notifyHandles", "page"),
    ),
    # --- --set and other arguments ------------------------------------------------------------------------------------
    Hostile("set-no-equals", "arguments", "--set replicas", args=("--set", "replicas"), says=("KEY=VALUE",)),
    Hostile("set-no-key", "arguments", "--set =3", args=("--set", "=3"), says=("KEY=VALUE",)),
    Hostile(
        "set-twice",
        "arguments",
        "--set replicas=2 --set replicas=3",
        args=("--set", "replicas=2", "--set", "replicas=3"),
    ),
    Hostile(
        "set-array-not-json",
        "arguments",
        "--set adminCidrs=140.211.10.0/24 (not JSON)",
        args=("--set", "adminCidrs=140.211.10.0/24"),
        says=("JSON array",),
    ),
    Hostile("set-unknown-key", "arguments", "--set bogus=1", args=("--set", "bogus=1"), says=("bogus",)),
    Hostile("set-foreign-key", "arguments", "--set aws:region=us-west-2", args=("--set", "aws:region=us-west-2")),
    Hostile(
        "set-bool-case",
        "arguments",
        "--set protect=True (the CLI stores the text True)",
        args=("--set", "protect=True"),
    ),
    Hostile("set-replicas-zero", "arguments", "--set replicas=0", args=("--set", "replicas=0"), says=("1 to 5",)),
    Hostile("set-replicas-word", "arguments", "--set replicas=two", args=("--set", "replicas=two")),
    Hostile("bad-option", "arguments", "--frobnicate", args=("--frobnicate",), says=("usage",)),
)


def run(case: Hostile, workdir: Path) -> Outcome:
    """Plan ``case`` from ``workdir`` (filled with copies of the committed stack files plus the case's files)."""
    for stack in ("prod", "staging"):
        (workdir / f"Pulumi.{stack}.yaml").write_text(committed(stack))
    for stack, text in case.extra.items():
        (workdir / f"Pulumi.{stack}.yaml").write_text(text)
    if case.edit is not None:
        content = case.edit(committed(case.stack))
        target = workdir / f"Pulumi.{case.stack}.yaml"
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = plan.main(["--stack", case.stack, "--stack-dir", str(workdir), "--quiet", *case.args])
        except SystemExit as exc:  # argparse's own usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    return Outcome(code, out.getvalue(), err.getvalue())


VERDICTS: Final = ("clear one-line error", "traceback", "accepted silently", "misleading")


def verdict(case: Hostile, outcome: Outcome) -> str:
    """How the plan answered, in the issue's four kinds: one clear line, a traceback, silence, or misleading.

    Clear: the expected exit code, nothing planned, one ``error:`` line holding every expected word (a usage
    message for a bad option). Misleading: an error, but not that one.
    """
    if "Traceback" in outcome.stdout + outcome.stderr:
        return "traceback"
    if outcome.exit == 0:
        return "accepted silently"
    lines = outcome.stderr.splitlines()
    if case.id == "bad-option":
        one_line = bool(lines) and lines[0].startswith("usage:")
    else:
        one_line = len(lines) == 1 and lines[0].startswith("error: ") and all(w in lines[0] for w in case.says)
    if outcome.exit != case.exit or outcome.stdout or not one_line:
        return "misleading"
    return "clear one-line error"


def table(cases: Sequence[Hostile] = CASES) -> str:
    """The counts of each verdict, then the Markdown table of every case: input, exit code, first line of output."""
    rows = ["| # | category | bad input | exit | first line of output |", "|---|---|---|---|---|"]
    counts: dict[str, int] = dict.fromkeys(VERDICTS, 0)
    for number, case in enumerate(cases, start=1):
        with tempfile.TemporaryDirectory() as tmp:
            outcome = run(case, Path(tmp))
        counts[verdict(case, outcome)] += 1
        line = outcome.first_line.replace("|", "\\|")
        what = case.what.replace("|", "\\|")
        rows.append(f"| {number} | {case.category} | {what} | {outcome.exit} | `` {line} `` |")
    summary = f"{len(cases)} bad inputs: " + ", ".join(f"{n} {kind}" for kind, n in counts.items())
    return summary + "\n\n" + "\n".join(rows)


if __name__ == "__main__":
    sys.stdout.write(table() + "\n")
