"""A StackEngine that records each stack run and replays the events a real engine sends.

Thread-safe, since the runner calls it from several threads at once; it
counts how many runs are in progress so tests can see the concurrency, and
`hold(run)` lets a test keep runs open until enough of them have started.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from pulumi.automation import events as ev

from clusterctl_py.ops import engine as engine_mod


def step(kind: str, urn: str, typ: str, op=ev.OpType.CREATE) -> ev.EngineEvent:
    meta = ev.StepEventMetadata(op=op, urn=urn, type=typ, provider="")
    if kind == "pre":
        return ev.EngineEvent(sequence=0, timestamp=0, resource_pre_event=ev.ResourcePreEvent(metadata=meta))
    if kind == "out":
        return ev.EngineEvent(sequence=0, timestamp=0, res_outputs_event=ev.ResOutputsEvent(metadata=meta))
    return ev.EngineEvent(sequence=0, timestamp=0, res_op_failed_event=ev.ResOpFailedEvent(metadata=meta, status=1, steps=1))


def diagnostic(urn: str, message: str) -> ev.EngineEvent:
    return ev.EngineEvent(sequence=0, timestamp=0, diagnostic_event=ev.DiagnosticEvent(message=message, color="raw", severity="error", urn=urn))


class FakeEngine:
    def __init__(self, token: str = "", fail_on: str | None = None, existing: set[str] | None = None):
        self.token = token
        self.fail_on = fail_on
        # Stack names that exist; None: every planned stack exists, but none of those planned
        # only in case they exist (the platform stack of a cluster without a platform section).
        self.existing = existing
        self.runs: list[tuple] = []  # (action, program, stack, config, gets token), in call order
        self.orgs: list[str | None] = []
        self.lock = threading.Lock()
        self.running = 0
        self.max_running = 0
        self.hold: Callable[[Any], None] | None = None  # called with the run, inside it
        self.changes = {"create": 1, "same": 2}  # what a preview reports
        self.stack_outputs: dict[str, dict[str, Any]] = {}  # stack name -> what `outputs` returns
        self.reads: list[str] = []  # stacks whose outputs were read, in call order

    def organization(self, given: str | None) -> str:
        self.orgs.append(given)
        return given or "organization"

    def exists(self, run) -> bool:
        if self.existing is None:
            return not run.if_exists
        return run.stack in self.existing

    def up(self, run, on_event) -> dict[str, Any]:
        self._run("up", run, on_event)
        return {}

    def preview(self, run, on_event) -> dict[str, int]:
        self._run("preview", run, on_event)
        return dict(self.changes)

    def destroy(self, run, on_event) -> None:
        if not self.exists(run):
            raise engine_mod.StackMissing(f"nothing to destroy for {run.stack}: there is no stack {run.name}")
        self._run("destroy", run, on_event)

    def outputs(self, run) -> dict[str, Any]:
        self.reads.append(run.stack)
        if not self.exists(run):
            raise engine_mod.StackMissing(f"there is no stack {run.name}")
        return dict(self.stack_outputs.get(run.stack, {}))

    def _run(self, action, run, on_event) -> None:
        with self.lock:
            self.runs.append((action, run.program, run.stack, dict(run.config), run.hcloud_token))
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            if self.hold:
                self.hold(run)
            urn = f"urn:pulumi:{run.stack}::p::hcloud:index/server:Server::{run.stack}-server"
            on_event(step("pre", f"urn:pulumi:{run.stack}::p::pulumi:pulumi:Stack::p-{run.stack}", "pulumi:pulumi:Stack"))
            on_event(step("pre", urn, "hcloud:index/server:Server"))
            if run.stack == self.fail_on:
                on_event(diagnostic(urn, "server limit reached"))
                on_event(step("fail", urn, "hcloud:index/server:Server"))
                raise engine_mod.EngineError(f"hcloud:index/server:Server {run.stack}-server: server limit reached")
            on_event(step("out", urn, "hcloud:index/server:Server"))
        finally:
            with self.lock:
                self.running -= 1


def use_fake_engine(monkeypatch, tmp_path, engine: "FakeEngine | None" = None) -> "FakeEngine":
    """Let `up`, `scale` and `upgrade apply` run on a FakeEngine.

    The CLI only checks that a `pulumi` executable is on PATH before it asks
    for the engine, so a stand-in that does nothing is enough.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    exe = bin_dir / "pulumi"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    engine = engine or FakeEngine()
    monkeypatch.setattr(engine_mod, "default_engine", lambda token: engine)
    return engine
