"""How fast, and in how much memory, hostile or broken input is refused; prints a table.

    python benchmarks/bad_input.py [--repeat 5]

Each case goes through `spec.loads` (or `spec.load` for files, `spec.parse` for
data that is already parsed) as `clusterctl-py validate` does, and must end in
a SpecError but the last, which shows the cost of the largest valid input the
limits let through. "ms" is the median wall time, "peak KiB" the largest
Python heap growth tracemalloc saw during one run (it slows the run, so it is
measured apart from the time).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Callable

from clusterctl_py import spec as spec_mod
from clusterctl_py.errors import SpecError

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = (REPO / "examples" / "platform.yaml").read_text()


def alias_bomb(levels: int = 10) -> str:
    """'Billion laughs': level i repeats level i-1 ten times (10**levels strings in all)."""
    lines = [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}' if i else 'x'] * 10)}]" for i in range(levels)]
    return "hetzner: {sshKeys: [ops]}\n" + "\n".join(lines) + f"\nclusters: *l{levels - 1}\n"


def shared_value(depth: int = 30) -> dict:
    """Parsed data whose one bad value is a list shared 2**depth times over."""
    huge: list = ["x"]
    for _ in range(depth):
        huge = [huge, huge]
    return {
        "hetzner": {"sshKeys": ["ops"]},
        "clusters": [
            {
                "name": "a",
                "kubernetesVersion": "v1.33.4",
                "pools": [{"name": "p", "serverType": "cpx22", "max": 1, "taints": [{"key": "k", "effect": huge}]}],
            }
        ],
    }


def many_clusters(max_value: str) -> str:
    """As many small clusters as the YAML value limit lets through (16 values each)."""
    line = (
        "  - {name: c%05d, kubernetesVersion: v1.33.4, namespace: ns%05d,"
        " pools: [{name: w, serverType: cpx22, max: %s}]}\n"
    )
    count = (spec_mod.MAX_YAML_VALUES - 20) // 16
    return "hetzner: {sshKeys: [ops]}\nclusters:\n" + "".join(line % (i, i, max_value) for i in range(count))


def _file(text: str) -> Path:
    f = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    f.write(text)
    f.close()
    return Path(f.name)


def cases() -> dict[str, Callable[[], object]]:
    big = _file(EXAMPLE + "#" * spec_mod.MAX_INPUT_BYTES)
    broken, valid = many_clusters('"2"'), many_clusters("2")
    flat = "hetzner: {sshKeys: [ops]}\nx: [" + "1," * (spec_mod.MAX_INPUT_BYTES // 2 - 30) + "]\n"
    return {
        "max: 1000000000": lambda: spec_mod.loads(EXAMPLE.replace("max: 20", "max: 1000000000")),
        "alias bomb (10**10 values)": lambda: spec_mod.loads(alias_bomb()),
        "nesting 100000 deep": lambda: spec_mod.loads("hetzner: " + "[" * 100_000),
        "number of 100000 digits": lambda: spec_mod.loads(
            "hetzner: {sshKeys: [ops]}\nmanagement: {apiPort: " + "9" * 100_000 + "}\n"
        ),
        "file over 1 MiB": lambda: spec_mod.load(big),
        "value shared 2**30 times": lambda: spec_mod.parse(shared_value()),
        "1 MiB of values: [1,1,1,...]": lambda: spec_mod.loads(flat),
        f"{broken.count('- {')} clusters, each broken": lambda: spec_mod.loads(broken),
        f"{valid.count('- {')} valid clusters (accepted)": lambda: spec_mod.loads(valid),
    }


def run(case: Callable[[], object]) -> tuple[float, int]:
    """Seconds taken and problems found (0: accepted)."""
    start = time.perf_counter()
    try:
        case()
    except SpecError as err:
        return time.perf_counter() - start, len(err.problems)
    return time.perf_counter() - start, 0


def peak(case: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        run(case)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'case':<36} {'ms':>9} {'peak KiB':>9} {'problems':>8}")
    for name, case in cases().items():
        times, problems = [], 0
        for _ in range(args.repeat):
            elapsed, problems = run(case)
            times.append(elapsed)
        print(f"{name:<36} {statistics.median(times) * 1e3:>9.1f} {peak(case) / 1024:>9.0f} {problems:>8}")


if __name__ == "__main__":
    main()
