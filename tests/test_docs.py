"""The generated overview (docs/): current with the program, complete, and free of made-up addresses."""

from __future__ import annotations

import html
import ipaddress
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offline import docs, hosts
from offline.recorder import PROJECT_ROOT, Recording
from stacks.catalog import SERVICES

DOCS = PROJECT_ROOT / "docs"
REGENERATE = "make docs"


@pytest.fixture(scope="module")
def overview(prod: Recording) -> str:
    return docs.render_overview(prod)


@pytest.fixture(scope="module")
def dot(prod: Recording) -> str:
    return docs.render_dot(prod)


def _leaves(value: Any) -> Iterator[str]:
    """Every scalar inside a record's inputs or outputs, as text."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif value is not None:
        yield str(value)


def _section(text: str, title: str) -> str:
    """The body of the ``### title`` section of the overview."""
    start = text.index(f"\n### {title}\n")
    following = re.search(r"\n##", text[start + 1 :])
    return text[start : start + 1 + following.start()] if following else text[start:]


def _placed_keys(recording: Recording) -> set[str]:
    """Catalog keys some resource is tagged with (``service:<key>`` in a list, or a ``service`` map entry)."""
    keys: set[str] = set()
    for record in recording.resources:
        tags = record.inputs.get("tags")
        if isinstance(tags, dict) and isinstance(tags.get("service"), str):
            keys.add(tags["service"])
        elif isinstance(tags, list):
            keys |= {t.removeprefix("service:") for t in tags if isinstance(t, str) and t.startswith("service:")}
    return keys & set(SERVICES)


def _public_hosts(recording: Recording) -> set[str]:
    """Every host name the estate serves: Fastly domains, and every host an HTTP uptime check watches."""
    hosts = {
        domain["name"] for vcl in recording.of_type(docs.FASTLY_SERVICE) for domain in vcl.inputs.get("domains", [])
    }
    for test in recording.of_type(docs.SYNTHETICS):
        url = test.inputs.get("requestDefinition", {}).get("url")
        if url:
            hosts.add(url.split("://", 1)[1].split("/", 1)[0])
    return hosts


def _made_up(recording: Recording) -> set[str]:
    """What the mocks invented: IDs, and computed outputs that are not among the program's own inputs."""
    invented: set[str] = set()
    for record in recording.records:
        given = set(_leaves(record.inputs))
        invented |= {v for v in _leaves(record.outputs) if v not in given}
        if record.id and record.id not in given:
            invented.add(record.id)
    # Short values (ports, counts, "active") are not identifying; anything of 6 characters or more is.
    return {v for v in invented if len(v) >= 6}


# The committed files are exactly what the generator makes now.


@pytest.mark.parametrize(("name", "render"), [(docs.OVERVIEW, docs.render_overview), (docs.DOT, docs.render_dot)])
def test_committed_docs_are_current(prod: Recording, name: str, render: Any) -> None:
    path = DOCS / name
    assert path.exists(), f"docs/{name} is missing: run `{REGENERATE}` and commit it"
    committed = path.read_text(encoding="utf-8")
    assert committed == render(prod), (
        f"docs/{name} no longer matches the program: run `{REGENERATE}` and commit docs/ "
        "(with Graphviz installed, so docs/estate.svg is re-rendered too)"
    )


def test_committed_hosts_page_is_current(prod: Recording, staging: Recording) -> None:
    committed = (DOCS / hosts.HOSTS).read_text(encoding="utf-8")
    assert committed == hosts.render_hosts(prod, staging), (
        f"docs/{hosts.HOSTS} no longer matches the program: run `{REGENERATE}` and commit docs/"
    )


def test_hosts_page_shows_every_droplet_and_its_minion_id(prod: Recording, staging: Recording) -> None:
    page = hosts.render_hosts(prod, staging)
    for recording in (prod, staging):
        for host in hosts.hosts(recording):
            assert f"`{host.name}" in page, host.name
            assert host.minion_id in page, host.minion_id
    # The README sends a newcomer there.
    assert "docs/hosts.md" in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_committed_svg_shows_every_node_of_the_dot(dot: str) -> None:
    # SVG bytes depend on the Graphviz version, so compare what it shows: every label of the committed source.
    svg = html.unescape((DOCS / docs.SVG).read_text(encoding="utf-8"))
    labels = {line for match in re.findall(r'\[label="([^"]+)"', dot) for line in match.split("\\n")}
    missing = sorted(label for label in labels if f">{label}</text>" not in svg)
    assert not missing, f"docs/estate.svg is older than docs/estate.dot ({missing[:5]}): run `{REGENERATE}`"


