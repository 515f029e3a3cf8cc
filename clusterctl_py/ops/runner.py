"""Run a plan: phases in order, the stacks of a phase side by side, a result per stack.

Each stack is its own Pulumi process (see engine), so the workload clusters
of a phase run concurrently, at most `parallel` at a time. A failing stack
does not stop the others of its phase; it stops the phases after it, which
depend on it (up: clusters need CAPI; destroy: CAPI must outlive every
cluster, or their servers are orphaned).

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
from typing import Callable, Literal, TextIO

from clusterctl_py.errors import ClusterctlError
from clusterctl_py.ops.engine import EngineError, StackEngine, StackMissing
from clusterctl_py.ops.plan import Action, StackRun
from clusterctl_py.ops.progress import Progress

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
    runner = _Runner(action, engine, out, tty, [run for phase in phases for run in phase], before_up or migrate_crds(engine))
    results: list[StackResult] = []
    stopped_by: list[StackResult] = []
    position = 0
    for phase in phases:
        positions = range(position + 1, position + 1 + len(phase))
        position += len(phase)
        if stopped_by:
            names = ", ".join(r.run.stack for r in stopped_by)
            why = f"not run because {names} failed"
            if action == "destroy":
                why += " (destroying it while clusters may still exist would orphan their servers)"
            results += [StackResult(run, "skipped", why) for run in phase]
            continue
        side_by_side = parallel > 1 and len(phase) > 1
        with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(phase)))) as pool:
            done = list(pool.map(lambda item: runner.one(item[1], item[0], side_by_side), zip(positions, phase)))
        results += done
        if action != "preview":
            stopped_by = [r for r in done if r.status == "failed"]
    return results


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
