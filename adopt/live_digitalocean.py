"""Droplets, volumes, firewalls and VPCs as DigitalOcean's official client (pydo) reads them.

pydo answers each list call with the API's JSON as a dict, one page at a time; this follows
``links.pages.next`` until the last page. Only list calls are made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import pydo
from azure.core.exceptions import AzureError, HttpResponseError

from adopt.credentials import Credentials
from adopt.live import DROPLET, FIREWALL, VOLUME, VPC, Live, Progress, ReadError

API: Final = "https://api.digitalocean.com"
# The API's largest page.
PER_PAGE: Final = 200


def client(credentials: Credentials, *, endpoint: str = API, ca_file: str | None = None) -> pydo.Client:
    """A pydo client with the stack's token. ``endpoint`` and ``ca_file`` are for a local test server."""
    options: dict[str, Any] = {"endpoint": endpoint}
    if ca_file is not None:
        options["connection_verify"] = ca_file
    return pydo.Client(token=credentials["digitaloceanToken"], **options)


def _pages(what: str, list_page: Callable[..., Mapping[str, Any]], key: str) -> Iterator[Mapping[str, Any]]:
    page = 1
    while True:
        try:
            answer = list_page(per_page=PER_PAGE, page=page)
        except HttpResponseError as exc:
            raise ReadError(f"digitalocean {what}: HTTP {exc.status_code}: {exc.message}") from None
        except AzureError as exc:
            raise ReadError(f"digitalocean {what}: {exc.message}") from None
        if not isinstance(answer, Mapping) or not isinstance(answer.get(key), list):
            raise ReadError(f"digitalocean {what}: the answer has no {key!r} list")
        yield from answer[key]
        pages = (answer.get("links") or {}).get("pages") or {}
        if not pages.get("next"):
            return
        page += 1


def _region(value: Any) -> str:
    # Droplets and volumes embed a region object; VPCs give its slug.
    return str(value.get("slug", "")) if isinstance(value, Mapping) else str(value or "")


def read(do: pydo.Client, progress: Progress) -> list[Live]:
    """Every droplet, volume, firewall and VPC of the account."""
    progress("digitalocean: reading droplets, volumes, firewalls, VPCs")
    found: list[Live] = []
    for droplet in progress.counted("droplets", _pages("droplets.list", do.droplets.list, "droplets")):
        image = droplet.get("image") or {}
        found.append(
            Live(
                DROPLET,
                str(droplet["id"]),
                str(droplet["name"]),
                {
                    "region": _region(droplet.get("region")),
                    "size": droplet.get("size_slug"),
                    "image": image.get("slug") or (str(image["id"]) if image.get("id") is not None else None),
                    "image_name": f"{image.get('distribution', '')} {image.get('name', '')}".strip(),
                    "tags": list(droplet.get("tags") or ()),
                    "status": droplet.get("status"),
                    "vpc": droplet.get("vpc_uuid"),
                },
            )
        )
    for volume in progress.counted("volumes", _pages("volumes.list", do.volumes.list, "volumes")):
        found.append(
            Live(
                VOLUME,
                str(volume["id"]),
                str(volume["name"]),
                {
                    "region": _region(volume.get("region")),
                    "size": volume.get("size_gigabytes"),
                    "droplets": [str(d) for d in volume.get("droplet_ids") or ()],
                    "tags": list(volume.get("tags") or ()),
                },
            )
        )
    for firewall in progress.counted("firewalls", _pages("firewalls.list", do.firewalls.list, "firewalls")):
        found.append(
            Live(
                FIREWALL,
                str(firewall["id"]),
                str(firewall["name"]),
                {
                    "droplets": [str(d) for d in firewall.get("droplet_ids") or ()],
                    "tags": list(firewall.get("tags") or ()),
                },
            )
        )
    for vpc in progress.counted("VPCs", _pages("vpcs.list", do.vpcs.list, "vpcs")):
        found.append(
            Live(
                VPC,
                str(vpc["id"]),
                str(vpc["name"]),
                {
                    "region": _region(vpc.get("region")),
                    "ip_range": vpc.get("ip_range"),
                    "default": bool(vpc.get("default")),
                },
            )
        )
    return found
