"""A small live AWS estate, made by hand the way the PSF's was, in moto (the AWS emulator) for discovery's tests.

What is in it, and what discovery should make of it against prod's program:
- python.org, a hosted zone made in the console: on its own name servers, not on the program's reusable
  delegation set, so it cannot be imported in place (the cut-over moves it). Its records: some the program
  declares with the same answer (written as Route 53 answers them: trailing dots, quoted TXT, upper case),
  one with another answer (the apex TXT also carries a site verification the program lacks), and three the
  program does not know at all (``old``, ``ftp`` and a ``_github-challenge`` TXT).
- retired-psf.net, a zone the program does not declare.
- the reusable delegation set the program's zones go on (created before the zones, caller reference
  ``psf-prod-zones-…`` as the AWS provider makes it), so it is adopted.
- psf-prod-cdn-logs, a bucket the program declares, with versioning on; psf-backups-2016, one it does not.
- the KMS key for python.org's key-signing key (ECC_NIST_P256, SIGN_VERIFY), and the Fastly log role.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import boto3

REGION = "us-east-1"
KSK_DESCRIPTION = "DNSSEC key-signing key for python.org"
# Records the program does not declare, in python.org: (name, type, values). Route 53 spellings.
UNKNOWN_RECORDS = (
    ("old.python.org.", "CNAME", ["legacy-web.nyc1.psf.io."]),
    ("ftp.python.org.", "A", ["140.211.10.69"]),
    ("_github-challenge-python.python.org.", "TXT", ['"4b1c9d2e7f"']),
)
# The apex TXT as it is live: the program's SPF, plus a verification the program does not carry.
APEX_TXT_EXTRA = '"google-site-verification=w3Rk7q0Zy9"'


@dataclass(frozen=True)
class Estate:
    """The IDs moto gave the estate's resources."""

    delegation_set_id: str
    zone_id: str
    retired_zone_id: str
    key_id: str


def _change(name: str, type_: str, values: Sequence[str], ttl: int = 3600) -> Mapping[str, Any]:
    return {
        "Action": "CREATE",
        "ResourceRecordSet": {
            "Name": name,
            "Type": type_,
            "TTL": ttl,
            "ResourceRecords": [{"Value": v} for v in values],
        },
    }


def seed() -> Estate:
    """Create the estate in the (already started) moto backend; see the module docstring."""
    route53 = boto3.client("route53", region_name=REGION)
    # The provider's caller reference: the reference name, a dash, a unique suffix.
    delegation = route53.create_reusable_delegation_set(CallerReference="psf-prod-zones-20190315")["DelegationSet"]
    zone = route53.create_hosted_zone(
        Name="python.org.",
        CallerReference="console-2014-python-org",
        HostedZoneConfig={"Comment": "made by hand", "PrivateZone": False},
    )["HostedZone"]
    zone_id = zone["Id"].rsplit("/", 1)[-1]
    spf = (
        '"v=spf1 mx a:mail.wooz.org a:mail.ams1.psf.io a:mail-secondary.sfo1.psf.io include:_spf.google.com '
        "include:mailgun.org "
        'include:stspg-customer.com -all"'
    )
    changes = [
        # Declared by the program with the same answer (the MX: one of its two), spelt as Route 53 keeps it.
        _change("python.org.", "MX", ["10 MX.ams1.psf.io."]),
        _change(
            "_dmarc.python.org.",
            "TXT",
            ['"v=DMARC1; p=quarantine; np=reject; fo=1; adkim=s; aspf=r; " "rua=mailto:dmarc-reports@python.org"'],
        ),
        _change("www.python.org.", "CNAME", ["Dualstack.Python.Map.Fastly.Net."], ttl=300),
        _change(
            "python.org.",
            "CAA",
            [
                '0 issue "globalsign.com"',
                '0 issue "letsencrypt.org"',
                '0 iodef "mailto:infrastructure-staff@python.org"',
            ],
        ),
        # Declared with another answer: the verification value would be lost.
        _change("python.org.", "TXT", [spf, APEX_TXT_EXTRA]),
        *(_change(name, type_, values) for name, type_, values in UNKNOWN_RECORDS),
    ]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    retired = route53.create_hosted_zone(Name="retired-psf.net.", CallerReference="console-2016-retired")["HostedZone"]
    retired_id = retired["Id"].rsplit("/", 1)[-1]
    route53.change_resource_record_sets(
        HostedZoneId=retired_id, ChangeBatch={"Changes": [_change("www.retired-psf.net.", "A", ["192.0.2.10"])]}
    )

    s3 = boto3.client("s3", region_name=REGION)
    for bucket in ("psf-prod-cdn-logs", "psf-backups-2016"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket="psf-prod-cdn-logs", VersioningConfiguration={"Status": "Enabled"})

    kms = boto3.client("kms", region_name=REGION)
    key = kms.create_key(Description=KSK_DESCRIPTION, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]

    iam = boto3.client("iam", region_name=REGION)
    statement = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
    trust = {"Version": "2012-10-17", "Statement": [statement]}
    iam.create_role(RoleName="psf-prod-fastly-logs", AssumeRolePolicyDocument=json.dumps(trust))
    return Estate(delegation["Id"].rsplit("/", 1)[-1], zone_id, retired_id, key["KeyId"])


# Prod's ownership with the parts this estate holds marked for adoption: discovery writes only their resources
# into the import map (the program refuses an entry for a part it manages, stacks/imports.py).
ADOPTING: Final[dict[str, Any]] = {
    "ownership": [
        "edge:pypi=external",
        "zone:pypi.org=external",
        "storage:pypi-files=external",
        "storage:cdn-logs=import",
        "zone:delegation=import",
        "zone:python.org=import",
    ]
}


def main() -> int:
    """``python -m tests.adopt_estate OUT``: discovery and the cut-over of prod against this estate, into OUT.

    Writes OUT/prod.yaml (the import map), OUT/discovery-prod.md (the report) and prints the cut-over check of
    python.org: what the closing note of issue 13 shows, reproducible. Prod's ownership is :data:`ADOPTING`.
    """
    import os
    import sys
    from pathlib import Path

    from moto import mock_aws

    from adopt import cutover, discover

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "build/adopt-demo")
    out.mkdir(parents=True, exist_ok=True)
    os.environ.update(AWS_ACCESS_KEY_ID="AKIAEXAMPLEPSFPROD01", AWS_SECRET_ACCESS_KEY="moto-secret")
    with mock_aws():
        seed()
        files = ["--map", str(out / "prod.yaml"), "--report", str(out / "discovery-prod.md")]
        status = discover.run(
            ["--stack", "prod", "--only", "aws", "--credentials", "env", *files, "--json", str(out / "prod.json")],
            overrides=ADOPTING,
        )
        if status != 0:
            return status
        return cutover.run(["--stack", "prod", "--credentials", "env", "--zone", "python.org", "--map", files[1]])


if __name__ == "__main__":
    raise SystemExit(main())
