"""Datadog uptime checks and host monitors for one service, with notifications that name its people.

One :class:`ServiceMonitors` per service and environment: a synthetics API test per public URL (and per
raw TCP port such as SMTP), plus host monitors scoped by tags (agent up, disk, CPU, memory). Every name
carries the environment, so a staging stack never overwrites or silences production's monitors, and the
on-call PagerDuty handle appears in a message only when the caller sets ``page_on_call``.

Arguments are validated when the argument objects are built, before any resource is registered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import pulumi
import pulumi_datadog as datadog

from components.common import DATADOG_TAG as _TAG
from components.common import invalid as _fail
from components.monitor_tls import CERTIFICATE_CHECK_TAG, SSL_TICK_EVERY, SSL_WARNING_TICK_EVERY, TlsCheck

SERVICE_MONITORS_TYPE: Final = "infra:monitoring:ServiceMonitors"

MIN_LOCATIONS: Final = 3
TICK_EVERY: Final = 60
RETRY_COUNT: Final = 1
# Milliseconds between a failed run and its retry: long enough to ride out a dropped connection. The
# Datadog API refuses more than 5000 ms, so a retry "after five minutes" cannot be expressed here;
# min_failure_duration is what makes an alert wait.
RETRY_INTERVAL_MS: Final = 300
MAX_RETRY_INTERVAL_MS: Final = 5000
# The renotification intervals (minutes) Datadog accepts for synthetics monitors.
RENOTIFY_INTERVALS: Final = (0, 10, 20, 30, 40, 50, 60, 90, 120, 180, 240, 300, 360, 720, 1440)
# The window of the uptime objective (Datadog SLO timeframes: 7d, 30d, 90d) and the largest target that
# leaves room for its warning threshold, which must lie above the target and below 100.
UPTIME_TIMEFRAME: Final = "30d"
UPTIME_WARNING_MAX: Final = 99.99

_SLUG = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$")
_HANDLE = re.compile(r"^@[A-Za-z0-9][A-Za-z0-9_.+@-]*$")
_LOCATION = re.compile(r"^(aws|azure|gcp|alibaba|oci):[a-z0-9-]+$|^pl:[a-z0-9-]+$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$")
_PAGERDUTY: Final = "@pagerduty"


def _int_in(argument: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(argument, value, f"must be a whole number from {low} to {high}")
    return value


def _strings(argument: str, values: object) -> tuple[str, ...]:
    # A lone string is a sequence of characters; refusing it catches owners="Ee" instead of ("Ee",).
    if isinstance(values, str) or not isinstance(values, Sequence) or not all(isinstance(v, str) for v in values):
        raise _fail(argument, values, "must be a list or tuple of strings")
    items = tuple(values)
    if len(set(items)) != len(items):
        raise _fail(argument, values, "must not repeat an item")
    return items


def _items_of(argument: str, values: object, kind: type) -> tuple[object, ...]:
    """``values`` as a tuple, when it is a list or tuple of ``kind``; one error line otherwise."""
    if isinstance(values, str) or not isinstance(values, Sequence) or not all(isinstance(v, kind) for v in values):
        raise _fail(argument, values, f"must be a list of {kind.__name__}")
    return tuple(values)


def _label(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")


@dataclass(frozen=True)
class HttpCheck:
    """An HTTPS GET uptime check of one public host name.

    The probe requests ``https://<host>[:<port>]<path>`` and asserts the status code and a bound on the
    response time. ``headers`` may carry secrets (``pulumi.Output``), e.g. an origin token for a check that
    bypasses the CDN. Redirects are not followed unless asked, so a check expecting 301 sees the 301.
    ``allow_insecure`` accepts a certificate no public CA issued, for a check of an origin whose certificate
    comes from a private CA that only the CDN trusts (psf/infra checks the PSF's backends that way).
    """

    host: str
    path: str = "/"
    expected_status: int = 200
    max_response_time_ms: int = 2000
    port: int | None = None
    body_contains: str | None = None
    follow_redirects: bool = False
    headers: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    allow_insecure: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not _HOST.match(self.host):
            raise _fail("HttpCheck.host", self.host, "must be a lower-case public host name such as www.example.org")
        if not isinstance(self.path, str) or not _PATH.match(self.path):
            raise _fail("HttpCheck.path", self.path, "must be a URL path starting with '/'")
        _int_in("HttpCheck.expected_status", self.expected_status, 100, 599)
        _int_in("HttpCheck.max_response_time_ms", self.max_response_time_ms, 1, 60_000)
        if self.port is not None:
            _int_in("HttpCheck.port", self.port, 1, 65535)
        if self.body_contains is not None and not self.body_contains:
            raise _fail("HttpCheck.body_contains", self.body_contains, "must be None or a non-empty string")
        for name in self.headers:
            if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9-]+$", name):
                raise _fail("HttpCheck.headers", name, "header names must be letters, digits and '-'")

    @property
    def url(self) -> str:
        """The URL the probe requests."""
        port = f":{self.port}" if self.port is not None else ""
        return f"https://{self.host}{port}{self.path}"


@dataclass(frozen=True)
class TcpCheck:
    """A TCP connect check of a service reached directly, not through the CDN (SMTP on 25, a worker port).

    The test's logical name follows ``host``; ``previous_hosts`` are names the host had before, whose tests
    this one is (an alias each), so a renamed host keeps its test and history.
    """

    host: str
    port: int
    max_response_time_ms: int = 5000
    previous_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not _HOST.match(self.host):
            raise _fail("TcpCheck.host", self.host, "must be a lower-case host name such as mail.example.org")
        _int_in("TcpCheck.port", self.port, 1, 65535)
        _int_in("TcpCheck.max_response_time_ms", self.max_response_time_ms, 1, 60_000)
        for previous in self.previous_hosts:
            if not isinstance(previous, str) or not _HOST.match(previous):
                raise _fail("TcpCheck.previous_hosts", previous, "must be lower-case host names")

    @property
    def url(self) -> str:
        """The endpoint as a ``tcp://host:port`` URL, for lists of what is checked."""
        return f"tcp://{self.host}:{self.port}"


@dataclass(frozen=True)
class HostThresholds:
    """Warning and critical thresholds of the host monitors.

    Disk is the used fraction of a device (``system.disk.in_use``), CPU the busy percentage
    (100 - ``system.cpu.idle``, so iowait and steal count), memory the usable fraction
    (``system.mem.pct_usable``, alerting when it falls below the thresholds).
    """

    disk_warning: float = 0.8
    disk_critical: float = 0.9
    cpu_warning: float = 85.0
    cpu_critical: float = 95.0
    memory_warning: float = 0.2
    memory_critical: float = 0.1

    def __post_init__(self) -> None:
        for key in ("disk", "memory"):
            for level in ("warning", "critical"):
                value = getattr(self, f"{key}_{level}")
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
                    raise _fail(f"HostThresholds.{key}_{level}", value, "must be a fraction between 0 and 1, e.g. 0.9")
        for level in ("warning", "critical"):
            value = getattr(self, f"cpu_{level}")
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 100:
                raise _fail(f"HostThresholds.cpu_{level}", value, "must be a percentage above 0 and at most 100")
        if not self.disk_warning < self.disk_critical:
            raise _fail(
                "HostThresholds.disk_warning", self.disk_warning, f"must be below disk_critical ({self.disk_critical})"
            )
        if not self.cpu_warning < self.cpu_critical:
            raise _fail(
                "HostThresholds.cpu_warning", self.cpu_warning, f"must be below cpu_critical ({self.cpu_critical})"
            )
        if not self.memory_warning > self.memory_critical:
            raise _fail(
                "HostThresholds.memory_warning",
                self.memory_warning,
                f"must be above memory_critical ({self.memory_critical}): memory alerts when usable memory falls",
            )


_METRIC = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_COMPARATORS: Final = (">", ">=", "<", "<=")
_AGGREGATIONS: Final = ("avg", "max", "min", "sum")


@dataclass(frozen=True)
class MetricAlert:
    """A metric monitor on something other than the service's hosts: a cloud provider's metric, say.

    The query is ``<aggregation>(last_<window_min>m):<aggregation>:<metric>{<scope>} by {<group_by>}
    <comparator> <critical>``, so one monitor alerts separately for each group (each hosted zone, say).
    ``scope`` may be an Output (it often names resource IDs). Metrics a cloud integration collects arrive
    late: ``evaluation_delay_s`` makes the monitor judge only data old enough to be complete.
    ``no_data_min`` alerts when the metric stops arriving (a broken integration would otherwise leave the
    monitor silently green); None leaves silence alone.
    """

    key: str
    title: str
    metric: str
    scope: pulumi.Input[str]
    headline: str
    critical: float
    comparator: str = ">="
    group_by: Sequence[str] = ()
    aggregation: str = "max"
    window_min: int = 15
    evaluation_delay_s: int = 0
    no_data_min: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not _SLUG.match(self.key):
            raise _fail("MetricAlert.key", self.key, "must be a lower-case slug such as dnssec-internal-failure")
        for name in ("title", "headline"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise _fail(f"MetricAlert.{name}", getattr(self, name), "must be a non-empty sentence")
        if not isinstance(self.metric, str) or not _METRIC.match(self.metric):
            raise _fail(
                "MetricAlert.metric", self.metric, "must be a Datadog metric name such as aws.route53.dns_queries"
            )
        if self.comparator not in _COMPARATORS:
            raise _fail("MetricAlert.comparator", self.comparator, "must be one of " + ", ".join(_COMPARATORS))
        if self.aggregation not in _AGGREGATIONS:
            raise _fail("MetricAlert.aggregation", self.aggregation, "must be one of " + ", ".join(_AGGREGATIONS))
        if isinstance(self.critical, bool) or not isinstance(self.critical, int | float):
            raise _fail("MetricAlert.critical", self.critical, "must be a number")
        groups = _strings("MetricAlert.group_by", self.group_by)
        for group in groups:
            if not re.match(r"^[a-z][a-z0-9_.-]*$", group):
                raise _fail("MetricAlert.group_by", group, "must be tag keys such as hostedzoneid")
        object.__setattr__(self, "group_by", groups)
        _int_in("MetricAlert.window_min", self.window_min, 1, 1440)
        _int_in("MetricAlert.evaluation_delay_s", self.evaluation_delay_s, 0, 86_400)
        if self.no_data_min is not None:
            # Datadog's advice: wait at least twice the evaluation window before calling silence an alert.
            _int_in("MetricAlert.no_data_min", self.no_data_min, 2 * self.window_min, 1440)

    def query(self) -> pulumi.Output[str]:
        """The monitor query (an Output, as the scope may be one)."""
        by = f" by {{{','.join(self.group_by)}}}" if self.group_by else ""
        head = f"{self.aggregation}(last_{self.window_min}m):{self.aggregation}:{self.metric}{{"
        tail = f"}}{by} {self.comparator} {_fmt(self.critical)}"
        return pulumi.Output.concat(head, self.scope, tail)


@dataclass(frozen=True)
class CompositeAlert:
    """A composite monitor over this service's own checks: it alerts while ``failing`` fail and ``passing`` pass.

    Both name checks by URL (:attr:`HttpCheck.url`, :attr:`TcpCheck.url`). The PSF's use: a primary origin's
    check failing while the public URL still passes means the standby is serving, which is not the same
    news as the service being down.
    """

    key: str
    title: str
    headline: str
    failing: tuple[str, ...]
    passing: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not _SLUG.match(self.key):
            raise _fail("CompositeAlert.key", self.key, "must be a lower-case slug such as standby-serving")
        for name in ("title", "headline"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise _fail(f"CompositeAlert.{name}", getattr(self, name), "must be a non-empty sentence")
        failing = _strings("CompositeAlert.failing", self.failing)
        passing = _strings("CompositeAlert.passing", self.passing)
        if not failing:
            raise _fail("CompositeAlert.failing", self.failing, "must name at least one check that fails")
        if set(failing) & set(passing):
            raise _fail("CompositeAlert.passing", sorted(set(failing) & set(passing)), "must not also be failing")
        object.__setattr__(self, "failing", failing)
        object.__setattr__(self, "passing", passing)


@dataclass(frozen=True)
class ServiceMonitorsArgs:
    """What to watch for one service in one environment, and whom to tell.

    - ``service``, ``environment``, ``datacenter``: lower-case slugs; they become the ``service:``,
      ``env:`` and ``datacenter:`` tags of everything created, and the environment is part of every name.
    - ``http_checks`` and ``tcp_checks``: what the synthetics probes request; at least one check, unless
      the service has no public face and its host monitors (``host_scope``) are what watch it.
      ``tls_checks``: the certificates of its public names (:class:`TlsCheck`, two SSL tests each).
    - ``locations``: Datadog managed locations (at least three, so one region's trouble is not an outage).
    - ``owners`` and ``contact``: named in every message; ``notify_handles``: Datadog handles (``@team``,
      ``@someone@example.org``) notified on every alert.
    - ``page_on_call`` with ``pagerduty_handle``: page on-call for alerts (not warnings). When False no
      PagerDuty handle appears anywhere, and PagerDuty handles are refused in ``notify_handles``.
    - ``host_scope``: the tags selecting this service's hosts (``service:docs``, ``env:prod``) for the host
      monitors; ``host_thresholds=None`` skips host monitors (a service with no hosts of its own).
    - ``metric_alerts``: monitors on other metrics (:class:`MetricAlert`), notified like the rest.
    - ``composites``: monitors combining this service's checks (:class:`CompositeAlert`).
    - ``min_location_failed`` defaults to 2 so one probe location's network trouble alerts nobody;
      ``min_failure_duration_s`` (180) and one retry further damp flapping.
    - ``dashboard_url``: the service's dashboard, linked from every message (may be an Output);
      ``uptime_target``: the percentage of the synthetics' time up over ``UPTIME_TIMEFRAME`` that a
      monitor-based service level objective holds them to (None: no objective).
    """

    service: str
    environment: str
    datacenter: str
    http_checks: Sequence[HttpCheck]
    locations: Sequence[str]
    owners: Sequence[str]
    contact: str
    notify_handles: Sequence[str]
    tcp_checks: Sequence[TcpCheck] = ()
    tls_checks: Sequence[TlsCheck] = ()
    page_on_call: bool = False
    pagerduty_handle: str | None = None
    host_scope: Sequence[str] = ()
    host_thresholds: HostThresholds | None = HostThresholds()
    priority: int = 2
    min_failure_duration_s: int = 180
    min_location_failed: int = 2
    retry_interval_ms: int = RETRY_INTERVAL_MS
    renotify_interval_min: int = 120
    runbook_url: str | None = None
    extra_tags: Sequence[str] = ()
    metric_alerts: Sequence[MetricAlert] = ()
    dashboard_url: pulumi.Input[str] | None = None
    uptime_target: float | None = None
    composites: Sequence[CompositeAlert] = ()

    def __post_init__(self) -> None:
        for key in ("service", "environment", "datacenter"):
            value = getattr(self, key)
            if not isinstance(value, str) or not _SLUG.match(value):
                raise _fail(
                    f"ServiceMonitorsArgs.{key}",
                    value,
                    "must be a lower-case slug of a-z, 0-9, '-' and '_', starting with a letter",
                )

        kinds: tuple[tuple[str, type], ...] = (
            ("http_checks", HttpCheck),
            ("tcp_checks", TcpCheck),
            ("tls_checks", TlsCheck),
            ("metric_alerts", MetricAlert),
        )
        for key, kind in kinds:
            object.__setattr__(self, key, _items_of(f"ServiceMonitorsArgs.{key}", getattr(self, key), kind))
        keys = [m.key for m in self.metric_alerts]
        if len(set(keys)) != len(keys):
            raise _fail("ServiceMonitorsArgs.metric_alerts", keys, "must not repeat a key")
        # A service must be watched somehow: public ones by synthetics, private hosts (a backup target)
        # by their agent's host monitors at least, a managed service (DNS) by its provider's metrics.
        hosts_watched = bool(self.host_scope) and self.host_thresholds is not None
        checks = (*self.http_checks, *self.tcp_checks, *self.tls_checks)
        if not checks and not hosts_watched and not self.metric_alerts:
            raise _fail(
                "ServiceMonitorsArgs.http_checks",
                self.http_checks,
                "must hold at least one HttpCheck or TcpCheck, unless host monitors (host_scope) or "
                "metric_alerts watch the service",
            )
        urls = [c.url for c in (*self.http_checks, *self.tcp_checks, *self.tls_checks)]
        if len(set(urls)) != len(urls):
            raise _fail("ServiceMonitorsArgs.http_checks", urls, "must not check the same URL twice")
        if isinstance(self.composites, str) or not all(isinstance(c, CompositeAlert) for c in self.composites):
            raise _fail("ServiceMonitorsArgs.composites", self.composites, "must be a list of CompositeAlert")
        object.__setattr__(self, "composites", tuple(self.composites))
        keys += [c.key for c in self.composites]
        if len(set(keys)) != len(keys):
            raise _fail("ServiceMonitorsArgs.composites", keys, "must not repeat a key of another alert")
        for composite in self.composites:
            unknown = [u for u in (*composite.failing, *composite.passing) if u not in urls]
            if unknown:
                raise _fail(f"CompositeAlert({composite.key})", unknown, "must name URLs this service checks")

        locations = _strings("ServiceMonitorsArgs.locations", self.locations)
        if len(locations) < MIN_LOCATIONS:
            raise _fail(
                "ServiceMonitorsArgs.locations", self.locations, f"must list at least {MIN_LOCATIONS} Datadog locations"
            )
        for location in locations:
            if not _LOCATION.match(location):
                raise _fail(
                    "ServiceMonitorsArgs.locations", location, "must be Datadog managed locations such as aws:us-east-1"
                )
        object.__setattr__(self, "locations", locations)

        owners = _strings("ServiceMonitorsArgs.owners", self.owners)
        if not owners or not all(o.strip() for o in owners):
            raise _fail("ServiceMonitorsArgs.owners", self.owners, "must name at least one owner")
        object.__setattr__(self, "owners", owners)
        # Free text is repeated in every message: a handle hidden there would page for warnings too, or
        # page at all where paging is off.
        for key in ("owners", "contact", "runbook_url"):
            if _PAGERDUTY in str(getattr(self, key)).lower():
                raise _fail(
                    f"ServiceMonitorsArgs.{key}",
                    getattr(self, key),
                    "must not mention a PagerDuty handle; set pagerduty_handle and page_on_call=True instead",
                )
        if not isinstance(self.contact, str) or not _EMAIL.match(self.contact):
            raise _fail(
                "ServiceMonitorsArgs.contact", self.contact, "must be an e-mail address such as infra@example.org"
            )

        handles = _strings("ServiceMonitorsArgs.notify_handles", self.notify_handles)
        if not handles:
            raise _fail(
                "ServiceMonitorsArgs.notify_handles",
                self.notify_handles,
                "must hold at least one handle: alerts must reach a team",
            )
        for handle in handles:
            if not _HANDLE.match(handle):
                raise _fail(
                    "ServiceMonitorsArgs.notify_handles",
                    handle,
                    "must be Datadog handles starting with '@', e.g. @team-infra or @ops@example.org",
                )
            if handle.lower().startswith(_PAGERDUTY):
                raise _fail(
                    "ServiceMonitorsArgs.notify_handles",
                    handle,
                    "must not page: give the PagerDuty handle as pagerduty_handle, used only when page_on_call=True",
                )
        object.__setattr__(self, "notify_handles", handles)

        if self.pagerduty_handle is not None and (
            not _HANDLE.match(self.pagerduty_handle) or not self.pagerduty_handle.lower().startswith(_PAGERDUTY)
        ):
            raise _fail(
                "ServiceMonitorsArgs.pagerduty_handle",
                self.pagerduty_handle,
                "must be a Datadog PagerDuty handle such as @pagerduty-oncall",
            )
        if self.page_on_call and self.pagerduty_handle is None:
            raise _fail("ServiceMonitorsArgs.pagerduty_handle", None, "must be set when page_on_call=True")

        if self.host_thresholds is not None:
            if not isinstance(self.host_thresholds, HostThresholds):
                raise _fail(
                    "ServiceMonitorsArgs.host_thresholds",
                    self.host_thresholds,
                    "must be a HostThresholds, or None for no host monitors",
                )
            scope = _strings("ServiceMonitorsArgs.host_scope", self.host_scope)
            if not scope:
                raise _fail(
                    "ServiceMonitorsArgs.host_scope",
                    self.host_scope,
                    "must list the tags that select this service's hosts (e.g. service:docs, env:prod), "
                    "or set host_thresholds=None",
                )
            for tag in scope:
                if not _TAG.match(tag):
                    raise _fail(
                        "ServiceMonitorsArgs.host_scope", tag, "must be lower-case Datadog tags in key:value form"
                    )
            object.__setattr__(self, "host_scope", scope)
        extra = _strings("ServiceMonitorsArgs.extra_tags", self.extra_tags)
        for tag in extra:
            if not _TAG.match(tag):
                raise _fail("ServiceMonitorsArgs.extra_tags", tag, "must be lower-case Datadog tags in key:value form")
        object.__setattr__(self, "extra_tags", extra)

        _int_in("ServiceMonitorsArgs.priority", self.priority, 1, 5)
        _int_in("ServiceMonitorsArgs.min_failure_duration_s", self.min_failure_duration_s, 0, 7200)
        _int_in("ServiceMonitorsArgs.min_location_failed", self.min_location_failed, 1, len(locations))
        _int_in("ServiceMonitorsArgs.retry_interval_ms", self.retry_interval_ms, 0, MAX_RETRY_INTERVAL_MS)
        if self.renotify_interval_min not in RENOTIFY_INTERVALS:
            raise _fail(
                "ServiceMonitorsArgs.renotify_interval_min",
                self.renotify_interval_min,
                "must be one of " + ", ".join(map(str, RENOTIFY_INTERVALS)) + " (minutes)",
            )
        if self.runbook_url is not None and not (
            isinstance(self.runbook_url, str) and self.runbook_url.startswith("https://")
        ):
            raise _fail("ServiceMonitorsArgs.runbook_url", self.runbook_url, "must be None or an https:// URL")
        if self.uptime_target is not None and (
            isinstance(self.uptime_target, bool)
            or not isinstance(self.uptime_target, int | float)
            or not 0 < self.uptime_target < UPTIME_WARNING_MAX
        ):
            # Datadog takes targets in (0, 100) and a warning above the target; the warning is the target's
            # remaining error budget halved.
            raise _fail(
                "ServiceMonitorsArgs.uptime_target",
                self.uptime_target,
                f"must be a percentage in (0, {UPTIME_WARNING_MAX})",
            )

    @property
    def tags(self) -> list[str]:
        """The tags on every test and monitor."""
        return [f"env:{self.environment}", f"service:{self.service}", f"datacenter:{self.datacenter}", *self.extra_tags]

    def notification(self, headline: str, *, page: bool = True) -> pulumi.Input[str]:
        """:meth:`message` with the link to the service's dashboard, once its URL is known."""
        if self.dashboard_url is None:
            return self.message(headline, page=page)
        return pulumi.Output.from_input(self.dashboard_url).apply(
            lambda url: self.message(headline, page=page, dashboard=url)
        )

    def message(self, headline: str, *, page: bool = True, dashboard: str | None = None) -> str:
        """The notification text: what broke, whose service it is, and the handles to notify.

        The PagerDuty handle is added only with ``page_on_call``, and only for alerts and their recovery
        (so warnings never page, and PagerDuty resolves the incident it opened). ``page=False`` leaves it
        out: a check that stands for a warning.
        """
        lines = [
            headline,
            "",
            f"Service: {self.service} ({self.environment}, {self.datacenter})",
            f"Owners: {', '.join(self.owners)}",
            f"Contact: {self.contact}",
        ]
        if self.runbook_url is not None:
            lines.append(f"Runbook: {self.runbook_url}")
        if dashboard:
            lines.append(f"Dashboard: {dashboard}")
        lines += ["", " ".join(self.notify_handles)]
        if page and self.page_on_call and self.pagerduty_handle is not None:
            handle = self.pagerduty_handle
            lines.append(
                f"{{{{#is_alert}}}}{handle}{{{{/is_alert}}}}{{{{#is_alert_recovery}}}}{handle}{{{{/is_alert_recovery}}}}"
            )
        text = "\n".join(lines)
        if not (page and self.page_on_call) and _PAGERDUTY in text.lower():
            # The owners or contact text carried a handle: a service that must not page would page.
            raise _fail(
                "ServiceMonitorsArgs.owners/contact",
                text,
                "must not mention a PagerDuty handle when page_on_call=False",
            )
        return text


def _fmt(value: float) -> str:
    return f"{value:g}"


class ServiceMonitors(pulumi.ComponentResource):
    """Uptime checks and host monitors for one service in one environment. See :class:`ServiceMonitorsArgs`.

    ``provider`` must be an explicit Datadog provider (default providers are disabled).

    Attributes: :attr:`tests` (URL -> synthetics test; a :class:`TlsCheck`'s two tests are
    ``ssl://host:port`` and ``ssl://host:port#warning``), :attr:`synthetics_public_ids` (URL -> public id,
    the test's resource id), :attr:`synthetics_monitor_ids` (URL -> the test's monitor id),
    :attr:`monitors` and :attr:`monitor_ids` (``agent``, ``disk``, ``cpu``, ``memory`` -> monitor and id),
    :attr:`checked_urls` (every URL, ``tcp://host:port`` and ``ssl://host:port`` checked, once each),
    :attr:`objective` (the uptime objective, or None).
    """

    tests: dict[str, datadog.SyntheticsTest]
    synthetics_public_ids: dict[str, pulumi.Output[str]]
    synthetics_monitor_ids: dict[str, pulumi.Output[int]]
    monitors: dict[str, datadog.Monitor]
    monitor_ids: dict[str, pulumi.Output[str]]
    checked_urls: tuple[str, ...]
    objective: datadog.ServiceLevelObjective | None

    def __init__(
        self,
        name: str,
        args: ServiceMonitorsArgs,
        *,
        provider: pulumi.ProviderResource,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if not isinstance(args, ServiceMonitorsArgs):
            raise _fail("ServiceMonitors(args=...)", args, "must be a ServiceMonitorsArgs")
        if not isinstance(provider, pulumi.ProviderResource) or provider.package != "datadog":
            shown = f"{provider.package} provider" if isinstance(provider, pulumi.ProviderResource) else provider
            raise _fail(
                "ServiceMonitors(provider=...)",
                shown,
                "must be an explicit datadog provider instance: default providers are disabled in this project",
            )
        super().__init__(SERVICE_MONITORS_TYPE, name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.tests = {}
        for check in args.http_checks:
            self.tests[check.url] = self._http_test(name, check)
        for tcp in args.tcp_checks:
            self.tests[tcp.url] = self._tcp_test(name, tcp)
        for tls in args.tls_checks:
            self.tests[tls.url] = self._ssl_test(name, tls, warning=False)
            self.tests[f"{tls.url}#warning"] = self._ssl_test(name, tls, warning=True)
        self.checked_urls = tuple(dict.fromkeys(url.split("#", 1)[0] for url in self.tests))
        self.synthetics_public_ids = {url: test.id for url, test in self.tests.items()}
        self.synthetics_monitor_ids = {url: test.monitor_id for url, test in self.tests.items()}

        self.monitors = {}
        if args.host_thresholds is not None:
            self._host_monitors(name, args.host_thresholds)
        for alert in args.metric_alerts:
            self.monitors[alert.key] = self._monitor(
                f"{name}-{alert.key}",
                title=alert.title,
                type_="metric alert",
                query=alert.query(),
                headline=alert.headline,
                thresholds=datadog.MonitorMonitorThresholdsArgs(critical=_fmt(alert.critical)),
                priority=args.priority,
                notify_no_data=alert.no_data_min is not None,
                no_data_min=alert.no_data_min,
                evaluation_delay_s=alert.evaluation_delay_s or None,
            )
        for composite in args.composites:
            self.monitors[composite.key] = self._monitor(
                f"{name}-{composite.key}",
                title=composite.title,
                type_="composite",
                query=self._composite_query(composite),
                headline=composite.headline,
                thresholds=None,
                priority=args.priority,
            )
        self.monitor_ids = {kind: monitor.id for kind, monitor in self.monitors.items()}
        # Uptime is what users see: the public checks, not a certificate's renewal and not the direct probes
        # of a primary and its standby (allow_insecure), one of which is down whenever the standby serves.
        uptime_checks = (*(c for c in args.http_checks if not c.allow_insecure), *args.tcp_checks)
        self._uptime_urls = frozenset(c.url for c in uptime_checks)
        self.objective = self._uptime_objective(name) if args.uptime_target is not None and uptime_checks else None

        self.register_outputs(
            {
                "checked_urls": list(self.checked_urls),
                "synthetics_public_ids": self.synthetics_public_ids,
                "synthetics_monitor_ids": self.synthetics_monitor_ids,
                "monitor_ids": self.monitor_ids,
            }
        )

    def _uptime_objective(self, name: str) -> datadog.ServiceLevelObjective:
        """A monitor-based objective over the HTTP and TCP tests: the service's uptime, as dashboards show it."""
        args = self._args
        assert args.uptime_target is not None
        target = args.uptime_target
        warning = round(target + (100 - target) / 2, 4)
        return datadog.ServiceLevelObjective(
            f"{name}-uptime",
            # Named after the component: one service may have several (python.org and staging.python.org).
            name=f"[{args.environment}] {name.removesuffix('-monitors')}: uptime",
            type="monitor",
            description=f"Share of time every uptime check of {args.service} ({args.environment}) passed.",
            # The checks users see (chosen in __init__): not certificates, not direct probes of a standby pair.
            monitor_ids=[test.monitor_id for url, test in self.tests.items() if url in self._uptime_urls],
            thresholds=[
                datadog.ServiceLevelObjectiveThresholdArgs(timeframe=UPTIME_TIMEFRAME, target=target, warning=warning)
            ],
            timeframe=UPTIME_TIMEFRAME,
            target_threshold=target,
            warning_threshold=warning,
            tags=args.tags,
            opts=self._child,
        )

    def _composite_query(self, composite: CompositeAlert) -> pulumi.Output[str]:
        # A composite names its monitors by ID: the synthetics tests' own monitors, known once they exist.
        ids = [self.tests[url].monitor_id for url in (*composite.failing, *composite.passing)]
        failing = len(composite.failing)
        return pulumi.Output.all(*ids).apply(
            lambda known: " && ".join([str(i) for i in known[:failing]] + [f"!{i}" for i in known[failing:]])
        )

    def _options(
        self,
        monitor_name: str,
        follow_redirects: bool | None = None,
        allow_insecure: bool = False,
        *,
        tick_every: int = TICK_EVERY,
        ssl: bool = False,
        priority: int | None = None,
    ) -> datadog.SyntheticsTestOptionsListArgs:
        args = self._args
        return datadog.SyntheticsTestOptionsListArgs(
            tick_every=tick_every,
            # SSL tests only: a self-signed certificate, or one revoked in its stapled OCSP response, fails.
            accept_self_signed=False if ssl else None,
            check_certificate_revocation=True if ssl else None,
            follow_redirects=follow_redirects,
            allow_insecure=True if allow_insecure else None,
            min_failure_duration=args.min_failure_duration_s,
            min_location_failed=args.min_location_failed,
            retry=datadog.SyntheticsTestOptionsListRetryArgs(count=RETRY_COUNT, interval=args.retry_interval_ms),
            monitor_name=monitor_name,
            monitor_priority=priority or args.priority,
            monitor_options=datadog.SyntheticsTestOptionsListMonitorOptionsArgs(
                renotify_interval=args.renotify_interval_min
            ),
        )

    def _http_test(self, name: str, check: HttpCheck) -> datadog.SyntheticsTest:
        args = self._args
        title = f"[{args.environment}] {args.service}: {check.url}"
        assertions = [
            datadog.SyntheticsTestAssertionArgs(type="statusCode", operator="is", target=str(check.expected_status)),
            datadog.SyntheticsTestAssertionArgs(
                type="responseTime", operator="lessThan", target=str(check.max_response_time_ms)
            ),
        ]
        if check.body_contains is not None:
            assertions.append(
                datadog.SyntheticsTestAssertionArgs(type="body", operator="contains", target=check.body_contains)
            )
        return datadog.SyntheticsTest(
            f"{name}-https-{_label(check.host + ('' if check.port is None else f'-{check.port}') + check.path)}",
            name=title,
            type="api",
            subtype="http",
            status="live",
            locations=list(args.locations),
            request_definition=datadog.SyntheticsTestRequestDefinitionArgs(method="GET", url=check.url),
            request_headers=dict(check.headers) or None,
            assertions=assertions,
            options_list=self._options(title, check.follow_redirects, check.allow_insecure),
            message=args.notification(
                f"{check.url} is failing its uptime check "
                f"(expected HTTP {check.expected_status} within {check.max_response_time_ms} ms)."
            ),
            tags=args.tags,
            opts=self._child,
        )

    def _tcp_test(self, name: str, check: TcpCheck) -> datadog.SyntheticsTest:
        args = self._args
        title = f"[{args.environment}] {args.service}: {check.url}"
        return datadog.SyntheticsTest(
            f"{name}-tcp-{_label(check.host)}-{check.port}",
            name=title,
            type="api",
            subtype="tcp",
            status="live",
            locations=list(args.locations),
            request_definition=datadog.SyntheticsTestRequestDefinitionArgs(host=check.host, port=str(check.port)),
            assertions=[
                datadog.SyntheticsTestAssertionArgs(
                    type="responseTime", operator="lessThan", target=str(check.max_response_time_ms)
                ),
            ],
            options_list=self._options(title),
            message=args.notification(f"{check.host} does not accept TCP connections on port {check.port}."),
            tags=args.tags,
            opts=pulumi.ResourceOptions.merge(
                self._child,
                pulumi.ResourceOptions(
                    aliases=[pulumi.Alias(name=f"{name}-tcp-{_label(h)}-{check.port}") for h in check.previous_hosts]
                ),
            ),
        )

    def _ssl_test(self, name: str, check: TlsCheck, *, warning: bool) -> datadog.SyntheticsTest:
        args = self._args
        days = check.warning_days if warning else check.alert_days
        what = f"certificate of {check.host}" + ("" if check.port == 443 else f":{check.port}")
        if warning:
            title = f"[{args.environment}] {args.service}: {what} expires within {days} days (warning)"
            headline = (
                f"Warning: the {what} expires in under {days} days. Check that it is being renewed: the Fastly "
                "subscription's state, its _acme-challenge record and the zone's CAA."
            )
        else:
            title = f"[{args.environment}] {args.service}: {what}"
            headline = (
                f"The {what} expires in under {days} days or is not valid for the name (untrusted, "
                "self-signed, revoked or for another name)."
            )
        assertion = datadog.SyntheticsTestAssertionArgs(type="certificate", operator="isInMoreThan", target=str(days))
        options = self._options(
            title,
            tick_every=SSL_WARNING_TICK_EVERY if warning else SSL_TICK_EVERY,
            ssl=True,
            # A warning is less urgent than the service's alerts.
            priority=min(args.priority + 1, 5) if warning else None,
        )
        suffix = "-warning" if warning else ""
        return datadog.SyntheticsTest(
            f"{name}-tls-{_label(check.host)}{'' if check.port == 443 else f'-{check.port}'}{suffix}",
            name=title,
            type="api",
            subtype="ssl",
            status="live",
            locations=list(args.locations),
            request_definition=datadog.SyntheticsTestRequestDefinitionArgs(
                host=check.host, port=str(check.port), servername=check.host
            ),
            assertions=[assertion],
            options_list=options,
            message=args.notification(headline, page=not warning),
            tags=[*args.tags, *check.tags, f"{CERTIFICATE_CHECK_TAG}:{'warning' if warning else 'alert'}"],
            opts=self._child,
        )

    def _monitor(
        self,
        logical_name: str,
        *,
        title: str,
        type_: str,
        query: pulumi.Input[str],
        headline: str,
        thresholds: datadog.MonitorMonitorThresholdsArgs | None,
        priority: int,
        notify_no_data: bool = False,
        no_data_min: int | None = None,
        evaluation_delay_s: int | None = None,
    ) -> datadog.Monitor:
        args = self._args
        return datadog.Monitor(
            logical_name,
            name=f"[{args.environment}] {args.service}: {title}",
            type=type_,
            query=query,
            message=args.notification(headline),
            monitor_thresholds=thresholds,
            notify_no_data=notify_no_data,
            no_data_timeframe=(no_data_min or 10) if notify_no_data else None,
            evaluation_delay=evaluation_delay_s,
            priority=str(priority),
            renotify_interval=args.renotify_interval_min,
            include_tags=True,
            # Freshly booted hosts report partial data; give them five minutes before judging them. A composite
            # has no groups of its own: it reads its monitors' states.
            new_group_delay=None if type_ == "composite" else 300,
            tags=args.tags,
            opts=self._child,
        )

    def _host_monitors(self, name: str, limits: HostThresholds) -> None:
        args = self._args
        scope = ",".join(args.host_scope)
        over = ",".join(f'"{tag}"' for tag in args.host_scope)
        # Resource pressure is less urgent than a host going silent: one priority step lower.
        pressure = min(args.priority + 1, 5)
        self.monitors["agent"] = self._monitor(
            f"{name}-agent-up",
            title="Datadog agent not reporting on {{host.name}}",
            type_="service check",
            query=f'"datadog.agent.up".over({over}).by("host").last(2).count_by_status()',
            headline="The Datadog agent on {{host.name}} stopped reporting: the host may be down.",
            thresholds=datadog.MonitorMonitorThresholdsArgs(ok="1", warning="1", critical="1"),
            priority=args.priority,
            # A host that vanishes sends nothing at all; silence is the signal.
            notify_no_data=True,
        )
        self.monitors["disk"] = self._monitor(
            f"{name}-disk",
            title="disk almost full on {{host.name}} {{device.name}}",
            type_="metric alert",
            query=f"avg(last_5m):avg:system.disk.in_use{{{scope}}} by {{host,device}} > {_fmt(limits.disk_critical)}",
            headline="Disk {{device.name}} on {{host.name}} is {{value}} full.",
            thresholds=datadog.MonitorMonitorThresholdsArgs(
                warning=_fmt(limits.disk_warning), critical=_fmt(limits.disk_critical)
            ),
            priority=pressure,
        )
        self.monitors["cpu"] = self._monitor(
            f"{name}-cpu",
            title="CPU busy on {{host.name}}",
            type_="metric alert",
            query=f"avg(last_15m):100 - avg:system.cpu.idle{{{scope}}} by {{host}} > {_fmt(limits.cpu_critical)}",
            headline="CPU on {{host.name}} has been {{value}}% busy for 15 minutes.",
            thresholds=datadog.MonitorMonitorThresholdsArgs(
                warning=_fmt(limits.cpu_warning), critical=_fmt(limits.cpu_critical)
            ),
            priority=pressure,
        )
        self.monitors["memory"] = self._monitor(
            f"{name}-memory",
            title="memory low on {{host.name}}",
            type_="metric alert",
            query=f"avg(last_5m):avg:system.mem.pct_usable{{{scope}}} by {{host}} < {_fmt(limits.memory_critical)}",
            headline="Usable memory on {{host.name}} is down to {{value}}.",
            thresholds=datadog.MonitorMonitorThresholdsArgs(
                warning=_fmt(limits.memory_warning), critical=_fmt(limits.memory_critical)
            ),
            priority=pressure,
        )
