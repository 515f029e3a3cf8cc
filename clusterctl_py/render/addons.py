"""Cluster add-ons as CAAPH HelmChartProxies: Cilium, Hetzner CCM, Hetzner CSI.

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
from providers.hetzner.render import TOKEN_KEY, TOKEN_SECRET

if TYPE_CHECKING:
    from clusterctl_py.spec import ClusterSpec, PlatformSpec
    from providers.base import Manifest

API_VERSION = "addons.cluster.x-k8s.io/v1alpha1"
KIND = "HelmChartProxy"

# One label per add-on on the Cluster, so a cluster can opt out of one of them.
CNI_LABEL = "clusterctl-py.dev/cni"
CCM_LABEL = "clusterctl-py.dev/ccm"
CSI_LABEL = "clusterctl-py.dev/csi"

CILIUM_REPO = "https://helm.cilium.io/"
HETZNER_REPO = "https://charts.hetzner.cloud"
RELEASE_NAMESPACE = "kube-system"

# Hetzner Cloud private networks carry 1450-byte frames; Cilium subtracts its
# VXLAN overhead from this, so pod traffic between nodes is never fragmented.
HETZNER_NETWORK_MTU = 1450


def cluster_labels(cluster: ClusterSpec) -> dict[str, str]:
    """Labels the Cluster object needs so the add-on proxies select it."""
    del cluster  # every cluster gets the same add-ons today; the hook stays per cluster
    return {CNI_LABEL: "cilium", CCM_LABEL: "hcloud", CSI_LABEL: "hcloud"}


def _chart_version(tag: str) -> str:
    # Hetzner's charts are versioned like their releases, without the "v".
    return tag.removeprefix("v")


def _proxy(
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
                    selector_label: cluster_labels(cluster)[selector_label],
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
        "MTU": HETZNER_NETWORK_MTU,
        # kubeadm installs kube-proxy; replacing it would need k8sServiceHost.
        "kubeProxyReplacement": False,
        # Two operator replicas with anti-affinity leave one Pending forever
        # on a single control-plane node with no workers yet.
        "operator": {"replicas": 1 if cluster.control_plane.replicas == 1 else 2},
    }


def ccm_values(spec: PlatformSpec, cluster: ClusterSpec) -> dict:
    # CAPH copies the management cluster's token secret into the workload
    # cluster's kube-system under the same name and key, adding `network`
    # (the private network's id) unless skipCreatingHetznerSecretInWorkloadCluster.
    token = {"valueFrom": {"secretKeyRef": {"name": TOKEN_SECRET, "key": TOKEN_KEY}}}
    return {
        "networking": {
            "enabled": True,
            "clusterCIDR": cluster.pod_cidr,
            "network": {"valueFrom": {"secretKeyRef": {"name": TOKEN_SECRET, "key": "network"}}},
        },
        "env": {
            "HCLOUD_TOKEN": token,
            # Cilium tunnels pod traffic, so no routes in the private network.
            "HCLOUD_NETWORK_ROUTES_ENABLED": {"value": "false"},
            # Without a location (or an annotation per Service) no load balancer is created.
            "HCLOUD_LOAD_BALANCERS_LOCATION": {"value": spec.location_of(cluster)},
            "HCLOUD_LOAD_BALANCERS_USE_PRIVATE_IP": {"value": "true"},
        },
    }


def csi_values(spec: PlatformSpec, cluster: ClusterSpec) -> dict:
    return {
        "controller": {
            "hcloudToken": {"existingSecret": {"name": TOKEN_SECRET, "key": TOKEN_KEY}},
            "hcloudVolumeDefaultLocation": spec.location_of(cluster),
        }
    }


def render_addons(spec: PlatformSpec, cluster: ClusterSpec) -> list[Manifest]:
    """The cluster's HelmChartProxies, CNI first."""
    return [
        _proxy(cluster, "cilium", CNI_LABEL, CILIUM_REPO, "cilium", versions.CILIUM, cilium_values(cluster)),
        _proxy(
            cluster,
            "hcloud-ccm",
            CCM_LABEL,
            HETZNER_REPO,
            "hcloud-cloud-controller-manager",
            _chart_version(versions.HCLOUD_CCM),
            ccm_values(spec, cluster),
        ),
        _proxy(
            cluster,
            "hcloud-csi",
            CSI_LABEL,
            HETZNER_REPO,
            "hcloud-csi",
            _chart_version(versions.HCLOUD_CSI),
            csi_values(spec, cluster),
        ),
    ]
