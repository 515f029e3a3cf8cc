"""How many API requests `describe cluster` makes, and how long it takes, as the cluster grows; prints a table.

    python benchmarks/describe_requests.py [--machines 3,50,200] [--show-machines]

Each row runs what the command runs (`ops.describe.read_state` through the real
`kubernetes` client, then `build_tree` and `render_text`) against the local
Kubernetes API emulator of the test suite (tests/support/kube_api.py), loaded
with one workload cluster of that many machines: 3 control plane, the rest over
two pools, with their MachineSets, HCloudMachines, add-ons and autoscaler.
"requests" is what the emulator saw; "ms" the median wall time of --repeat runs
on a loopback network, so it shows the client's own cost, not a real API's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clusterctl_py.clients.kube import KubeClient, Kubeconfig  # noqa: E402
from clusterctl_py.ops import describe  # noqa: E402
from tests.support import capi_objects as fx  # noqa: E402
from tests.support.kube_api import serve  # noqa: E402


def cluster(machines: int) -> list[dict]:
    control_plane = min(3, machines)
    workers = machines - control_plane
    pools = (fx.Pool("general", workers - workers // 2), fx.Pool("arm", workers // 2))
    return fx.workload_cluster("prod", control_plane=control_plane, pools=tuple(p for p in pools if p.replicas))


def measure(machines: int, repeat: int, show_machines: bool) -> tuple[int, Counter, float, int]:
    with serve(cluster(machines)) as server:
        config = Kubeconfig("emulator", text=yaml.safe_dump(server.kubeconfig()))
        times = []
        for i in range(repeat + 1):  # the first run warms up imports and the SDK's validators, unmeasured
            server.api.clear_log()
            started = time.perf_counter()
            with KubeClient(config) as api:
                state = describe.read_state(api, "prod", None)
            text = describe.render_text(describe.build_tree(state, show_machines=show_machines), datetime.now(timezone.utc))
            if i:
                times.append((time.perf_counter() - started) * 1000)
        verbs = Counter(e.verb for e in server.api.log)
        return len(server.api.log), verbs, statistics.median(times), len(text.splitlines()) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", default="3,50,200", help="comma-separated machine counts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--show-machines", action="store_true", help="render every machine instead of groups")
    args = parser.parse_args()
    print(f"{'machines':>8}  {'requests':>8}  {'get':>4}  {'list':>4}  {'discovery':>9}  {'rows':>5}  {'ms':>7}")
    for n in (int(x) for x in args.machines.split(",")):
        total, verbs, ms, rows = measure(n, args.repeat, args.show_machines)
        print(f"{n:>8}  {total:>8}  {verbs['get']:>4}  {verbs['list']:>4}  {verbs['discovery']:>9}  {rows:>5}  {ms:>7.1f}")


if __name__ == "__main__":
    main()
