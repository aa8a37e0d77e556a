"""A local HTTPS server that answers the DigitalOcean, Fastly and Datadog API calls discovery makes.

Its answers are recorded responses (tests/adopt_responses/) shaped as each API reference documents them, so
the real client libraries (pydo, fastly, datadog-api-client) parse and validate them exactly as they would
the real APIs'. It serves TLS with a test CA (trustme), because pydo refuses to send a bearer token over
plain HTTP. It checks each request carries the credential where the API expects it, answers 405 to anything
but GET, and keeps every request so a test can assert discovery only read.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

RESPONSES = Path(__file__).parent / "adopt_responses"
TOKENS = {
    "digitalocean": "do-test-token",
    "fastly": "fastly-test-token",
    "datadog_api": "dd-test-api-key",
    "datadog_app": "dd-test-app-key",
}


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]


@dataclass
class ApiServer:
    """The running server: its base URL, the CA file clients must trust, and what it was asked."""

    url: str
    ca_file: str
    requests: list[Seen] = field(default_factory=list)


def _authorised(path: str, headers: Mapping[str, str]) -> bool:
    if path.startswith("/v2/"):
        return headers.get("authorization") == f"Bearer {TOKENS['digitalocean']}"
    if path.startswith("/service"):
        return headers.get("fastly-key") == TOKENS["fastly"]
    if path.startswith("/api/"):
        return (headers.get("dd-api-key"), headers.get("dd-application-key")) == (
            TOKENS["datadog_api"],
            TOKENS["datadog_app"],
        )
    return False


def _answer(path: str, query: Mapping[str, list[str]]) -> Any:
    """The recorded response for a request, or None for a path the APIs do not have."""
    first = {k: v[0] for k, v in query.items()}
    parts = path.strip("/").split("/")
    if parts[:1] == ["v2"] and len(parts) == 2:
        if parts[1] == "droplets":
            return json.loads((RESPONSES / "digitalocean" / f"droplets-page-{first.get('page', '1')}.json").read_text())
        if parts[1] in ("volumes", "firewalls", "vpcs"):
            return json.loads((RESPONSES / "digitalocean" / f"{parts[1]}.json").read_text())
    if parts == ["service"]:
        return json.loads((RESPONSES / "fastly" / "services.json").read_text()) if first.get("page", "1") == "1" else []
    if len(parts) == 5 and parts[0] == "service" and parts[2] == "version" and parts[4] == "domain":
        file = RESPONSES / "fastly" / f"domains-{parts[1]}-{parts[3]}.json"
        return json.loads(file.read_text()) if file.exists() else None
    if parts == ["api", "v1", "monitor"]:
        if first.get("page", "0") != "0":
            return []
        return json.loads((RESPONSES / "datadog" / "monitors.json").read_text())
    if parts == ["api", "v1", "synthetics", "tests"]:
        if first.get("page_number", "0") != "0":
            return {"tests": []}
        return json.loads((RESPONSES / "datadog" / "synthetics.json").read_text())
    return None


def _handler(server: ApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _seen(self) -> tuple[str, dict[str, list[str]]]:
            split = urlsplit(self.path)
            query = parse_qs(split.query)
            headers = {k.lower(): v for k, v in self.headers.items()}
            server.requests.append(Seen(self.command, split.path, query, headers))
            return split.path, query

        def do_GET(self) -> None:
            path, query = self._seen()
            if not _authorised(path, {k.lower(): v for k, v in self.headers.items()}):
                self._send(401, {"id": "unauthorized", "message": "Unable to authenticate you."})
                return
            body = _answer(path, query)
            if body is None:
                self._send(404, {"id": "not_found", "message": f"no such path {path}"})
            else:
                self._send(200, body)

        def _refuse(self) -> None:
            self._seen()
            self._send(405, {"id": "method_not_allowed", "message": "discovery must only read"})

        do_POST = do_PUT = do_PATCH = do_DELETE = _refuse  # noqa: N815 - the base class's names

    return Handler


def serve(tmp: Path) -> Iterator[ApiServer]:
    """Run the server on a free loopback port for as long as the generator is suspended."""
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    certificate.configure_cert(context)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    api = ApiServer(f"https://127.0.0.1:{httpd.server_address[1]}", str(ca_file))
    httpd.RequestHandlerClass = _handler(api)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
