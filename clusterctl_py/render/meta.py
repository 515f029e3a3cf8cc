"""Metadata every rendered object carries."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clusterctl_py.spec import ClusterSpec

CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "clusterctl-py"
# On every Hetzner object of the management stack, with the management cluster's name:
# how preflight tells them from someone else's objects of the same name.
MANAGEMENT_LABEL = "clusterctl-py.dev/management"


def labels(cluster: ClusterSpec) -> dict[str, str]:
    # clusterctl move and the autoscaler find a cluster's objects by this label.
    return {CLUSTER_NAME_LABEL: cluster.name, MANAGED_BY_LABEL: MANAGED_BY}


def metadata(name: str, cluster: ClusterSpec, **extra) -> dict:
    meta = {"name": name, "namespace": cluster.ns, "labels": labels(cluster)}
    meta.update(extra)
    return meta
