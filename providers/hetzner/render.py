"""Objects of CAPH's API group (infrastructure.cluster.x-k8s.io/v1beta1).

Pure functions: spec in, plain dicts out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clusterctl_py.render.meta import metadata
from clusterctl_py.providers.base import Manifest, MachineRole

if TYPE_CHECKING:
    from clusterctl_py.spec import ClusterSpec, PlatformSpec

API_VERSION = "infrastructure.cluster.x-k8s.io/v1beta1"
# The secret CAPH, the CCM and the CSI driver read the API token from.
TOKEN_SECRET = "hcloud"
TOKEN_KEY = "hcloud"


def hetzner_cluster(spec: PlatformSpec, cluster: ClusterSpec, placement_groups: list[str]) -> Manifest:
    from clusterctl_py.providers.hetzner.catalog import LOCATIONS

    hz = spec.hetzner
    location = spec.location_of(cluster)
    body: dict = {
        "controlPlaneRegions": [location],
        "controlPlaneLoadBalancer": {"enabled": True, "type": hz.load_balancer_type, "region": location},
        "hcloudNetwork": {
            "enabled": True,
            "cidrBlock": hz.network_cidr,
            "subnetCidrBlock": hz.subnet_cidr,
            "networkZone": LOCATIONS[location].network_zone,
        },
        "sshKeys": {"hcloud": [{"name": key} for key in hz.ssh_keys]},
        "hetznerSecretRef": {"name": TOKEN_SECRET, "key": {"hcloudToken": TOKEN_KEY}},
    }
    if placement_groups:
        body["hcloudPlacementGroups"] = [{"name": name, "type": "spread"} for name in placement_groups]
    return {
        "apiVersion": API_VERSION,
        "kind": "HetznerCluster",
        "metadata": metadata(cluster.name, cluster),
        "spec": body,
    }


def machine_template_spec(spec: PlatformSpec, role: MachineRole) -> dict:
    inner: dict = {"type": role.machine_type, "imageName": spec.hetzner.image}
    # Also on the template (CAPH falls back to the HetznerCluster's keys only when
    # these are empty: pkg/services/hcloud/server/server.go getSSHKeys), so a key
    # change renames the template and rolls the machines onto the new keys.
    inner["sshKeys"] = [{"name": key} for key in spec.hetzner.ssh_keys]
    if role.placement_group:
        inner["placementGroupName"] = role.placement_group
    return {"template": {"spec": inner}}


def machine_template(cluster: ClusterSpec, name: str, template_spec: dict) -> Manifest:
    return {
        "apiVersion": API_VERSION,
        "kind": "HCloudMachineTemplate",
        "metadata": metadata(name, cluster),
        "spec": template_spec,
    }


def remediation_template(cluster: ClusterSpec, name: str) -> Manifest:
    # Reboot once; if the node stays unhealthy CAPH gives up and CAPI replaces the machine.
    return {
        "apiVersion": API_VERSION,
        "kind": "HCloudRemediationTemplate",
        "metadata": metadata(name, cluster),
        "spec": {"template": {"spec": {"strategy": {"type": "Reboot", "retryLimit": 1, "timeout": "180s"}}}},
    }
