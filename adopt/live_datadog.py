"""Datadog monitors and Synthetic tests, as Datadog's API client (``datadog-api-client``) reads them.

``GET /api/v1/monitor`` and ``GET /api/v1/synthetics/tests``, both through the client's own pagination.
"""

from __future__ import annotations

from typing import Any, Final

from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ApiException, OpenApiException
from datadog_api_client.v1.api.monitors_api import MonitorsApi
from datadog_api_client.v1.api.synthetics_api import SyntheticsApi
from urllib3.exceptions import HTTPError

from adopt.credentials import Credentials
from adopt.live import MONITOR, SYNTHETICS, Live, Progress, ReadError

API: Final = "https://api.datadoghq.com"
PAGE_SIZE: Final = 100


def client(credentials: Credentials, *, host: str = API, ca_file: str | None = None) -> ApiClient:
    """An API client with the stack's API and application keys, for the stack's Datadog site (``host``)."""
    configuration = Configuration(
        host=host.rstrip("/"),
        api_key={"apiKeyAuth": credentials["datadogApiKey"], "appKeyAuth": credentials["datadogAppKey"]},
        ssl_ca_cert=ca_file,
        enable_retry=True,
    )
    return ApiClient(configuration)


def _field(model: Any, name: str, default: Any = None) -> Any:
    return model.get(name, default) if hasattr(model, "get") else default


def _request_target(test: Any) -> str:
    """What a test checks: the URL of an HTTP test, ``host:port`` of an SSL or TCP test."""
    request = _field(_field(test, "config"), "request")
    if request is None:
        return ""
    url = _field(request, "url")
    if url:
        return str(url)
    host, port = _field(request, "host"), _field(request, "port")
    return f"{host}:{port}" if host else ""


def _all(what: str, pages: Any) -> list[Any]:
    try:
        return list(pages)
    except ApiException as exc:
        raise ReadError(f"datadog {what}: HTTP {exc.status}: {exc.reason}") from None
    except (OpenApiException, HTTPError) as exc:
        raise ReadError(f"datadog {what}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def read(api: ApiClient, progress: Progress) -> list[Live]:
    """Every monitor and every Synthetic test of the organisation."""
    progress("datadog: reading monitors and synthetic tests")
    found: list[Live] = []
    monitors = _all("list monitors", MonitorsApi(api).list_monitors_with_pagination(page_size=PAGE_SIZE))
    progress(f"  {len(monitors)} monitors")
    for monitor in monitors:
        found.append(
            Live(
                MONITOR,
                str(_field(monitor, "id")),
                str(_field(monitor, "name")),
                {
                    "monitor_type": str(_field(monitor, "type", "")),
                    "tags": [str(t) for t in _field(monitor, "tags", [])],
                },
            )
        )
    tests = _all("list synthetic tests", SyntheticsApi(api).list_tests_with_pagination(page_size=PAGE_SIZE))
    progress(f"  {len(tests)} synthetic tests")
    for test in tests:
        found.append(
            Live(
                SYNTHETICS,
                str(_field(test, "public_id")),
                str(_field(test, "name")),
                {
                    "test_type": str(_field(test, "type", "")),
                    "subtype": str(_field(test, "subtype", "") or ""),
                    "target": _request_target(test),
                    "tags": [str(t) for t in _field(test, "tags", [])],
                },
            )
        )
    return found
