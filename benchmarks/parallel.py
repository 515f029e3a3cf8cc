"""Wall time of `up` for N workload clusters at several --parallel bounds; prints a table.

    python benchmarks/parallel.py [--clusters 8] [--seconds 0.5] [--parallel 1 2 4 8]

The engine is a stand-in whose cluster stacks each take a fixed time (a
sleep) and whose shared stacks take none, so the figure is what the runner
adds: with 8 clusters, --parallel 1, 2, 4, 8 should take about 8, 4, 2 and
1 "batches" of one cluster's time. Real stacks are Pulumi processes that
mostly wait on Hetzner and on Cluster API, which is why they overlap well.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

from clusterctl_py import spec as spec_mod
from clusterctl_py.ops.plan import plan
from clusterctl_py.ops.runner import execute


class SleepingEngine:
    """A StackEngine whose cluster stacks take `seconds` each."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def organization(self, given):
        return given or "organization"

    def exists(self, run):
        return True

    def up(self, run, on_event):
        if run.program == "cluster":
            time.sleep(self.seconds)
        return {}

    preview = destroy = up


def platform(clusters: int) -> dict:
    pool = {"name": "workers", "serverType": "cpx32", "min": 1, "max": 3}
    return {
        "hetzner": {"location": "fsn1", "sshKeys": ["ops"]},
        "management": {"apiAllowedCidrs": ["198.51.100.7/32"]},
        "clusters": [{"name": f"c{i}", "kubernetesVersion": "v1.34.2", "pools": [pool]} for i in range(clusters)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=0.5, help="time one cluster stack takes")
    parser.add_argument("--parallel", type=int, nargs="+", default=[1, 2, 4, 8])
    args = parser.parse_args()

    spec = spec_mod.parse(platform(args.clusters))
    phases = plan(spec, "up", Path("platform.yaml"), org="organization")
    engine = SleepingEngine(args.seconds)
    print(f"{args.clusters} clusters, {args.seconds:.2f} s each")
    print(f"{'--parallel':>10}  {'wall s':>7}  {'batches':>7}  {'expected':>8}")
    for bound in args.parallel:
        start = time.perf_counter()
        results = execute("up", phases, engine, parallel=bound, out=io.StringIO())
        wall = time.perf_counter() - start
        assert all(r.status == "done" for r in results)
        expected = -(-args.clusters // bound)
        print(f"{bound:>10}  {wall:>7.2f}  {wall / args.seconds:>7.2f}  {expected:>8}")


if __name__ == "__main__":
    main()