def test_output_is_the_same_every_time(prod: Recording, overview: str, dot: str) -> None:
    assert docs.render_overview(prod) == overview
    assert docs.render_dot(prod) == dot


# Content: what a newcomer needs, derived from the records.


def test_every_placed_service_appears_with_owners_and_contact(prod: Recording, overview: str) -> None:
    placed = _placed_keys(prod)
    assert {"docs", "mail", "pypi", "python-org", "mirror", "database"} <= placed
    for key in sorted(placed):
        entry = SERVICES[key]
        section = _section(overview, entry.title)
        assert f"Catalog key: `{key}`" in section
        for owner in entry.owners:
            assert owner in section, f"{key}: owner {owner} missing"
        assert f"**Contact:** {entry.contact}" in section, key


def test_every_public_host_appears(prod: Recording, overview: str, dot: str) -> None:
    hosts = _public_hosts(prod)
    assert {"www.python.org", "docs.python.org", "pypi.org", "pythontest.net", "us.pycon.org"} <= hosts
    for host in sorted(hosts):
        assert re.search(rf"(?<![\w.-]){re.escape(host)}(?![\w-])", overview), f"{host} missing from the overview"
    for vcl in prod.of_type(docs.FASTLY_SERVICE):
        for domain in vcl.inputs["domains"]:
            assert domain["name"] in dot, f"{domain['name']} missing from the diagram"


def test_datacenters_table(overview: str) -> None:
    for name, region in (("ams1", "AMS3"), ("nyc1", "NYC3"), ("sfo1", "SFO2")):
        assert re.search(rf"^\| {name} \| DigitalOcean \| {region} \| \d+ \|", overview, re.M), name


def test_no_made_up_address_or_id_appears(prod: Recording, overview: str, dot: str) -> None:
    invented = _made_up(prod)
    addresses = {v for v in invented if _is_ip(v)}
    assert len(addresses) >= 19, "expected the droplets' mock addresses among the invented values"
    for text, name in ((overview, docs.OVERVIEW), (dot, docs.DOT)):
        leaked = sorted(v for v in invented if v in text)
        assert not leaked, f"{name} shows values the mocks made up: {leaked[:5]}"


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def test_providers_and_external_origins(overview: str) -> None:
    for provider in ("DigitalOcean (`digitalocean`)", "Amazon Web Services (`aws`)", "Fastly (`fastly`)"):
        assert f"| {provider} |" in overview
    assert "| Datadog (`datadog`) |" in overview
    assert re.search(r"^\| Heroku \| pythondotorg\.herokuapp\.com, Fastly origin of www\.python\.org", overview, re.M)
    # Prod's PyPI edge is pypi-infra's: its AWS origin is theirs to name, and the overview says who owns it.
    assert "warehouse.ingress" not in overview
    assert "owned outside this program (settings `ownership`): its Fastly service and its DNS zone" in overview
    assert re.search(r"^\| OSUOSL \| speed-bench\.osuosl\.psf\.io", overview, re.M)
    assert re.search(r"^\| Gandi \| registrar of .*python\.org.*pulumi stack output name_servers", overview, re.M)


def test_every_record_belongs_to_a_service_or_datacenter(prod: Recording) -> None:
    other = docs.describe(prod).other
    assert not other, f"resources no catalog service claims: {[r.name for r in other]}"


def test_every_host_shows_its_certificate(prod: Recording, overview: str) -> None:
    table = overview.split("## Certificates", 1)[1].split("\n## ", 1)[0]
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in table.splitlines() if line.startswith("| ")}
    for vcl in prod.of_type(docs.FASTLY_SERVICE):
        for domain in vcl.inputs["domains"]:
            row = rows[domain["name"]]
            assert "| managed | GlobalSign | `" in row and "(validated)" in row and "| 14/30 |" in row, row
    assert "| python.org | managed | GlobalSign | `python-org-edge-tls-" in table


