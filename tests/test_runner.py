"""Running a plan: clusters side by side within the bound, failures contained, readable output."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from clusterctl_py import spec as spec_mod
from clusterctl_py.ops.plan import plan
from clusterctl_py.ops.runner import execute, summary
from tests.conftest import platform_data
from tests.support.fake_engine import FakeEngine


def phases(action: str, clusters: int):
    # Bare clusters: the platform stacks have their own tests (tests/test_platform_stacks.py).
    data = platform_data()
    data["clusters"][0].pop("platform")
    data["clusters"] = [dict(data["clusters"][0], name=f"c{i}") for i in range(clusters)]
    return plan(spec_mod.parse(data), action, Path("platform.yaml"), org="acme")


def hold_clusters(engine: FakeEngine, parties: int, timeout: float = 5) -> None:
    """Each cluster run waits until `parties` cluster runs are in progress together.

    Runs that cannot meet (too little concurrency) break the barrier, and the runs fail."""
    barrier = threading.Barrier(parties, timeout=timeout)
    engine.hold = lambda run: barrier.wait() if run.program == "cluster" else None


@pytest.mark.parametrize("action", ["up", "destroy"])
@pytest.mark.parametrize("parallel, clusters, expected", [(1, 4, 1), (2, 6, 2), (3, 6, 3), (8, 6, 6)])
def test_clusters_run_side_by_side_up_to_the_bound(action, parallel, clusters, expected):
    engine = FakeEngine()
    hold_clusters(engine, expected)
    results = execute(action, phases(action, clusters), engine, parallel=parallel, out=io.StringIO())
    assert [r.status for r in results] == ["done"] * (clusters + 2)
    assert engine.max_running == expected


def test_shared_stacks_run_alone_and_around_the_clusters():
    engine = FakeEngine()
    hold_clusters(engine, 3)
    execute("up", phases("up", 3), engine, parallel=4, out=io.StringIO())
    order = [s for _, _, s, *_ in engine.runs]
    assert order[:2] == ["mgmt-management", "mgmt-capi"]
    engine = FakeEngine()
    hold_clusters(engine, 3)
    execute("destroy", phases("destroy", 3), engine, parallel=4, out=io.StringIO())
    order = [s for _, _, s, *_ in engine.runs]
    assert order[3:] == ["mgmt-capi", "mgmt-management"]


def test_a_failing_cluster_lets_the_others_of_its_batch_finish():
    engine = FakeEngine(fail_on="mgmt-cluster-c1")
    hold_clusters(engine, 4)
    results = execute("up", phases("up", 4), engine, parallel=4, out=io.StringIO())
    assert {r.run.stack: r.status for r in results} == {
        "mgmt-management": "done", "mgmt-capi": "done",
        "mgmt-cluster-c0": "done", "mgmt-cluster-c1": "failed", "mgmt-cluster-c2": "done", "mgmt-cluster-c3": "done",
    }
    assert "  mgmt-cluster-c1  failed: hcloud:index/server:Server mgmt-cluster-c1-server: server limit reached" in summary("up", results)


def test_side_by_side_lines_name_their_stack_even_on_a_terminal():
    out = io.StringIO()
    engine = FakeEngine(fail_on="mgmt-cluster-c0")
    hold_clusters(engine, 2)
    execute("up", phases("up", 2), engine, parallel=2, out=out, tty=True)
    text = out.getvalue()
    cluster_lines = [line for line in text.split("\n") if "cluster-c" in line]
    assert cluster_lines and all(line.startswith(("[3/4] mgmt-cluster-c0: ", "[4/4] mgmt-cluster-c1: ")) for line in cluster_lines)
    assert "[3/4] mgmt-cluster-c0: error mgmt-cluster-c0-server: server limit reached" in cluster_lines
    assert not any("\r" in line for line in cluster_lines)


def lines_of(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_preview_counts_the_changes_and_not_what_stays_the_same():
    engine = FakeEngine()
    engine.changes = {"update": 2, "same": 5, "delete": 0, "create": 1, "replace": 1}
    results = execute("preview", phases("preview", 1), engine, out=io.StringIO())
    assert "  mgmt-management  previewed: 1 to create, 1 to replace, 2 to update" in summary("preview", results)
    engine.changes = {"same": 3}
    results = execute("preview", phases("preview", 1), engine, out=io.StringIO())
    assert "  mgmt-management  previewed: no changes" in summary("preview", results)


def test_preview_says_what_it_cannot_preview_yet_and_goes_on():
    engine = FakeEngine(fail_on="mgmt-management", existing={"mgmt-management", "mgmt-cluster-c0"})
    out = io.StringIO()
    results = execute("preview", phases("preview", 2), engine, out=out)
    # A failed preview stops nothing: the stacks after it are still previewed where they can be.
    assert summary("preview", results) == [
        "  mgmt-management  failed: hcloud:index/server:Server mgmt-management-server: server limit reached",
        "  mgmt-capi        would be created: 1 to create (previewed in a temporary stack, removed again)",
        "  mgmt-cluster-c0  cannot be previewed before mgmt-capi exist(s): it reads their outputs; `up` creates them",
        "  mgmt-cluster-c1  would be created; cannot be previewed before mgmt-capi exist(s): it reads their outputs; `up` creates them",
    ]
    assert [s for _, _, s, *_ in engine.runs] == ["mgmt-management", "mgmt-capi"]
    assert "[3/4] mgmt-cluster-c0: cannot be previewed before mgmt-capi exist(s): it reads their outputs; `up` creates them" in lines_of(out)
    assert [r.failed for r in results] == [True, False, False, False]


def test_up_of_one_cluster_without_the_shared_stacks_touches_nothing():
    data = platform_data()
    data["clusters"][0].pop("platform")
    spec = spec_mod.parse(data)
    one = plan(spec, "up", Path("platform.yaml"), org="acme", cluster=data["clusters"][0]["name"])
    for existing, needs in ((set(), "mgmt-management and mgmt-capi"), ({"mgmt-management"}, "mgmt-capi")):
        engine = FakeEngine(existing=existing)
        out = io.StringIO()
        results = execute("up", one, engine, out=out)
        why = f"needs {needs}, which does not exist yet; run `up` without --cluster first"
        assert summary("up", results) == [f"  mgmt-cluster-prod  failed: {why}"]
        assert lines_of(out) == [f"[1/1] mgmt-cluster-prod: {why}"]
        assert engine.runs == []


def test_a_failure_stops_the_phases_after_it():
    engine = FakeEngine(fail_on="mgmt-capi")
    results = execute("up", phases("up", 2), engine, out=io.StringIO())
    assert summary("up", results)[1:] == [
        "  mgmt-capi        failed: hcloud:index/server:Server mgmt-capi-server: server limit reached",
        "  mgmt-cluster-c0  not run because mgmt-capi failed",
        "  mgmt-cluster-c1  not run because mgmt-capi failed",
    ]
    assert [r.failed for r in results] == [False, True, True, True]
    assert [s for _, _, s, *_ in engine.runs] == ["mgmt-management", "mgmt-capi"]


def test_destroy_keeps_the_shared_stacks_while_clusters_failed():
    engine = FakeEngine()
    engine.hold = lambda run: (_ for _ in ()).throw(ValueError(f"surprise in {run.stack}")) if run.program == "cluster" else None
    out = io.StringIO()
    results = execute("destroy", phases("destroy", 2), engine, out=out)
    # Not only engine errors: anything one stack raises is its own failure, named by its type.
    assert summary("destroy", results) == [
        "  mgmt-cluster-c1  failed: ValueError: surprise in mgmt-cluster-c1",
        "  mgmt-cluster-c0  failed: ValueError: surprise in mgmt-cluster-c0",
        "  mgmt-capi        not run because mgmt-cluster-c1, mgmt-cluster-c0 failed (destroying it while clusters may still exist would orphan their servers)",
        "  mgmt-management  not run because mgmt-cluster-c1, mgmt-cluster-c0 failed (destroying it while clusters may still exist would orphan their servers)",
    ]
    assert "[1/4] mgmt-cluster-c1: destroy failed: 0/0 resources in 00:00" in lines_of(out)


def test_destroy_of_missing_stacks_is_no_failure():
    engine = FakeEngine(existing={"mgmt-capi"})
    out = io.StringIO()
    results = execute("destroy", phases("destroy", 1), engine, out=out)
    assert summary("destroy", results) == [
        "  mgmt-cluster-c0  nothing to destroy for mgmt-cluster-c0: there is no stack acme/clusterctl-cluster/mgmt-cluster-c0",
        "  mgmt-capi        destroyed",
        "  mgmt-management  nothing to destroy for mgmt-management: there is no stack acme/clusterctl-management/mgmt-management",
    ]
    assert not any(r.failed for r in results)
    assert "[1/3] mgmt-cluster-c0: nothing to destroy for mgmt-cluster-c0: there is no stack acme/clusterctl-cluster/mgmt-cluster-c0" in lines_of(out)
    assert "[2/3] mgmt-capi: destroy done: 1/1 resources in 00:00" in lines_of(out)


def test_stacks_run_one_at_a_time_redraw_their_line_on_a_terminal():
    out = io.StringIO()
    execute("up", phases("up", 2), FakeEngine(), parallel=1, out=out, tty=True)
    text = out.getvalue()
    assert "\r\033[K[3/4] mgmt-cluster-c0: 0/1 resources, create hcloud:index/server:Server mgmt-cluster-c0-server" in text
    assert "\r\033[K[4/4] mgmt-cluster-c1: up done: 1/1 resources in" in text
    # Side by side, the clusters print whole lines; the shared stacks, alone in their phase, still redraw.
    out = io.StringIO()
    execute("up", phases("up", 2), FakeEngine(), parallel=2, out=out, tty=True)
    text = out.getvalue()
    assert "\r\033[K[1/4] mgmt-management: 0/1 resources, create hcloud:index/server:Server mgmt-management-server" in text
    assert "\r\033[K[3/4] mgmt-cluster-c0" not in text and "[3/4] mgmt-cluster-c0: up done: 1/1 resources in" in text


class _Broken(FakeEngine):
    """An engine whose cluster stack raises what no engine should (a bug, not an EngineError)."""

    def up(self, run, on_event):
        if run.program == "cluster":
            raise KeyError("outputs")
        return super().up(run, on_event)


@pytest.mark.parametrize("engine", [FakeEngine(fail_on="mgmt-cluster-c0"), _Broken()], ids=["engine error", "unexpected error"])
def test_a_failed_stack_ends_its_progress_with_failed_never_done(engine):
    out = io.StringIO()
    results = execute("up", phases("up", 1), engine, parallel=1, out=out)
    assert [r.status for r in results] == ["done", "done", "failed"]
    lines = [line for line in out.getvalue().splitlines() if line.startswith("[3/3] mgmt-cluster-c0: up ")]
    assert len(lines) == 1 and lines[0].startswith("[3/3] mgmt-cluster-c0: up failed: "), lines
    assert "[2/3] mgmt-capi: up done: " in out.getvalue()


def test_parallel_one_never_runs_two_clusters_at_once():
    # Two cluster runs that wait for each other can only meet if both run at once;
    # with --parallel 1 they never do, so the barrier breaks and both fail.
    engine = FakeEngine()
    hold_clusters(engine, 2, timeout=0.5)
    results = execute("up", phases("up", 2), engine, parallel=1, out=io.StringIO())
    assert [r.status for r in results] == ["done", "done", "failed", "failed"]
    assert engine.max_running == 1
