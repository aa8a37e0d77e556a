"""Deployment safety: protected state, staging teardown, secrets, explicit providers."""

from __future__ import annotations

from collections.abc import Iterable

from policy.rules.base import (
    BUCKET,
    GANDI_DNSSEC_KEY,
    GANDI_NAMESERVERS,
    STACK_REFERENCE,
    STATEFUL_TYPES,
    ZONE,
    Finding,
    Resource,
    _is_stateful,
    _unverified,
    _violation,
    resource_rule,
)


@resource_rule(
    "stateful-protected-in-prod",
    anchors=("ours",),
    enforcement="mandatory",
    types=(*STATEFUL_TYPES, *BUCKET),
)
def _stateful_protected(resource: Resource) -> Iterable[Finding]:
    """In production stateful resources (zones, volumes, databases, stateful buckets) are protected and retained."""
    if not (resource.is_prod and _is_stateful(resource)):
        return
    missing = [] if resource.protect else ["protect"]
    if resource.retain_on_delete is False:
        missing.append("retain_on_delete")
    if missing:
        yield _violation(
            resource,
            f"holds state but lacks {' and '.join(missing)} in production, so a code change could delete it. "
            "Fix: ResourceOptions(protect=True, retain_on_delete=True) from settings.protect.",
        )
    if resource.retain_on_delete is None:
        yield _unverified(resource, "retain_on_delete is not visible to CrossGuard; the offline check verifies it")


@resource_rule(
    "registrar-delegation-kept",
    anchors=("ours",),
    enforcement="mandatory",
    types=(GANDI_NAMESERVERS, GANDI_DNSSEC_KEY),
)
def _registrar_delegation_kept(resource: Resource) -> Iterable[Finding]:
    """A domain's name servers and DS key at the registrar are protected in prod; the name servers always retained.

    The Gandi provider's delete of a Nameservers resource re-enables LiveDNS on the domain, pointing it at
    Gandi's own name servers (go-gandi/terraform-provider-gandi, resource_nameservers.go).
    """
    if resource.is_prod and not resource.protect:
        yield _violation(
            resource,
            "is not protected in production, so a code change could take the domain's delegation away. Fix: "
            "ResourceOptions(protect=settings.protect).",
        )
    if resource.type != GANDI_NAMESERVERS:
        return
    if resource.retain_on_delete is None:
        yield _unverified(resource, "retain_on_delete is not visible to CrossGuard; the offline check verifies it")
    elif not resource.retain_on_delete:
        yield _violation(
            resource,
            "is not retained on delete: deleting it makes Gandi serve the domain from LiveDNS instead of Route "
            "53, an outage. Fix: ResourceOptions(retain_on_delete=True).",
        )


@resource_rule("stateful-no-force-destroy-in-prod", anchors=("ours",), enforcement="mandatory", types=(ZONE, *BUCKET))
def _stateful_no_force_destroy(resource: Resource) -> Iterable[Finding]:
    """In production stateful zones and buckets cannot be deleted with their contents (forceDestroy off)."""
    if resource.is_prod and _is_stateful(resource) and resource.props.get("forceDestroy") is True:
        yield _violation(resource, "sets forceDestroy in production, so deleting it wipes its contents. Fix: drop it.")


@resource_rule("staging-nothing-protected", anchors=("ours",), enforcement="advisory", types=())
def _staging_nothing_protected(resource: Resource) -> Iterable[Finding]:
    """Outside production nothing is protected or retained, so `pulumi destroy` removes the whole stack."""
    if resource.is_prod:
        return
    options = [o for o, on in (("protect", resource.protect), ("retain_on_delete", resource.retain_on_delete)) if on]
    if options:
        yield _violation(
            resource,
            f"sets {' and '.join(options)} in the {resource.stack} stack, so `pulumi destroy` would stop or leave "
            "it behind. Fix: derive these options from settings.protect (false outside prod).",
        )


@resource_rule("explicit-provider", anchors=("ours",), enforcement="mandatory", types=())
def _explicit_provider(resource: Resource) -> Iterable[Finding]:
    """Every custom resource names an explicit provider instance; default providers are never used.

    Stack references are exempt: the engine's built-in provider reads them from the state backend, with the
    backend's login, and no cloud credentials.
    """
    if resource.custom is False or resource.type == STACK_REFERENCE:
        return
    if resource.provider is None:
        if resource.custom:
            yield _violation(resource, "uses the default provider (ambient credentials). Fix: pass opts provider=.")
        return
    provider_name = resource.provider.rsplit("::", 1)[-1]
    if provider_name.startswith("default"):
        yield _violation(
            resource,
            f"uses the default provider {provider_name} (ambient credentials). Fix: pass the explicit provider.",
        )
