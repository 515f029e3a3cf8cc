"""Hetzner's add-ons for a workload cluster: the cloud controller and the CSI driver.

The core wraps each (release, label, repo, chart, version, values) tuple in a
CAAPH HelmChartProxy (clusterctl_py/render/addons.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clusterctl_py import versions
from clusterctl_py.render.addons import CCM_LABEL, CSI_LABEL
from clusterctl_py.providers.hetzner.render import TOKEN_KEY, TOKEN_SECRET

if TYPE_CHECKING:
    from clusterctl_py.spec import ClusterSpec, PlatformSpec

HETZNER_REPO = "https://charts.hetzner.cloud"
# On every volume the CSI driver creates, with the cluster's name: the driver's own labels
# (managed-by, pvc-name, pvc-namespace, pv-name) do not say which cluster a volume
# belongs to, and `cleanup` must find a deleted cluster's volumes.
VOLUME_CLUSTER_LABEL = "clusterctl-py.dev/cluster"


def _chart_version(tag: str) -> str:
    # Hetzner's charts are versioned like their releases, without the "v".
    return tag.removeprefix("v")


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
            # The chart turns this map into HCLOUD_VOLUME_EXTRA_LABELS="k=v,..." and the driver
            # adds it to every volume it creates (hetznercloud/csi-driver v2.22.1:
            # chart/templates/controller/deployment.yaml, cmd/main.go, internal/driver/controller.go).
            "volumeExtraLabels": {VOLUME_CLUSTER_LABEL: cluster.name},
        }
    }


def addon_charts(spec: PlatformSpec, cluster: ClusterSpec) -> list[tuple]:
    return [
        (
            "hcloud-ccm",
            CCM_LABEL,
            HETZNER_REPO,
            "hcloud-cloud-controller-manager",
            _chart_version(versions.HCLOUD_CCM),
            ccm_values(spec, cluster),
        ),
        ("hcloud-csi", CSI_LABEL, HETZNER_REPO, "hcloud-csi", _chart_version(versions.HCLOUD_CSI), csi_values(spec, cluster)),
    ]
