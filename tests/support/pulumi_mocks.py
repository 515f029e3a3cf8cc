"""Pulumi's documented unit-test mocks, shared by the stack and component tests.

Every resource the program registers is recorded with its inputs; outputs
echo the inputs (plus what a provider would add, via `outputs_for`), and
`pulumi:pulumi:StackReference` answers with the outputs a test provides.
"""

from __future__ import annotations

import itertools
import json
import os
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pulumi
from google.protobuf import json_format
from pulumi.runtime.mocks import MockMonitor

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    resource_id: str


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    stack_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs_for: Callable[[pulumi.runtime.MockResourceArgs], dict[str, Any]] | None = None
    call_results: Callable[[pulumi.runtime.MockCallArgs], dict[str, Any]] | None = None
    resources: list[Registered] = field(default_factory=list)
    calls: list[tuple[str, dict]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ == "pulumi:pulumi:StackReference":
            name = args.inputs.get("name") or args.name
            outputs = self.stack_outputs.get(name, {})
            self.resources.append(Registered(args.typ, args.name, dict(args.inputs), name))
            return name, {"name": name, "outputs": outputs, "secretOutputNames": list(outputs)}
        rid = str(next(self._ids))
        outputs = dict(args.inputs)
        if self.outputs_for:
            outputs.update(self.outputs_for(args) or {})
        self.resources.append(Registered(args.typ, args.name, dict(args.inputs), rid))
        return rid, outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append((args.token, dict(args.args)))
        if self.call_results:
            return self.call_results(args) or {}
        return {}

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.type == typ]

    def named(self, name: str) -> Registered:
        matches = [r for r in self.resources if r.name == name]
        assert len(matches) == 1, f"expected one resource named {name!r}, found {len(matches)}"
        return matches[0]


def set_config(values: dict[str, Any], project: str = "clusterctl", secret_keys: list[str] = ()) -> None:
    """Stack config the way the Pulumi engine hands it to the program (JSON strings for objects)."""
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
    os.environ["PULUMI_CONFIG"] = json.dumps(encoded)
    os.environ["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(secret_keys))
    pulumi.runtime.set_all_config(encoded, list(secret_keys))


def resolve(output: Any) -> Any:
    """Wait for an Output's value inside a test (mocks resolve immediately)."""
    import asyncio

    if not isinstance(output, pulumi.Output):
        return output
    loop = asyncio.get_event_loop()
    return loop.run_until_complete(output.future())


def is_secret(output: Any) -> bool:
    import asyncio

    if not isinstance(output, pulumi.Output):
        return False
    return asyncio.get_event_loop().run_until_complete(output.is_secret())


# Dependencies and resource options are not part of MockResourceArgs; this
# monitor records them from the registration request the SDK sends (the same
# request the engine would receive).

@dataclass
class Request:
    type: str
    name: str
    urn: str
    dependencies: list[str]
    custom_timeouts: dict[str, str]
    ignore_changes: list[str]
    additional_secret_outputs: list[str]
    secret_inputs: set[str]
    read_id: str | None = None


SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # Pulumi's wire marker for a secret value


def plain(value):
    """Inputs with Pulumi's secret wrappers removed."""
    if isinstance(value, dict):
        if value.get(pm_secret_key()) == SECRET_SIG:
            return plain(value["value"])
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def pm_secret_key() -> str:
    return "4dabf18193072939515e22adb298388d"  # Pulumi's special-signature key


def _holds_secret(value) -> bool:
    if isinstance(value, dict):
        return SECRET_SIG in value.values() or any(_holds_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_secret(v) for v in value)
    return False


class RecordingMonitor(MockMonitor):
    """Keeps what the SDK asked for besides inputs; answers exactly like MockMonitor."""

    def __init__(self, mocks):
        super().__init__(mocks)
        self.requests: list[Request] = []

    def _record(self, request, deps, props_struct) -> None:
        props = json_format.MessageToDict(props_struct) if props_struct is not None else {}
        timeouts = getattr(request, "customTimeouts", None)
        self.requests.append(
            Request(
                type=request.type,
                name=request.name,
                urn=self.make_urn(request.parent, request.type, request.name),
                dependencies=list(deps),
                custom_timeouts={
                    k: getattr(timeouts, k) for k in ("create", "update", "delete") if timeouts and getattr(timeouts, k)
                },
                ignore_changes=list(getattr(request, "ignoreChanges", [])),
                additional_secret_outputs=list(getattr(request, "additionalSecretOutputs", [])),
                secret_inputs={k for k, v in props.items() if _holds_secret(v)},
            )
        )

    def RegisterResource(self, request):
        self._record(request, request.dependencies, request.object)
        return super().RegisterResource(request)

    def ReadResource(self, request):
        self._record(request, request.dependencies, request.properties)
        self.requests[-1].read_id = request.id
        return super().ReadResource(request)

    def named(self, name: str) -> Request:
        (match,) = [r for r in self.requests if r.name == name]
        return match


def run_recorded(
    stack: str, mocks: RecordingMocks, *, preview: bool = False, organization: str | None = None
) -> tuple[RecordingMonitor, dict[str, tuple[Any, bool]]]:
    """Run stacks/<stack>/__main__.py with a recording monitor.

    Returns the monitor and the exports as (value, is_secret), resolved before
    a later run resets the runtime.
    """
    import asyncio

    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(
        mocks, project=f"clusterctl-{stack}", stack="test", preview=preview, monitor=monitor, organization=organization
    )
    exported: dict[str, Any] = {}
    original = pulumi.export
    pulumi.export = lambda name, value: exported.__setitem__(name, value) or original(name, value)
    try:
        runpy.run_path(str(REPO / "stacks" / stack / "__main__.py"), run_name="__pulumi_program__")
    finally:
        pulumi.export = original
    asyncio.get_event_loop().run_until_complete(pulumi.runtime.stack.wait_for_rpcs())
    return monitor, {k: (resolve(v), is_secret(v)) for k, v in exported.items()}
