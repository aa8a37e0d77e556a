"""Helpers shared by the component tests: explicit test providers, and checks every recording must pass.

Component tests build their providers inside the recorded program (default providers are disabled, so a
component must be handed one), evaluate each scenario once in a module-scoped fixture, and assert on the
records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi_aws as aws
import pulumi_datadog as datadog
import pulumi_digitalocean as digitalocean
import pulumi_fastly as fastly

from offline.recorder import SECRET, ProgramFailedError, Record, Recording, record_program

__all__ = [
    "SECRET",
    "TestProviders",
    "assert_every_custom_resource_has_a_provider",
    "assert_names_derived_from",
    "make_providers",
    "one",
    "program_error",
    "record",
]


@dataclass(frozen=True)
class TestProviders:
    """One explicit provider per cloud, made inside a recorded program."""

    __test__ = False  # not a pytest test class, despite the name

    digitalocean: digitalocean.Provider
    aws: aws.Provider
    fastly: fastly.Provider
    datadog: datadog.Provider


def make_providers() -> TestProviders:
    """Explicit providers with dummy credentials; call it inside the program passed to ``record``."""
    return TestProviders(
        digitalocean=digitalocean.Provider("do", token="test-token"),
        aws=aws.Provider("aws", region="us-east-1"),
        fastly=fastly.Provider("fastly", api_key="test-key"),
        datadog=datadog.Provider("datadog", api_key="test-key", app_key="test-key"),
    )


def record(program: Callable[[TestProviders], Any]) -> Recording:
    """Record ``program(providers)`` under the mocks, with no stack config."""
    return record_program(lambda: program(make_providers()), config={})


def program_error(program: Callable[[TestProviders], Any]) -> BaseException:
    """The exception ``program`` raised while being recorded; fails the test if it raised nothing."""
    try:
        record(program)
    except ProgramFailedError as failed:
        return failed.cause
    raise AssertionError("the program was expected to raise, but it did not")


def one(recording: Recording, type_: str) -> Record:
    """The single record of ``type_``; fails when there are none or several."""
    found = recording.of_type(type_)
    assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
    return found[0]


def assert_every_custom_resource_has_a_provider(recording: Recording) -> None:
    """Every custom resource names an explicit provider instance registered in the same program."""
    provider_urns = {r.urn for r in recording.records if r.is_provider}
    missing = [r.urn for r in recording.resources if r.custom and r.options.provider not in provider_urns]
    assert not missing, f"custom resources without an explicit provider: {missing}"


def assert_names_derived_from(recording: Recording, component: Record) -> None:
    """Every resource below ``component`` has a logical name starting with the component's own name."""
    stray = [r.name for r in recording.descendants(component) if not r.name.startswith(component.name + "-")]
    assert not stray, f"children of {component.name} not named after it: {stray}"
