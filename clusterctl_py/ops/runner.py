"""Run a plan: phases in order, the stacks of a phase side by side, a result per stack.

Each stack is its own Pulumi process (see engine), so the workload clusters
of a phase run concurrently, at most `parallel` at a time. A failing stack
does not stop the others of its phase; it stops the stacks after it that
depend on it (`StackRun.needs`): on up, those that read it (clusters need
CAPI, a platform its cluster); on destroy, those it reads (CAPI must outlive
every cluster, or their servers are orphaned; a cluster its platform, or the
platform's load balancer and volumes are left behind). A platform whose
cluster came up still runs when another cluster failed.

Right before a stack's `up`, `before_up` may do what Pulumi cannot: by
default the stored-version migration of CRDs before the capi stack applies
a release (ops/crd_migration.py). If it fails, the stack is not run and
counts as failed.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal, TextIO

from clusterctl_py.errors import ClusterctlError, Problem
from clusterctl_py.ops.engine import EngineError, StackEngine, StackMissing
from clusterctl_py.ops.plan import Action, StackRun, removed_platforms
from clusterctl_py.ops.progress import Progress

if TYPE_CHECKING:
    from clusterctl_py.spec import PlatformSpec

Status = Literal["done", "new", "missing", "blocked", "failed", "skipped"]
# Runs right before a stack's `up`, with a callable for progress lines; raises to keep the stack from running.
BeforeUp = Callable[[StackRun, Callable[[str], None]], None]


def migrate_crds(engine: StackEngine) -> BeforeUp:
    """The default `before_up`: CRD stored versions, before the capi stack (a no-op for the others)."""

    def step(run: StackRun, note: Callable[[str], None]) -> None:
        from clusterctl_py.ops.crd_migration import before_capi_up

        before_capi_up(run, engine, note)

    return step


@dataclass(frozen=True)
class StackResult:
    run: StackRun
    status: Status
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "skipped")


def _changes(changes: dict[str, int]) -> str:
    shown = [f"{n} to {op}" for op, n in sorted(changes.items()) if n and op != "same"]
    return ", ".join(shown) or "no changes"


class _Runner:
    def __init__(
        self, action: Action, engine: StackEngine, out: TextIO, tty: bool | None, planned: list[StackRun], before_up: BeforeUp
    ):
        self.action = action
        self.engine = engine
        self.before_up = before_up
        self.out = out
        self.tty = tty
        self.total = len(planned)
        self.planned = {run.name for run in planned}
        self.lock = threading.Lock()
        self.known: dict[str, bool] = {}

    def exists(self, run: StackRun) -> bool:
        if run.name not in self.known:
            self.known[run.name] = self.engine.exists(run)
        return self.known[run.name]

    def one(self, run: StackRun, position: int, side_by_side: bool) -> StackResult:
        progress = Progress(position, self.total, run.stack, self.action, self.out, self.tty, redraw=not side_by_side, lock=self.lock)
        try:
            if self.action == "up":
                absent = [need.stack for need in run.needs if need.name not in self.planned and not self.exists(need)]
                if absent:
                    # Its StackReferences would fail half-way; say why before touching it.
                    why = f"needs {' and '.join(absent)}, which does not exist yet; run `up` without --cluster first"
                    progress.note(why)
                    return StackResult(run, "failed", why)
                try:
                    self.before_up(run, progress.note)
                except EngineError:
                    raise
                except ClusterctlError as exc:
                    # Nothing of this stack ran: say why, on one line per problem.
                    for line in exc.lines():
                        progress.note(line)
                    return StackResult(run, "failed", "; ".join(exc.lines()))
                self.engine.up(run, progress)
                result = StackResult(run, "done")
            elif self.action == "destroy":
                self.engine.destroy(run, progress)
                result = StackResult(run, "done")
            else:
                result = self.preview(run, progress)
                if result.status == "blocked":
                    progress.note(result.detail)
                    return result
        except StackMissing as exc:
            progress.note(str(exc))
            return StackResult(run, "missing", str(exc))
        except EngineError as exc:
            progress.finish(ok=False)
            return StackResult(run, "failed", str(exc))
        except Exception as exc:  # noqa: BLE001 - one stack's surprise must not stop the others
            progress.finish(ok=False)
            return StackResult(run, "failed", f"{type(exc).__name__}: {exc}")
        progress.finish(ok=True)
        return result

    def preview(self, run: StackRun, progress: Progress) -> StackResult:
        new = not self.exists(run)
        absent = [need.stack for need in run.needs if not self.exists(need)]
        if absent:
            # Its StackReferences would fail: there is nothing to read yet.
            what = "would be created; " if new else ""
            return StackResult(run, "blocked", f"{what}cannot be previewed before {' and '.join(absent)} exist(s): it reads their outputs; `up` creates them")
        changes = _changes(self.engine.preview(run, progress))
        if new:
            return StackResult(run, "new", f"would be created: {changes} (previewed in a temporary stack, removed again)")
        return StackResult(run, "done", changes)


def left_platforms(spec: PlatformSpec, platform_file: Path, engine: StackEngine, *, org: str,
                   cluster: str | None = None) -> list[Problem]:
    """Platform stacks whose cluster's `platform` section was removed, one problem each.

    `up` does not delete them: deleting a platform deletes Knative, Kourier
    with its load balancer and the CloudNativePG operator (their CRDs and
    the apps' objects stay), which takes every app of the cluster offline;
    an edit of the spec should not do that.
    """
    index = {c.name: i for i, c in enumerate(spec.clusters)}
    problems = []
    for run in removed_platforms(spec, platform_file, org=org, cluster=cluster):
        if not engine.exists(run):
            continue
        name = run.config["clusterctl:cluster"]
        problems.append(Problem(
            f"clusters[{index[name]}].platform",
            f"not set, but cluster {name} still has its platform stack {run.name}, which its apps run on (Knative, the"
            " ingress load balancer, the database operator); `up` never deletes a platform: put the section back, or delete the platform first"
            f" with `pulumi destroy --stack {run.name}` in stacks/platform (or `clusterctl-py destroy --cluster {name}`,"
            " which deletes the cluster too)",
        ))
    return problems


def execute(
    action: Action,
    phases: list[list[StackRun]],
    engine: StackEngine,
    *,
    parallel: int = 4,
    out: TextIO | None = None,
    tty: bool | None = None,
    before_up: BeforeUp | None = None,
) -> list[StackResult]:
    out = out or sys.stderr
    # Stacks planned only in case they exist (a removed platform section's): the others are left out.
    phases = [p for p in ([run for run in phase if not run.if_exists or engine.exists(run)] for phase in phases) if p]
    runner = _Runner(action, engine, out, tty, [run for phase in phases for run in phase], before_up or migrate_crds(engine))
    results: list[StackResult] = []
    # Stack name -> the failed stacks that keep it (and what waits for it) from running.
    stopped: dict[str, list[str]] = {}
    position = 0
    for phase in phases:
        positions = range(position + 1, position + 1 + len(phase))
        position += len(phase)
        held = {run.name: _held_by(action, run, results, stopped) for run in phase}
        ready = [(pos, run) for pos, run in zip(positions, phase) if not held[run.name]]
        side_by_side = parallel > 1 and len(ready) > 1
        with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(ready) or 1))) as pool:
            done = {r.run.name: r for r in pool.map(lambda item: runner.one(item[1], item[0], side_by_side), ready)}
        for run in phase:
            if held[run.name]:
                stopped[run.name] = held[run.name]
                results.append(StackResult(run, "skipped", _why_not(action, run, held[run.name])))
            else:
                results.append(done[run.name])
                if action != "preview" and done[run.name].status == "failed":
                    stopped[run.name] = [run.stack]
    return results


def _held_by(action: Action, run: StackRun, results: list[StackResult], stopped: dict[str, list[str]]) -> list[str]:
    """The failed stacks that keep `run` from running: up needs what it reads to be there;
    destroy must keep what a stack that is still there reads. A preview stops nothing."""
    roots: list[str] = []
    if action == "preview":
        return roots
    for r in results:
        if r.run.name not in stopped:
            continue
        if action == "up":
            blocks = any(need.name == r.run.name for need in run.needs)
        else:
            blocks = any(need.name == run.name for need in r.run.needs)
        if blocks:
            roots += [name for name in stopped[r.run.name] if name not in roots]
    return roots


def _why_not(action: Action, run: StackRun, roots: list[str]) -> str:
    why = f"not run because {', '.join(roots)} failed"
    if action == "destroy" and run.program == "cluster":
        why += " (destroying the cluster first would leave its platform's load balancer and volumes behind)"
    elif action == "destroy":
        why += " (destroying it while clusters may still exist would orphan their servers)"
    return why


def summary(action: Action, results: list[StackResult]) -> list[str]:
    """One line per stack, in plan order."""
    width = max((len(r.run.stack) for r in results), default=0)
    words = {"up": "up done", "destroy": "destroyed", "preview": "previewed"}
    lines = []
    for r in results:
        if r.status == "done":
            text = words[action] + (f": {r.detail}" if r.detail else "")
        elif r.status == "failed":
            text = f"failed: {r.detail}"
        else:
            text = r.detail
        lines.append(f"  {r.run.stack:<{width}}  {text}")
    return lines
