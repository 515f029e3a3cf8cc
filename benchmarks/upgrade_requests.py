"""How many API requests `upgrade plan` makes per workload cluster, and how long a look takes, as the cluster grows.

    python benchmarks/upgrade_requests.py [--machines 3,50,200]

Each row runs what `upgrade plan` and every look of `upgrade apply` / `up`
run (`ops.upgrade.ApiReader.cluster` through the real `kubernetes` client,
then the pure rules `rollout` and `progress`) against the local Kubernetes
API emulator of the test suite (tests/support/kube_api.py), loaded with one
workload cluster of that many machines mid-upgrade (3 control-plane machines
on the new version, the pools' machines on the old one), and the management
cluster's reads once (`management`: inventory, cert-manager, k3s servers, the
k3s-server Plan). "ms" is the median wall time of --repeat looks on a loopback
network: the client's own cost, not a real API's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clusterctl_py.clients.kube import KubeClient, Kubeconfig  # noqa: E402
from clusterctl_py.ops import upgrade  # noqa: E402
from tests.conftest import platform  # noqa: E402
from tests.support import capi_objects as fx  # noqa: E402
from tests.support import suc  # noqa: E402
from tests.support.kube_api import serve  # noqa: E402

OLD, NEW = "v1.33.4", "v1.34.11"


def objects(machines: int) -> list[dict]:
    workers = machines - 3
    pools = tuple(p for p in (fx.Pool("general", workers - workers // 2, version=OLD), fx.Pool("arm", workers // 2, version=OLD)) if p.replicas)
    return (
        fx.workload_cluster("prod", version=NEW, cp_version=NEW, pools=pools)
        + fx.providers() + fx.cert_manager() + [fx.k3s_server("mgmt-control-plane-1", "v1.33.4+k3s1"), suc.plan_object("v1.33.4+k3s1")]
    )


def measure(machines: int, repeat: int) -> tuple[int, Counter, float, int]:
    spec = platform()
    with serve(objects(machines)) as server:
        with KubeClient(Kubeconfig("emulator", text=yaml.safe_dump(server.kubeconfig()))) as api:
            reader = upgrade.default_reader(spec, api)
            server.api.clear_log()
            reader.management()
            management = len(server.api.log)
            times = []
            for i in range(repeat + 1):  # the first look warms up imports, unmeasured
                server.api.clear_log()
                started = time.perf_counter()
                state = reader.cluster("prod", "prod")
                upgrade.rollout(state)
                upgrade.progress(state, NEW)
                if i:
                    times.append((time.perf_counter() - started) * 1000)
            verbs = Counter(e.verb for e in server.api.log)
            return len(server.api.log), verbs, statistics.median(times), management


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", default="3,50,200", help="comma-separated machine counts (at least 3)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'machines':>8}  {'requests':>8}  {'get':>4}  {'list':>4}  {'ms':>7}  {'management requests':>19}")
    for n in (int(x) for x in args.machines.split(",")):
        total, verbs, ms, management = measure(n, args.repeat)
        print(f"{n:>8}  {total:>8}  {verbs['get']:>4}  {verbs['list']:>4}  {ms:>7.1f}  {management:>19}")


if __name__ == "__main__":
    main()
