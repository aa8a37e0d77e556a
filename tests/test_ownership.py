"""Ownership per part, from both stacks' recordings: the catalog's tables agree with what the program makes,
and prod leaves pypi.org to pypi-infra while still watching it."""

from __future__ import annotations

from offline.recorder import Recording
from stacks.catalog import DOMAINS, HOSTED_SERVICES, ZONES_WRITTEN
from stacks.ownership import Kind
from stacks.parts import parts_of_recording
from tests.test_estate import settings_of

FASTLY = "fastly:index/serviceVcl:ServiceVcl"
ZONE = "aws:route53/zone:Zone"
RECORD = "aws:route53/record:Record"
BUCKET = "aws:s3/bucket:Bucket"
SYNTHETICS = "datadog:index/syntheticsTest:SyntheticsTest"


def test_hosted_services_are_the_service_parts_and_their_datacenters(stack: Recording) -> None:
    nodes = parts_of_recording(stack.records)
    found: dict[str, set[str]] = {}
    for record in stack.resources:
        part = nodes[record.urn].part
        if part is not None and part.kind is Kind.SERVICE and record.datacenter:
            found.setdefault(part.key, set()).add(record.datacenter)
    assert found == {key: {dc} for key, dc in HOSTED_SERVICES.items()}


def test_zones_written_are_the_zones_each_part_writes_records_in(staging: Recording) -> None:
    # Staging manages every part, so every writer is there; its zones are the prod domains renamed.
    settings = settings_of(staging)
    domain_of = {settings.public_domain(d): d for d in DOMAINS}
    zone_of = {z.outputs["zoneId"]: domain_of.get(z.inputs["name"]) for z in staging.of_type(ZONE)}
    nodes = parts_of_recording(staging.records)
    written: dict[str, set[str]] = {}
    for record in staging.of_type(RECORD):
        part, domain = nodes[record.urn].part, zone_of.get(record.inputs["zoneId"])
        if part is not None and part.kind is not Kind.ZONE and part.kind is not Kind.CERTIFICATE and domain:
            written.setdefault(str(part), set()).add(domain)
    # ACME challenges are the certificate's, in the zones its edge writes in.
    assert written == {writer: set(zones) for writer, zones in ZONES_WRITTEN.items()}


def test_prod_leaves_pypi_to_pypi_infra_and_keeps_watching_it(prod: Recording, staging: Recording) -> None:
    def fastly_domains(recording: Recording) -> set[str]:
        return {d["name"] for s in recording.of_type(FASTLY) for d in s.inputs["domains"]}

    assert "pypi.org" not in fastly_domains(prod)
    assert "pypi.org" not in {z.inputs["name"] for z in prod.of_type(ZONE)}
    assert "psf-prod-pypi-files" not in {b.inputs["bucket"] for b in prod.of_type(BUCKET)}
    assert not [
        r for r in prod.of_type(RECORD) if r.inputs["name"] == "pypi.org" or r.inputs["name"].endswith(".pypi.org")
    ]
    # Its synthetics stay, tagged with who owns the edge; its certificate is watched as an external one.
    watching = [t for t in prod.of_type(SYNTHETICS) if "service:pypi" in t.inputs["tags"]]
    urls = {t.inputs.get("requestDefinition", {}).get("url") for t in watching if t.inputs.get("subtype") == "http"}
    assert urls == {"https://pypi.org/", "https://pypi.org/simple/pip/"}
    assert all({"edge:external", "zone:external"} <= set(t.inputs["tags"]) for t in watching)
    ssl = [t for t in watching if t.inputs.get("subtype") == "ssl"]
    assert ssl and all("certificate:external" in t.inputs["tags"] for t in ssl)
    # Staging makes all of it.
    pypi_staging = settings_of(staging).public_host("pypi.org", "pypi.org")
    assert pypi_staging in fastly_domains(staging)
    assert settings_of(staging).public_domain("pypi.org") in {z.inputs["name"] for z in staging.of_type(ZONE)}
