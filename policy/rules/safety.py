"""Deployment safety: protected state, staging teardown, secrets, explicit providers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from policy.rules.base import (
    BUCKET,
    FASTLY_SERVICE,
    GANDI_DNSSEC_KEY,
    GANDI_NAMESERVERS,
    STACK_REFERENCE,
    STATEFUL_TYPES,
    SYNTHETICS_TEST,
    ZONE,
    Finding,
    Resource,
    _is_stateful,
    _items,
    _map,
    _maps,
    _of,
    _str,
    _unverified,
    _violation,
    resource_rule,
    stack_rule,
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
            "Fix: config psf-infra:protect true (the settings refuse false in prod); in code, "
            "ResourceOptions(protect=True, retain_on_delete=True) from settings.protect.",
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


def _watched_external(resources: Sequence[Resource], kind: str) -> set[str]:
    """The host names of synthetics tagged ``<kind>:external``: names whose edge or zone is owned elsewhere."""
    hosts: set[str] = set()
    for test in _of(resources, SYNTHETICS_TEST):
        if f"{kind}:external" not in _items(test.props.get("tags")):
            continue
        request = _map(test.props.get("requestDefinition"))
        host = _str(request.get("host")) or urlsplit(_str(request.get("url"))).hostname or ""
        if host:
            hosts.add(host.lower().rstrip("."))
    return hosts


@stack_rule(
    "ownership-external-not-made",
    anchors=("ours",),
    enforcement="mandatory",
    types=(FASTLY_SERVICE, ZONE, SYNTHETICS_TEST),
)
def _external_not_made(resources: Sequence[Resource]) -> Iterable[Finding]:
    """A name whose edge or zone is owned elsewhere is watched here, never served or held here.

    Settings ``ownership`` (``edge:<service>=external``, ``zone:<domain>=external``): the program keeps the
    name's synthetics, tagged ``edge:external``/``zone:external``, and makes no Fastly service or zone for it.
    One would be refused by Fastly (a domain belongs to one service in all of Fastly) or would shadow the
    owner's zone with a second set of name servers.
    """
    edges = _watched_external(resources, "edge")
    zones = _watched_external(resources, "zone")
    for service in _of(resources, FASTLY_SERVICE):
        for domain in _maps(service.props.get("domains")):
            host = _str(domain.get("name")).lower().rstrip(".")
            if host in edges:
                yield _violation(
                    service,
                    f"serves {host}, whose edge is owned elsewhere (its synthetics are tagged edge:external): "
                    "Fastly lets one service hold a domain. Fix: drop the service, or make the edge managed.",
                )
    for zone in _of(resources, ZONE):
        name = _str(zone.props.get("name")).lower().rstrip(".")
        if name and any(h == name or h.endswith("." + name) for h in zones):
            yield _violation(
                zone,
                f"is a zone for {name}, whose zone is owned elsewhere (synthetics tagged zone:external): a second "
                "hosted zone answers with other name servers. Fix: drop the zone, or make zone:<domain> managed.",
            )
