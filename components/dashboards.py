"""Datadog dashboards as JSON: one per service and one for a whole estate, all found by tags.

Every widget selects what it shows by tags, never by a monitor's or objective's ID: the monitors' messages
link to their service's dashboard, so the dashboard must exist before them, and a tag query keeps showing a
monitor that was replaced. Tags are those :mod:`components.monitors` puts on everything (``env:``,
``service:``, ``datadog:``) and that the hosts' agents and the Fastly integration report.

Why ``datadog.DashboardJson`` and not the typed ``datadog.Dashboard``: the JSON resource stores the API's own
document (terraform-provider-datadog resource_datadog_dashboard_json.go: the state is the API's response with
``id``, ``author_*``, ``created_at``, ``modified_at``, ``url`` and widget IDs removed, keys sorted), so a
document written in the API's own shape, with the fields the API returns (``notify_list``,
``template_variables``, ``reflow_type``), compares equal after a refresh; the typed resource maps every widget
through a schema with defaults of its own, the source of its known perpetual diffs. One string input per
dashboard is also far cheaper to register than hundreds of nested argument objects.

Widget definitions follow the Dashboards API (v1) as the provider documents them (docs/resources/dashboard.md):
``manage_status`` (query, summary_type, display_format, sort), ``slo_list`` (one request of request_type
``slo_list`` with a query_string), ``hostmap`` (requests.fill, node_type, scope, group), ``timeseries``
(requests with ``q``), ``note`` and ``group`` (layout_type ``ordered``). The layout is ``ordered`` with
``reflow_type`` ``auto``, so no widget carries a position.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_datadog as datadog

from components.common import invalid as _fail

DASHBOARD_TYPE: Final = "datadog:index/dashboardJson:DashboardJson"
_TAG = re.compile(r"^[a-z][a-z0-9_.\-/]*:[a-z0-9_.\-/:]+$")

Widget = dict[str, Any]


def _tags(argument: str, tags: Sequence[str]) -> tuple[str, ...]:
    if isinstance(tags, str) or not all(isinstance(t, str) and _TAG.match(t) for t in tags):
        raise _fail(argument, tags, "must be lower-case Datadog tags in key:value form")
    return tuple(tags)


def scope(tags: Sequence[str]) -> str:
    """A metric query's scope: ``{env:prod,service:docs}``'s inside."""
    return ",".join(tags)


def slo_query(tags: Sequence[str]) -> str:
    """An SLO search selecting every objective that carries all of ``tags``."""
    return " AND ".join(tags)


def slo_query_tags(query: str) -> tuple[str, ...]:
    """The tags an :func:`slo_query` selects (its terms without the ``AND`` operators)."""
    return tuple(term for term in query.split() if term != "AND")


def monitor_query(tags: Sequence[str]) -> str:
    """A monitor search selecting every monitor (and synthetics test) that carries all of ``tags``."""
    return " ".join(f'tag:"{t}"' for t in tags)


def note(content: str) -> Widget:
    """A Markdown note."""
    return {
        "definition": {
            "type": "note",
            "content": content,
            "background_color": "white",
            "font_size": "14",
            "text_align": "left",
            "show_tick": False,
            "tick_edge": "left",
            "tick_pos": "50%",
            "has_padding": True,
        }
    }


def monitor_status(title: str, tags: Sequence[str]) -> Widget:
    """Every monitor carrying ``tags``, worst first, with when each last triggered."""
    return {
        "definition": {
            "type": "manage_status",
            "title": title,
            "query": monitor_query(tags),
            "summary_type": "monitors",
            "display_format": "countsAndList",
            "sort": "status,asc",
            "show_last_triggered": True,
            "hide_zero_counts": True,
            "color_preference": "text",
        }
    }


def objectives(title: str, tags: Sequence[str]) -> Widget:
    """The service level objectives carrying ``tags``: their uptime over their time windows.

    The SLO search is written with explicit ``AND``s, as the provider's own slo_list examples and tests write
    it (``env:prod AND service:my-app``); ``limit`` is at most 100, the API's page.
    """
    return {
        "definition": {
            "type": "slo_list",
            "title": title,
            "requests": [{"request_type": "slo_list", "query": {"query_string": slo_query(tags), "limit": 100}}],
        }
    }


def timeseries(title: str, query: str, display: str = "line") -> Widget:
    """One query over time (``display``: line, bars or area)."""
    return {"definition": {"type": "timeseries", "title": title, "requests": [{"q": query, "display_type": display}]}}


def hostmap(title: str, tags: Sequence[str], group_by: Sequence[str]) -> Widget:
    """The hosts carrying ``tags``, coloured by CPU, grouped by ``group_by`` tag keys."""
    return {
        "definition": {
            "type": "hostmap",
            "title": title,
            "requests": {"fill": {"q": f"avg:system.cpu.user{{{scope(tags)}}} by {{host}}"}},
            "node_type": "host",
            "scope": list(tags),
            "group": list(group_by),
            "no_group_hosts": True,
            "no_metric_hosts": False,
        }
    }


def group(title: str, widgets: Sequence[Widget]) -> Widget:
    """Widgets under one heading."""
    return {"definition": {"type": "group", "title": title, "layout_type": "ordered", "widgets": list(widgets)}}


def host_health(tags: Sequence[str]) -> list[Widget]:
    """CPU, usable memory and disk use of the hosts carrying ``tags``, one line per host."""
    where = scope(tags)
    return [
        timeseries("CPU busy (%)", f"100 - avg:system.cpu.idle{{{where}}} by {{host}}"),
        timeseries("Usable memory (fraction)", f"avg:system.mem.pct_usable{{{where}}} by {{host}}"),
        timeseries("Disk in use (fraction)", f"max:system.disk.in_use{{{where}}} by {{host,device}}"),
    ]


def cdn(tags: Sequence[str], by: str) -> list[Widget]:
    """Requests, hit ratio, 5xx and origin latency of the Fastly services carrying ``tags``, per ``by`` tag.

    Metric names from Datadog's Fastly integration (docs.datadoghq.com/integrations/fastly, "Metrics"). It has no
    origin-latency metric; ``fastly.miss_time`` (time spent on cache misses, seconds) over ``fastly.miss`` (the
    misses) is the mean time Fastly waited for an origin, shown in milliseconds.
    """
    where = scope(tags)
    return [
        timeseries("Requests", f"sum:fastly.requests{{{where}}} by {{{by}}}", "bars"),
        timeseries("Cache hit ratio", f"avg:fastly.hit_ratio{{{where}}} by {{{by}}}"),
        timeseries("5xx responses", f"sum:fastly.status_5xx{{{where}}} by {{{by}}}", "bars"),
        timeseries(
            "Origin latency on a miss (ms)",
            f"1000 * sum:fastly.miss_time{{{where}}} by {{{by}}} / sum:fastly.miss{{{where}}} by {{{by}}}",
        ),
    ]


def document(title: str, description: str, widgets: Sequence[Widget]) -> str:
    """The dashboard's JSON as the API returns it (sorted keys), with the fields it fills in when absent."""
    return json.dumps(
        {
            "title": title,
            "description": description,
            "layout_type": "ordered",
            "reflow_type": "auto",
            "notify_list": [],
            "template_variables": [],
            "widgets": list(widgets),
        },
        sort_keys=True,
        ensure_ascii=False,
    )


