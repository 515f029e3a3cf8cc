"""cluster-autoscaler annotations on MachineDeployments.

Min/max make a MachineDeployment a node group. The capacity annotations let
the autoscaler scale a group up from zero: with no node to copy it must be
told what a new node would offer. CAPH fills `status.capacity` only for
templates owned by a Cluster and never reports the architecture, so we
always write them from the catalog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clusterctl_py.providers.base import MachineShape, NodeGroup

if TYPE_CHECKING:
    from clusterctl_py.spec import PoolSpec

MIN_SIZE = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size"
MAX_SIZE = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size"
CAPACITY = "capacity.cluster-autoscaler.kubernetes.io/"
KUBELET_MAX_PODS = 110  # kubelet default; we do not change it


def annotations(
    pool: PoolSpec, group: NodeGroup, shape: MachineShape, region: str, extra_labels: dict[str, str]
) -> dict[str, str]:
    node_labels = {
        "kubernetes.io/arch": shape.arch,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": shape.instance_type,
        "topology.kubernetes.io/region": region,
        **extra_labels,
        **pool.labels,
    }
    out = {
        MIN_SIZE: str(group.min),
        MAX_SIZE: str(group.max),
        CAPACITY + "cpu": str(shape.cpu),
        CAPACITY + "memory": f"{shape.memory_gb:g}G",
        CAPACITY + "ephemeral-disk": f"{shape.disk_gb}G",
        CAPACITY + "maxPods": str(KUBELET_MAX_PODS),
        CAPACITY + "labels": ",".join(f"{k}={v}" for k, v in sorted(node_labels.items())),
    }
    if pool.taints:
        out[CAPACITY + "taints"] = ",".join(f"{t.key}={t.value}:{t.effect}" for t in sorted(pool.taints, key=lambda t: (t.key, t.effect, t.value)))
    return out
