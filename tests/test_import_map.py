"""The import map (imports/<stack>.yaml): reading it, the ID shapes per type, and adopting with it.

The adoption tests run prod's whole program with python.org's zone marked ``import`` and a map of its live
IDs: the ``import`` option lands on exactly the mapped resources, the plan shows them as imports, and the
import file ``pulumi import --file`` takes is written from that recording and checked against the CLI's schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from offline import import_file
from offline.plan import operation
from offline.recorder import ProgramFailedError, Record, Recording, record_stack
from stacks import import_ids
from stacks.imports import ImportMapError, load_import_map
from stacks.ownership import Kind, Part
from stacks.parts import STACK_REFERENCE_TYPE, parts_of_recording

PROD_OWNERSHIP = ["edge:pypi=external", "zone:pypi.org=external", "storage:pypi-files=external"]
ZONE_ID = "Z0123456789ABCDEFGHIJ"
KMS_KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
# Live IDs of python.org's zone and some of its records, as discovery would write them.
ADOPTED = {
    "python-org-zone": ZONE_ID,
    "python-org-apex-mx": f"{ZONE_ID}_python.org_MX",
    "python-org-_dmarc-txt": f"{ZONE_ID}__dmarc.python.org_TXT",
    "python-org-dnssec-key": KMS_KEY,
    "python-org-ksk": f"{ZONE_ID},python_org_ksk",
}


def write_map(path: Path, imports: dict[str, Any], extra: str = "") -> Path:
    lines = ["# Import map of stack prod (a test's).", "imports:"]
    lines += [f"  {key}: {json.dumps(value)}" for key, value in imports.items()]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


# --- the file --------------------------------------------------------------------------------------------


def test_a_missing_or_empty_file_imports_nothing(tmp_path: Path) -> None:
    assert not load_import_map(tmp_path / "absent.yaml", "prod")
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    assert not load_import_map(tmp_path / "empty.yaml", "prod")


def test_entries_and_dropped_records_are_read(tmp_path: Path) -> None:
    dropped = "dropped:\n  - zone: python.org\n    name: old.python.org\n    type: CNAME\n    reason: retired in 2019\n"
    found = load_import_map(write_map(tmp_path / "prod.yaml", {"nyc1-docs-1": "301234567"}, dropped), "prod")
    assert dict(found.entries) == {"nyc1-docs-1": "301234567"}
    assert [(d.zone, d.name, d.type) for d in found.dropped] == [("python.org", "old.python.org", "CNAME")]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("imports: [a, b]\n", "imports = 'list' is invalid: must map logical names to live IDs"),
        ("- a\n", "the file = 'list' is invalid: must be a mapping"),
        ("imports:\n  a: 'x'\nextra: 1\n", "extra = (missing) is invalid: is no key of an import map"),
        (
            "imports:\n  nyc1-docs-1: 301234567\n",
            'must be the live ID as a string, without spaces (quote digits: "301234567")',
        ),
        ("imports:\n  nyc1-docs-1: null\n", "must be the live ID as a string"),
        ("imports:\n  a: x\n  a: y\n", "'a' is given twice"),
        ("imports: {a: [\n", "must be YAML"),
        ("imports:\n  'a b': x\n", "keys must be logical names or URNs, without spaces"),
        (
            "imports:\n  urn:pulumi:staging::psf-infra::aws:route53/zone:Zone::z: Z1\n",
            "a URN key must be one of stack prod's",
        ),
        (
            "dropped:\n  - zone: python.org\n    name: x.pypi.org\n    type: A\n    reason: r\n",
            "must be a name inside python.org",
        ),
        (
            "dropped:\n  - zone: python.org\n    name: x.python.org\n    type: ALIAS\n    reason: r\n",
            "must be a Route 53 record type",
        ),
        (
            "dropped:\n  - zone: python.org\n    name: x.python.org\n    type: A\n",
            "must give exactly zone, name, type, reason",
        ),
    ],
)
def test_a_malformed_file_is_refused_in_one_line(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "prod.yaml"
    path.write_text(text)
    with pytest.raises(ImportMapError) as raised:
        load_import_map(path, "prod")
    message = str(raised.value)
    assert says in message and "\n" not in message and str(path) in message
    assert raised.value.key == "importMap"


def made(recording: Recording) -> list[Record]:
    """The resources the program creates: custom, not a provider, not read from elsewhere."""
    return [r for r in recording.resources if r.custom and not r.is_provider and r.type != STACK_REFERENCE_TYPE]


# --- ID shapes, per type (the providers' Import sections) --------------------------------------------------

RECORD = {"name": "www.python.org", "type": "CNAME"}
SHAPES: list[tuple[str, str, dict[str, Any], str | None]] = [
    # (type, ID, the resource's plain inputs, what the refusal says; None: accepted)
    ("aws:route53/zone:Zone", "Z1D633PJN98FT9", {}, None),
    ("aws:route53/zone:Zone", "python.org", {}, "must be a Route 53 hosted zone ID"),
    ("aws:route53/zone:Zone", "/hostedzone/Z1D633PJN98FT9", {}, "must be a Route 53 hosted zone ID"),
    ("aws:route53/record:Record", "Z4KAPRWWNC7JR_www.python.org_CNAME", RECORD, None),
    ("aws:route53/record:Record", "Z4KAPRWWNC7JR_www_CNAME", RECORD, None),
    (
        "aws:route53/record:Record",
        "Z4KAPRWWNC7JR_www.python.org_A",
        RECORD,
        "is a A record's ID, but the program declares a CNAME",
    ),
    ("aws:route53/record:Record", "Z4KAPRWWNC7JR_docs.python.org_CNAME", RECORD, "names record 'docs.python.org'"),
    ("aws:route53/record:Record", "Z4KAPRWWNC7JR_www.python.org_CNAME_eu", RECORD, "has set identifier 'eu'"),
    ("aws:route53/record:Record", "www.python.org_CNAME", RECORD, "<zone ID>_<record name>_<type>"),
    (
        "aws:route53/record:Record",
        "Z4KAPRWWNC7JR__dmarc.python.org_TXT",
        {"name": "_dmarc.python.org", "type": "TXT"},
        None,
    ),
    ("aws:route53/keySigningKey:KeySigningKey", "Z1D633PJN98FT9,python_org_ksk", {"name": "python_org_ksk"}, None),
    (
        "aws:route53/keySigningKey:KeySigningKey",
        "Z1D633PJN98FT9,other",
        {"name": "python_org_ksk"},
        "names key-signing key",
    ),
    ("aws:kms/key:Key", "1234abcd-12ab-34cd-56ef-1234567890ab", {}, None),
    (
        "aws:kms/key:Key",
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        {},
        "a KMS key ID",
    ),
    ("aws:s3/bucket:Bucket", "psf-prod-cdn-logs", {"bucket": "psf-prod-cdn-logs"}, None),
    ("aws:s3/bucket:Bucket", "psf-prod-other", {"bucket": "psf-prod-cdn-logs"}, "names bucket 'psf-prod-other'"),
    ("aws:s3/bucket:Bucket", "arn:aws:s3:::psf-prod-cdn-logs", {}, "must be an S3 bucket name"),
    (
        "aws:s3/bucketVersioning:BucketVersioning",
        "psf-prod-cdn-logs,123456789012",
        {"bucket": "psf-prod-cdn-logs"},
        None,
    ),
    ("aws:s3/bucketPolicy:BucketPolicy", "psf-prod-cdn-logs,123456789012", {}, "the bucket's name"),
    ("aws:iam/role:Role", "psf-prod-fastly-logs", {}, None),
    ("aws:iam/rolePolicy:RolePolicy", "psf-prod-fastly-logs:write-logs", {"name": "write-logs"}, None),
    ("digitalocean:index/droplet:Droplet", "301234567", {}, None),
    ("digitalocean:index/droplet:Droplet", "docs-1.nyc1.psf.io", {}, "a droplet's numeric ID"),
    ("digitalocean:index/vpc:Vpc", "506f78a4-e098-11e5-ad9f-000f53306ae1", {}, None),
    ("digitalocean:index/vpc:Vpc", "nyc1-vpc", {}, "the VPC's UUID"),
    ("digitalocean:index/reservedIp:ReservedIp", "192.0.2.1", {}, "not a public address"),
    ("digitalocean:index/reservedIp:ReservedIp", "45.55.96.47", {}, None),
    ("digitalocean:index/tag:Tag", "datacenter:nyc1", {"name": "datacenter:nyc1"}, None),
    (
        "digitalocean:index/databaseDb:DatabaseDb",
        "245bcfd0-7f31-4ce6-a2bc-475a116cca97,warehouse",
        {"name": "warehouse"},
        None,
    ),
    ("fastly:index/serviceVcl:ServiceVcl", "SU1Z0isxPaozGVKXdv0eY", {}, None),
    ("fastly:index/serviceVcl:ServiceVcl", "SU1Z0isxPaozGVKXdv0eY@12", {}, None),
    ("fastly:index/serviceVcl:ServiceVcl", "www.python.org", {}, "a Fastly service ID"),
    (
        "fastly:index/serviceDynamicSnippetContent:ServiceDynamicSnippetContent",
        "SU1Z0isxPaozGVKXdv0eY/5XHmE6EKtKsQvwPFNDmOPh",
        {},
        None,
    ),
    ("datadog:index/monitor:Monitor", "12345678", {}, None),
    ("datadog:index/monitor:Monitor", "abc-123-xyz", {}, "a monitor's numeric ID"),
    ("datadog:index/syntheticsTest:SyntheticsTest", "abc-123-xyz", {}, None),
    ("datadog:index/syntheticsTest:SyntheticsTest", "12345678", {}, "public ID such as abc-123-xyz"),
    ("digitalocean:index/projectResources:ProjectResources", "x", {}, "cannot be imported"),
    ("datadog:index/dashboardJson:DashboardJson", "sv7-gyh-kas", {}, None),
    ("datadog:index/dashboardJson:DashboardJson", "12345", {}, "a dashboard ID such as sv7-gyh-kas"),
    (
        "datadog:fastly/integrationService:IntegrationService",
        "a8f5f167f44f4964e6c998dee827110c:SU1Z0isxPaozGVKXdv0eY",
        {},
        None,
    ),
    ("pagerduty:index/schedule:Schedule", "PLBP09X", {}, None),
    ("pagerduty:index/schedule:Schedule", "psf-on-call", {}, "PagerDuty ID such as PLBP09X"),
    ("pagerduty:index/serviceIntegration:ServiceIntegration", "PLSSSSS.PLIIIII", {}, None),
    ("pagerduty:index/userContactMethod:UserContactMethod", "PLBP09X", {}, "<user ID>:<contact method ID>"),
    ("gandi:domains/nameservers:Nameservers", "python.org", {"domain": "python.org"}, None),
    ("gandi:domains/nameservers:Nameservers", "pypy.org", {"domain": "python.org"}, "names domain 'pypy.org'"),
    ("gandi:domains/dNSSecKey:DNSSecKey", "python.org", {}, "cannot be imported"),
]


@pytest.mark.parametrize(("type_", "value", "inputs", "says"), SHAPES)
def test_ids_have_the_shape_their_importer_reads(
    type_: str, value: str, inputs: dict[str, Any], says: str | None
) -> None:
    found = import_ids.problem(type_, value, inputs)
    if says is None:
        assert found is None
    else:
        assert found is not None and says in found, found


def test_every_resource_type_the_program_makes_has_an_id_shape_or_a_reason(stack: Recording) -> None:
    types = {r.type for r in made(stack)}
    assert not types - set(import_ids.ID_SHAPES) - set(import_ids.NOT_IMPORTABLE)


def test_every_resource_has_a_part(stack: Recording) -> None:
    nodes = parts_of_recording(stack.records)
    unplaced = [r.urn for r in made(stack) if nodes[r.urn].part is None]
    assert unplaced == []


# --- adopting python.org's zone in prod -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def adopting(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    path = write_map(tmp_path_factory.mktemp("imports") / "prod.yaml", ADOPTED)
    return record_stack("prod", {"ownership": [*PROD_OWNERSHIP, "zone:python.org=import"], "importMap": str(path)})


def test_the_import_option_is_set_on_exactly_the_mapped_resources(adopting: Recording, prod: Recording) -> None:
    imported = {r.name: r.options.import_id for r in adopting.records if r.options.import_id}
    assert imported == ADOPTED
    for record in adopting.records:
        if record.name in ADOPTED:
            # Adopted as `pulumi import` adopts: protected, and the plan says import.
            assert record.options.protect and operation(record) == ("=", "import")
    # Nothing else changes: the same resources, under the same URNs.
    assert sorted(r.urn for r in adopting.records) == sorted(r.urn for r in prod.records)


def test_an_adopted_zone_keeps_its_live_id_downstream(adopting: Recording) -> None:
    (zone,) = [r for r in adopting.records if r.name == "python-org-zone"]
    assert zone.id == ZONE_ID
    records = [
        r for r in adopting.resources if r.type == "aws:route53/record:Record" and r.inputs["name"] == "python.org"
    ]
    assert records and all(r.inputs["zoneId"] == ZONE_ID for r in records)


def _refusal(tmp_path: Path, imports: dict[str, str], ownership: list[str]) -> str:
    path = write_map(tmp_path / "prod.yaml", imports)
    with pytest.raises(ProgramFailedError) as raised:
        record_stack("prod", {"ownership": [*PROD_OWNERSHIP, *ownership], "importMap": str(path)})
    message = str(raised.value.cause)
    assert "\n" not in message
    return message


def test_an_id_of_the_wrong_shape_is_refused_before_anything_registers(tmp_path: Path) -> None:
    message = _refusal(tmp_path, {"python-org-zone": "python.org"}, ["zone:python.org=import"])
    assert "imports.python-org-zone = 'python.org' is invalid: must be a Route 53 hosted zone ID" in message


def test_an_unknown_name_and_an_entry_outside_an_import_part_are_refused(tmp_path: Path) -> None:
    message = _refusal(tmp_path, {**ADOPTED, "python-org-zone-zone": ZONE_ID}, ["zone:python.org=import"])
    assert (
        "imports.python-org-zone-zone = 'Z0123456789ABCDEFGHIJ' is invalid: names no resource of stack prod" in message
    )
    message = _refusal(tmp_path, {"nyc1-docs-1": "301234567"}, [])
    assert "adopts a resource of service:docs, whose owner is managed: set ownership service:docs=import" in message


# --- the import file ----------------------------------------------------------------------------------------

# The CLI's import file (pulumi/pulumi pkg/cmd/pulumi/import.go: importFile and importSpec, whose JSON names
# these are; the docs' "pulumi import --file" format). Unknown keys are refused: the CLI would ignore them.
IMPORT_FILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "nameTable": {"type": "object", "additionalProperties": {"type": "string", "pattern": "^urn:pulumi:"}},
        "resources": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["type", "name"],
                "properties": {
                    "type": {"type": "string", "pattern": "^[^:]+:[^:]*:[^:]+$"},
                    "name": {"type": "string", "minLength": 1},
                    "id": {"type": "string", "minLength": 1},
                    "parent": {"type": "string"},
                    "provider": {"type": "string"},
                    "version": {"type": "string"},
                    "pluginDownloadUrl": {"type": "string"},
                    "properties": {"type": "array", "items": {"type": "string"}},
                    "component": {"type": "boolean"},
                    "remote": {"type": "boolean"},
                    "logicalName": {"type": "string"},
                },
            },
        },
    },
}


def test_the_import_file_has_the_clis_schema_and_the_programs_names(adopting: Recording) -> None:
    result = import_file.build(adopting, [Part(Kind.ZONE, "python.org")])
    document = json.loads(json.dumps(result.document))
    jsonschema.validate(document, IMPORT_FILE_SCHEMA)
    entries = document["resources"]
    names = [e["name"] for e in entries]
    assert len(names) == len(set(names))
    # Parents are entries of the file (components, created empty) and providers are in the name table.
    for entry in entries:
        assert entry.get("parent") is None or entry["parent"] in names
        assert entry.get("provider") is None or entry["provider"] in document["nameTable"]
        assert ("id" in entry) != bool(entry.get("component"))
    assert document["nameTable"] == {"aws-global": "urn:pulumi:prod::psf-infra::pulumi:providers:aws::aws-global"}
    custom = {e["name"]: e["id"] for e in entries if not e.get("component")}
    # Every resource of the part, under its logical name: the IDs from the map, the rest to be filled in.
    nodes = parts_of_recording(adopting.records)
    part = {r.name for r in made(adopting) if nodes[r.urn].part == Part(Kind.ZONE, "python.org")}
    assert set(custom) == part
    assert {k: v for k, v in custom.items() if v != import_file.PLACEHOLDER} == ADOPTED
    assert [(e["name"], e.get("parent")) for e in entries if e.get("component")] == [
        ("global", None),
        ("python-org", "global"),
    ]


def test_make_import_file_writes_the_import_parts_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "import-prod.json"
    assert import_file.main(["--stack", "prod", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == {"nameTable": {}, "resources": []}
    assert "0 resources to import" in capsys.readouterr().out
    assert import_file.main(["--stack", "prod", "--part", "zone:python.org", "--out", str(out)]) == 0
    jsonschema.validate(json.loads(out.read_text()), IMPORT_FILE_SCHEMA)
    assert "8 resources to import (8 without a live ID yet), parts zone:python.org" in capsys.readouterr().out
    assert import_file.main(["--stack", "prod", "--part", "python.org", "--out", str(out)]) == 2