def test_challenge_records_are_no_hosts(prod: Recording) -> None:
    estate = docs.describe(prod)
    hosts = {h for s in estate.services for h in (*s.hosts, *s.direct_hosts)}
    assert not {h for h in hosts if h.startswith("_acme-challenge.")}
    assert not any("_acme-challenge." in h for z in estate.zones for h in z.hosts)
    # Certificate checks are listed with the certificates, not among the uptime checks.
    assert not any(u.startswith("ssl://") for s in estate.services for u in s.synthetics)


def test_every_droplet_is_counted_once(prod: Recording) -> None:
    estate = docs.describe(prod)
    counted = sum(g.count for s in estate.services for g in s.droplets)
    assert counted == len(prod.of_type(docs.DROPLET))


def test_edges_name_their_origins(prod: Recording) -> None:
    estate = docs.describe(prod)
    by_name = {e.domains[0]: e for s in estate.services for e in s.edges}
    docs_edge, www = by_name["docs.python.org"], by_name["www.python.org"]
    assert "pypi.org" not in by_name  # pypi-infra's in prod
    assert [o.label for o in docs_edge.primaries] == ["docs-1.nyc1.psf.io", "docs-2.nyc1.psf.io"]
    assert [(o.service, o.datacenter) for o in docs_edge.fallback] == [("mirror", "sfo1")]
    assert [o.place for o in www.primaries] == ["Heroku"]
    assert [(prefix, {o.service for o in origins}) for prefix, origins in www.routes] == [("/ftp/", {"downloads"})]
    # The apex is a redirecting domain of the www service, as in the live configuration.
    assert www.domains == ("www.python.org", "python.org")
    assert www.redirects == (("python.org", 301, "https://www.python.org"),)


def test_diagram_groups_droplets_and_marks_fallbacks(dot: str) -> None:
    assert f'"svc:nyc1:docs" [label="docs {docs.TIMES}2\\ns-4vcpu-8gb"]' in dot
    assert '"fastly:psf-prod-docs" -> "svc:sfo1:mirror" [style="dashed"]' in dot
    assert '"fastly:psf-prod-pypi"' not in dot  # pypi-infra's in prod
    assert '"zone:python.org" -> "fastly:psf-prod-docs"' in dot
    # One node per service and datacenter, not one per droplet: the picture must stay readable.
    assert dot.count("[label=") < 60
    assert all(int(size) >= 12 for size in re.findall(r"fontsize=(\d+)", dot))


# Other stacks, and the command line.


def test_staging_is_documented_the_same_way(staging: Recording) -> None:
    text = docs.render_overview(staging)
    assert text.startswith("<!-- Generated by `python -m offline.docs --stack staging`")
    assert "# The PSF estate (staging)" in text
    for host in sorted(_public_hosts(staging)):
        assert host in text
    assert f"docs {docs.TIMES}1" in docs.render_dot(staging)


def test_cli_writes_docs_and_renders_svg_when_dot_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rendered: list[Path] = []

    def fake_render(dot_file: Path) -> Path:
        rendered.append(dot_file)
        return dot_file.with_suffix(".svg")

    monkeypatch.setattr(docs, "render_svg", fake_render)
    assert docs.main(["--stack", "staging", "--out", str(tmp_path)]) == 0
    assert (tmp_path / docs.OVERVIEW).read_text(encoding="utf-8").startswith("<!-- Generated")
    assert (tmp_path / docs.DOT).read_text(encoding="utf-8").startswith("// Generated")
    assert rendered == [tmp_path / docs.DOT]


@pytest.mark.parametrize(("flags", "code"), [([], 0), (["--require-svg"], 1)])
def test_cli_without_graphviz_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], flags: list[str], code: int
) -> None:
    monkeypatch.setattr(docs.shutil, "which", lambda _: None)
    assert docs.main(["--stack", "staging", "--out", str(tmp_path), *flags]) == code
    assert (tmp_path / docs.DOT).exists()
    assert not (tmp_path / docs.SVG).exists()
    assert "Graphviz `dot` is not on PATH" in capsys.readouterr().err


def test_cli_unknown_stack_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert docs.main(["--stack", "nope"]) == 2
    assert "no stack file" in capsys.readouterr().err


def test_default_output_directories() -> None:
    assert docs.default_out("prod") == PROJECT_ROOT / "docs"
    assert docs.default_out("staging") == PROJECT_ROOT / "build" / "docs-staging"
