"""Cluster add-ons as CAAPH HelmChartProxies: Cilium here, the rest from the provider.

The add-on provider for Helm (CAAPH) installs each chart into every Cluster
whose labels match the proxy's selector, once the Cluster's API server is
reachable. So add-ons reach the workload cluster through CAPI itself, and
the cluster stack needs no second Kubernetes provider (DESIGN.md section 2).

Pure: spec in, plain dicts out. A HelmChartProxy only selects Clusters in
its own namespace, so each cluster gets its own three proxies there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clusterctl_py import versions
from clusterctl_py.render.meta import CLUSTER_NAME_LABEL, metadata
from clusterctl_py.render.yaml import dump

if TYPE_CHECKING:
    from clusterctl_py.spec import ClusterSpec, PlatformSpec
    from clusterctl_py.providers.base import Manifest

API_VERSION = "addons.cluster.x-k8s.io/v1alpha1"
KIND = "HelmChartProxy"

# One label per add-on on the Cluster, so a cluster can opt out of one of them.
CNI_LABEL = "clusterctl-py.dev/cni"
CCM_LABEL = "clusterctl-py.dev/ccm"
CSI_LABEL = "clusterctl-py.dev/csi"

CILIUM_REPO = "https://helm.cilium.io/"
RELEASE_NAMESPACE = "kube-system"

# Private networks of the clouds we run on carry 1450-byte frames (Hetzner);
# Cilium subtracts its VXLAN overhead from this, so pod traffic is never fragmented.
NETWORK_MTU = 1450


def cluster_labels(cluster: ClusterSpec) -> dict[str, str]:
    """Labels the Cluster object needs so the add-on proxies select it."""
    del cluster  # every cluster gets the same add-ons today; the hook stays per cluster
    return {CNI_LABEL: "cilium", CCM_LABEL: "hcloud", CSI_LABEL: "hcloud"}


def addon_label(selector_label: str, cluster: ClusterSpec) -> str:
    return cluster_labels(cluster)[selector_label]


def proxy(
    cluster: ClusterSpec,
    name: str,
    selector_label: str,
    repo: str,
    chart: str,
    version: str,
    values: dict,
) -> Manifest:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata(f"{cluster.name}-{name}", cluster),
        "spec": {
            "clusterSelector": {
                "matchLabels": {
                    CLUSTER_NAME_LABEL: cluster.name,
                    selector_label: addon_label(selector_label, cluster),
                }
            },
            "repoURL": repo,
            "chartName": chart,
            "version": version,
            "releaseName": name,
            "namespace": RELEASE_NAMESPACE,
            # CAAPH runs valuesTemplate through Go templates; ours has no
            # template actions, so what is rendered here is what is installed.
            "valuesTemplate": dump(values),
        },
    }


def cilium_values(cluster: ClusterSpec) -> dict:
    return {
        # Pod CIDRs per node come from the controller manager, which kubeadm
        # configures from Cluster.spec.clusterNetwork.pods (= podCidr). The
        # CCM's cluster CIDR is the same range, so all three agree.
        "ipam": {"mode": "kubernetes"},
        "k8s": {"requireIPv4PodCIDR": True},
        # Overlay between nodes: works without Hetzner network routes, whose
        # destinations would have to lie inside the private network's range.
        "routingMode": "tunnel",
        "tunnelProtocol": "vxlan",
        "MTU": NETWORK_MTU,
        # kubeadm installs kube-proxy; replacing it would need k8sServiceHost.
        "kubeProxyReplacement": False,
        # Two operator replicas with anti-affinity leave one Pending forever
        # on a single control-plane node with no workers yet.
        "operator": {"replicas": 1 if cluster.control_plane.replicas == 1 else 2},
    }


def render_addons(spec: PlatformSpec, cluster: ClusterSpec) -> list[Manifest]:
    """The cluster's HelmChartProxies: the CNI first, then the provider's (cloud controller, CSI)."""
    cni = proxy(cluster, "cilium", CNI_LABEL, CILIUM_REPO, "cilium", versions.CILIUM, cilium_values(cluster))
    return [cni, *(proxy(cluster, *chart) for chart in spec.provider.addon_charts(spec, cluster))]