@dataclass(frozen=True)
class ServiceDashboardArgs:
    """What one service's dashboard shows.

    - ``title``, ``description``: as Datadog lists it (the environment belongs in the title);
    - ``tags``: the tags of the service's monitors and objectives (``env:prod``, ``service:docs``);
    - ``host_tags``: the tags of its hosts, or () for a service without hosts of its own;
    - ``cdn_tags``: the tags its Fastly services report with, or () where no Fastly metrics reach Datadog;
    - ``facts``: lines of the opening note (owners, contact, what is checked);
    - ``uptime``: whether the service has uptime checks, and so an uptime objective to show.
    """

    title: str
    description: str
    tags: Sequence[str]
    host_tags: Sequence[str] = ()
    cdn_tags: Sequence[str] = ()
    facts: Sequence[str] = ()
    uptime: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.title, str) or not self.title.strip():
            raise _fail("ServiceDashboardArgs.title", self.title, "must be a non-empty title")
        if not _tags("ServiceDashboardArgs.tags", self.tags):
            raise _fail("ServiceDashboardArgs.tags", self.tags, "must name at least one tag")
        object.__setattr__(self, "tags", _tags("ServiceDashboardArgs.tags", self.tags))
        object.__setattr__(self, "host_tags", _tags("ServiceDashboardArgs.host_tags", self.host_tags))
        object.__setattr__(self, "cdn_tags", _tags("ServiceDashboardArgs.cdn_tags", self.cdn_tags))

    def widgets(self) -> list[Widget]:
        """The widgets, top to bottom."""
        out = [note("\n".join(self.facts)) if self.facts else note(self.description)]
        out.append(monitor_status("Monitors and uptime checks", self.tags))
        if self.uptime:
            out.append(objectives("Uptime objectives (from the synthetics)", self.tags))
        if self.host_tags:
            out.append(group("Hosts", [hostmap("Hosts", self.host_tags, ["datacenter"]), *host_health(self.host_tags)]))
        if self.cdn_tags:
            out.append(group("CDN (Fastly)", cdn(self.cdn_tags, "host")))
        return out


def dashboard(
    name: str,
    title: str,
    description: str,
    widgets: Sequence[Widget],
    *,
    provider: pulumi.ProviderResource,
    parent: pulumi.Resource | None = None,
) -> datadog.DashboardJson:
    """A ``DashboardJson`` of ``widgets``; ``provider`` must be an explicit Datadog provider."""
    if not isinstance(provider, pulumi.ProviderResource) or provider.package != "datadog":
        raise _fail("dashboard(provider=...)", provider, "must be an explicit datadog provider instance")
    return datadog.DashboardJson(
        name,
        dashboard=document(title, description, widgets),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )


def referenced_tags(document_json: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """What a dashboard document selects: (widget type, title, tags) for every monitor and objective list in it.

    For the policy pack and the tests: a list that selects tags no monitor carries shows nothing.
    """
    found: list[tuple[str, str, tuple[str, ...]]] = []

    def walk(widgets: Sequence[Mapping[str, Any]]) -> None:
        for widget in widgets:
            definition = widget.get("definition") or {}
            kind = definition.get("type")
            if kind == "group":
                walk(definition.get("widgets") or [])
            elif kind == "manage_status":
                tags = tuple(re.findall(r'tag:"([^"]+)"', str(definition.get("query", ""))))
                found.append((kind, str(definition.get("title", "")), tags))
            elif kind == "slo_list":
                for request in definition.get("requests") or []:
                    text = str((request.get("query") or {}).get("query_string", ""))
                    found.append((kind, str(definition.get("title", "")), slo_query_tags(text)))

    walk(json.loads(document_json).get("widgets") or [])
    return found
