"""Time to validate and render N clusters of 5 pools each; prints a table of medians.

    python benchmarks/render.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

from clusterctl_py import spec as spec_mod
from clusterctl_py.render import dump_all, render_cluster

POOLS = [
    {"name": "general", "serverType": "cpx32", "min": 1, "max": 10},
    {"name": "arm", "serverType": "cax21", "max": 20, "labels": {"tier": "batch"}, "taints": [{"key": "batch", "value": "true", "effect": "NoSchedule"}]},
    {"name": "web", "serverType": "cpx42", "min": 2, "max": 12},
    {"name": "db", "serverType": "ccx23", "min": 3, "max": 3},
    {"name": "spot", "serverType": "cx33", "max": 15, "placement": "none"},
]


def platform(n: int) -> dict:
    return {
        "hetzner": {"location": "fsn1", "sshKeys": ["ops"]},
        "clusters": [
            {"name": f"c{i:03d}", "kubernetesVersion": "v1.33.4", "controlPlane": {"replicas": 3, "serverType": "cpx22"}, "pools": POOLS}
            for i in range(n)
        ],
    }


def measure(n: int, repeat: int) -> tuple[float, float, int]:
    data = platform(n)
    validate, render = [], []
    objects = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        spec = spec_mod.parse(data)
        t1 = time.perf_counter()
        docs = [o for c in spec.clusters for o in render_cluster(spec, c)]
        dump_all(docs)
        t2 = time.perf_counter()
        validate.append(t1 - t0)
        render.append(t2 - t1)
        objects = len(docs)
    return statistics.median(validate) * 1e3, statistics.median(render) * 1e3, objects


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"{'clusters':>8} {'objects':>8} {'validate ms':>12} {'render+yaml ms':>15} {'total ms':>9}")
    for n in (1, 10, 100):
        v, r, objects = measure(n, args.repeat)
        print(f"{n:>8} {objects:>8} {v:>12.1f} {r:>15.1f} {v + r:>9.1f}")


if __name__ == "__main__":
    main()
