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
    data = platform_data()
    data["clusters"] = [dict(data["clusters"][0], name=f"c{i}") for i in range(clusters)]
    return plan(spec_mod.parse(data), action, Path("platform.yaml"), org="acme")


def hold_clusters(engine: FakeEngine, parties: int) -> None:
    """Each cluster run waits until `parties` cluster runs are in progress together.

    Runs that cannot meet (too little concurrency) break the barrier, and the runs fail."""
    barrier = threading.Barrier(parties, timeout=5)
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
