"""Time to validate and render N clusters of 5 pools each; prints a table of medians.

    python benchmarks/render.py [--repeat 7] [--sizes 1 10 100]

"validate" is spec.parse (pydantic + catalog checks) of the whole platform,
"render" is render_cluster for every cluster, "yaml" is dump_all of all the
objects, and "together" times the three in one go (measured separately, not
summed), which is what `generate cluster` pays per cluster plus start-up.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from clusterctl_py import spec as spec_mod
from clusterctl_py.render import dump_all, render_cluster

POOLS: list[dict[str, Any]] = [
    {"name": "general", "serverType": "cpx32", "min": 1, "max": 10},
    {
        "name": "arm",
        "serverType": "cax21",
        "max": 20,
        "labels": {"tier": "batch"},
        "taints": [{"key": "batch", "value": "true", "effect": "NoSchedule"}],
    },
    {"name": "web", "serverType": "cpx42", "min": 2, "max": 12, "labels": {"example.com/team": "shop"}},
    {"name": "db", "serverType": "ccx23", "min": 3, "max": 3},
    {"name": "spot", "serverType": "cx33", "max": 15, "placement": "none"},
]


def platform(n: int) -> dict[str, Any]:
    """A platform with n clusters of the five pools above."""
    return {
        "hetzner": {"location": "fsn1", "sshKeys": ["ops"]},
        "clusters": [
            {
                "name": f"c{i:03d}",
                "kubernetesVersion": "v1.33.4",
                "controlPlane": {"replicas": 3, "serverType": "cpx22"},
                "pools": POOLS,
            }
            for i in range(n)
        ],
    }


def _ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


def measure(n: int, repeat: int) -> dict[str, float]:
    data = platform(n)
    validate, render, dump, together = [], [], [], []
    objects = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        spec = spec_mod.parse(data)
        t1 = time.perf_counter()
        docs = [o for c in spec.clusters for o in render_cluster(spec, c)]
        t2 = time.perf_counter()
        dump_all(docs)
        t3 = time.perf_counter()
        validate.append(t1 - t0)
        render.append(t2 - t1)
        dump.append(t3 - t2)
        objects = len(docs)

        t0 = time.perf_counter()
        spec = spec_mod.parse(data)
        dump_all([o for c in spec.clusters for o in render_cluster(spec, c)])
        together.append(time.perf_counter() - t0)
    return {
        "objects": objects,
        "validate": _ms(validate),
        "render": _ms(render),
        "yaml": _ms(dump),
        "together": _ms(together),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="repetitions per size (median is shown)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100], help="numbers of clusters")
    args = parser.parse_args()
    measure(1, 2)  # warm-up: imports, pydantic and catalog caches
    header = f"{'clusters':>8} {'objects':>8} {'validate ms':>12} {'render ms':>10} {'yaml ms':>9} {'together ms':>12} {'ms/cluster':>11}"
    print(f"median of {args.repeat} runs, {len(POOLS)} pools per cluster")
    print(header)
    for n in args.sizes:
        m = measure(n, args.repeat)
        print(
            f"{n:>8} {m['objects']:>8} {m['validate']:>12.1f} {m['render']:>10.1f} {m['yaml']:>9.1f}"
            f" {m['together']:>12.1f} {m['together'] / n:>11.2f}"
        )


if __name__ == "__main__":
    main()
