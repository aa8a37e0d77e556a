"""The psf-infra CrossGuard policy pack: every rule of the ``policy.rules`` package as a Pulumi policy.

Run by the Pulumi CLI (``pulumi preview --policy-pack policy``), which executes this file as a program:
then, and only then, the :class:`~pulumi_policy.PolicyPack` is constructed (it starts the analyzer's gRPC
server and never returns). Importing the module, as the tests do, only defines :func:`build_policies`.

What CrossGuard cannot show a policy, and how the rules cope (they report those checks as ``unverified``,
which this adapter does not raise; the offline check over a recording verifies them):

- ``retain_on_delete`` is not among the options the analyzer receives;
- secret values arrive as plaintext with no mark of secretness (pulumi/pulumi-policy#241).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyPack,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

if not __package__:  # run by the CLI as a script from policy/: make the `policy` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policy.rules import RULES, Resource, Rule

PACK_NAME = "psf-infra-policy"

ENFORCEMENT: Mapping[str, EnforcementLevel] = {
    "mandatory": EnforcementLevel.MANDATORY,
    "advisory": EnforcementLevel.ADVISORY,
}


def _view(
    resource_type: str,
    name: str,
    urn: str,
    props: Mapping[str, Any],
    opts: PolicyResourceOptions,
    provider: PolicyProviderResource | None,
    dependencies: tuple[str, ...] = (),
) -> Resource:
    # The analyzer sends no `custom` flag: a resource with a provider is custom, one without is a component.
    return Resource(
        type=resource_type,
        name=name,
        urn=urn,
        props=props,
        outputs=props,
        protect=bool(opts.protect),
        ignore_changes=tuple(opts.ignore_changes or ()),
        retain_on_delete=None,
        provider=provider.urn if provider is not None else None,
        custom=True if provider is not None else None,
        secrets_marked=False,
        dependencies=dependencies,
    )


def resource_view(args: ResourceValidationArgs) -> Resource:
    """The rules' view of the resource CrossGuard is validating (its inputs as ``props``)."""
    return _view(args.resource_type, args.name, args.urn, args.props, args.opts, args.provider)


def stack_resource_view(resource: PolicyResource) -> Resource:
    """The rules' view of one resource of the stack (CrossGuard passes its state as ``props``)."""
    return _view(
        resource.resource_type,
        resource.name,
        resource.urn,
        resource.props,
        resource.opts,
        resource.provider,
        tuple(d.urn for d in resource.dependencies),
    )


def _validate_resource(rule: Rule) -> Any:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not rule.applies_to(args.resource_type):
            return
        for finding in rule.violations([resource_view(args)]):
            report_violation(finding.message, None)

    return validate


def _validate_stack(rule: Rule) -> Any:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [stack_resource_view(r) for r in args.resources]
        for finding in rule.violations(resources):
            report_violation(finding.message, finding.urn)

    return validate


def build_policy(rule: Rule) -> Policy:
    """One rule as a CrossGuard policy, its anchors as tags and its enforcement level mapped."""
    common: dict[str, Any] = {
        "name": rule.name,
        "description": rule.description,
        "enforcement_level": ENFORCEMENT[rule.enforcement],
        "tags": list(rule.anchors),
    }
    if rule.is_stack_rule:
        return StackValidationPolicy(validate=_validate_stack(rule), **common)
    return ResourceValidationPolicy(validate=_validate_resource(rule), **common)


def build_policies() -> list[Policy]:
    """Every rule of the pack as a policy, in the rules' order."""
    return [build_policy(rule) for rule in RULES]


def main() -> None:
    """Serve the pack to the Pulumi CLI (blocks until the CLI stops it)."""
    PolicyPack(
        name=PACK_NAME,
        policies=build_policies(),
        description="PSF infrastructure guardrails: DigitalOcean, S3, Route 53, Fastly, Datadog, deployment safety.",
    )


if __name__ == "__main__":
    main()
