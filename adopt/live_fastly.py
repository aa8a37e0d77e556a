"""Fastly services and the domains of each one's active version, as Fastly's API client (``fastly``) reads them.

``GET /service`` lists the account's services page by page; a service's domains belong to a version, so
``GET /service/{id}/version/{v}/domain`` is asked for its active version (its newest when none is active:
a service that was never activated serves nothing yet, but its domains are still taken).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import fastly
from fastly.api.domain_api import DomainApi
from fastly.api.service_api import ServiceApi
from urllib3.exceptions import HTTPError

from adopt.credentials import Credentials
from adopt.live import FASTLY_SERVICE, Live, Progress, ReadError

API: Final = "https://api.fastly.com"
PER_PAGE: Final = 100


def client(credentials: Credentials, *, host: str = API, ca_file: str | None = None) -> fastly.ApiClient:
    """An API client with the stack's token. ``host`` and ``ca_file`` are for a local test server."""
    configuration = fastly.Configuration(host=host, ssl_ca_cert=ca_file)
    configuration.api_token = credentials["fastlyApiKey"]
    return fastly.ApiClient(configuration)


def _field(model: Any, name: str, default: Any = None) -> Any:
    # The generated models raise on an attribute the answer did not carry; .get() does not.
    return model.get(name, default) if hasattr(model, "get") else default


def _serving_version(service: Any) -> int | None:
    versions = [v for v in _field(service, "versions", []) or [] if _field(v, "number") is not None]
    active = [int(_field(v, "number")) for v in versions if _field(v, "active")]
    if active:
        return max(active)
    numbers = [int(_field(v, "number")) for v in versions]
    if numbers:
        return max(numbers)
    version = _field(service, "version")
    return int(version) if version is not None else None


def _call(what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except fastly.ApiException as exc:
        raise ReadError(f"fastly {what}: HTTP {exc.status}: {exc.reason}") from None
    except (fastly.OpenApiException, HTTPError) as exc:
        raise ReadError(f"fastly {what}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def read(api: fastly.ApiClient, progress: Progress) -> list[Live]:
    """Every service of the account, with the domains it serves and whether a version is active."""
    progress("fastly: reading services and their domains")
    services_api, domains_api = ServiceApi(api), DomainApi(api)
    services: list[Any] = []
    page = 1
    while True:
        batch = _call("list services", services_api.list_services, page=page, per_page=PER_PAGE)
        services += list(batch)
        if len(batch) < PER_PAGE:
            break
        page += 1
    progress(f"  {len(services)} services")
    found: list[Live] = []
    for service in services:
        service_id, name = str(_field(service, "id")), str(_field(service, "name"))
        version = _serving_version(service)
        domains: list[str] = []
        if version is not None:
            answer = _call(
                f"list domains of {name}", domains_api.list_domains, service_id=service_id, version_id=version
            )
            # DomainsResponse wraps the list (a "simple" model): its items are under .value.
            items = getattr(answer, "value", answer)
            domains = sorted(str(_field(d, "name")).lower() for d in items)
        active = any(_field(v, "active") for v in _field(service, "versions", []) or [])
        attrs: Mapping[str, Any] = {
            "service_type": _field(service, "type"),
            "version": version,
            "active": active,
            "domains": domains,
        }
        found.append(Live(FASTLY_SERVICE, service_id, name, attrs))
    return found
