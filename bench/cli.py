"""Run a Pulumi program the way the Pulumi CLI's Python language host runs it, with mocks in place of the engine.

    python -m bench.cli --stack prod --references refs.json .     # the estate's own __main__.py
    python -m bench.cli --stack prod bench/synthetic_main.py 10   # the synthetic estate, ten copies

``pulumi preview`` starts ``pulumi-language-python-exec`` (pulumi/pulumi, sdk/python/cmd) in the project's
virtualenv, with the stack's config in ``PULUMI_CONFIG`` and its secret keys in ``PULUMI_CONFIG_SECRET_KEYS``.
That script imports ``pulumi``, reads the config from those variables into the runtime, configures the runtime
for the engine's resource monitor, makes a new event loop whose default executor has four threads per unit of
``--parallel`` (the CLI passes four per CPU), silences asyncio's logger, and runs the program directory with
:func:`runpy.run_path` inside :func:`pulumi.runtime.stack.run_in_stack`; then it shuts the executor down,
closes the loop and exits. This module does the same, step by step, with one difference: there is no engine
here, so the runtime is configured with :func:`pulumi.runtime.set_mocks` and the recorder's
:class:`offline.recorder.MockCloud`, which answers what a provider would, without recording anything.
Nothing here touches the garbage collector or any other interpreter setting: whatever the program does to
be fast, it must do in its own path, where a real preview gets it too.

The stack's config comes from the environment, as under the CLI (the benchmark sets it from
:func:`offline.recorder.program_config`). A stack reference (staging reads prod's outputs) is answered from
``--references``, a JSON file of the referenced stacks' outputs and delegation sets, written by
:func:`write_references` before the timed runs so no run pays for recording another stack.

The last line on standard output counts what the program registered (its stack, providers, components,
resources and stack references: what the recorder records), so a caller can check the run did the whole
program: ``registered N resources``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import runpy
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.settings import ROOT
from pulumi.runtime.stack import run_in_stack

from offline.recorder import DELEGATION_SET_TYPE, PROJECT, MockCloud, Options, Record, Recording


class CountingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, counting the resources the program registers and reads."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.registered = 0

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        """Count, then answer as the SDK's mock monitor does."""
        self.registered += 1
        return super().RegisterResource(request)

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        """Count, then answer as the SDK's mock monitor does."""
        self.registered += 1
        return super().ReadResource(request)


def references_to_json(references: Mapping[str, Recording]) -> dict[str, Any]:
    """What :class:`MockCloud` reads from referenced recordings: their outputs and delegation sets."""
    return {
        name: {
            "stack": recording.stack,
            "outputs": dict(recording.stack_outputs),
            "delegation_sets": [
                {"urn": r.urn, "name": r.name, "id": r.id, "outputs": dict(r.outputs)}
                for r in recording.of_type(DELEGATION_SET_TYPE)
            ],
        }
        for name, recording in references.items()
    }


def references_from_json(data: Mapping[str, Any]) -> dict[str, Recording]:
    """Recordings holding just what :func:`references_to_json` kept, for :class:`MockCloud`."""
    return {
        name: Recording(
            entry["stack"],
            tuple(
                Record(s["urn"], DELEGATION_SET_TYPE, s["name"], None, True, {}, Options(), s["id"], s["outputs"])
                for s in entry["delegation_sets"]
            ),
            entry["outputs"],
            (),
        )
        for name, entry in data.items()
    }


def write_references(stack: str, path: Path) -> dict[str, str]:
    """Record the stacks ``stack`` references into ``path``; return the environment that gives it its config.

    Called once per stack before the timed runs, in a process of its own.
    """
    from offline.recorder import program_config, referenced_recordings

    config, secret_keys = program_config(stack)
    path.write_text(json.dumps(references_to_json(referenced_recordings(stack, config))))
    return config_environment(config, secret_keys)


def config_environment(config: Mapping[str, Any], secret_keys: Sequence[str]) -> dict[str, str]:
    """The variables the language host sets for the program: every value a string, structured ones as JSON."""
    values = {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}
    return {"PULUMI_CONFIG": json.dumps(values), "PULUMI_CONFIG_SECRET_KEYS": json.dumps(list(secret_keys))}


def _run_program(program: str) -> None:
    runpy.run_path(program, run_name="__main__")


def main(argv: Sequence[str] | None = None) -> int:
    """Run PROGRAM as the language host would; return the exit code (0, or 1 when the program failed)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.cli", description="Run a Pulumi program as the CLI's Python language host would."
    )
    parser.add_argument("--stack", required=True, help="the stack name (its config comes from PULUMI_CONFIG)")
    parser.add_argument("--project", default=PROJECT)
    parser.add_argument("--parallel", type=int, default=4 * (os.cpu_count() or 1), help="the CLI's default")
    parser.add_argument("--references", type=Path, help="JSON of referenced stacks (write_references)")
    parser.add_argument("PROGRAM", help="the program directory or file, as the CLI passes it")
    parser.add_argument("ARGS", nargs="*", help="arguments for the program (its sys.argv[1:])")
    args = parser.parse_args(argv)

    pulumi.runtime.set_all_config(pulumi.runtime.get_config_env(), pulumi.runtime.get_config_secret_keys_env())
    # The loop first: set_mocks registers a root stack, whose futures must belong to the loop the program runs on.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    references = references_from_json(json.loads(args.references.read_text())) if args.references else {}
    monitor = CountingMonitor(MockCloud(references))
    pulumi.runtime.set_mocks(monitor.mocks, project=args.project, stack=args.stack, preview=True, monitor=monitor)
    # That root stack is finished at once; run_in_stack makes the program's own, as under the CLI.
    ROOT.set(None)
    sys.argv = [args.PROGRAM, *args.ARGS]

    executor = ThreadPoolExecutor(max_workers=max(args.parallel, 1) * 4)
    loop.set_default_executor(executor)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    code = 1
    try:
        loop.run_until_complete(run_in_stack(lambda: _run_program(args.PROGRAM)))
        code = 0
    except pulumi.RunError as exc:
        print(f"error: {exc}", file=sys.stderr)
    finally:
        executor.shutdown(wait=True)
        loop.close()
    # set_mocks' own root stack is not the program's.
    print(f"registered {monitor.registered - 1} resources")
    sys.stdout.flush()
    sys.stderr.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
