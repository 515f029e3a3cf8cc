"""Hetzner Cloud through CAPH (cluster-api-provider-hetzner)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from clusterctl_py.providers.base import Dns01Webhook, Footprint, LeftoverRule, MachineRole, MachineShape, Manifest, NodeGroup, PriceList
from clusterctl_py.providers.hetzner import catalog, checks, platform, render
from clusterctl_py.providers.hetzner.catalog import LOCATIONS, SERVER_TYPES
from clusterctl_py.providers.hetzner.limits import GROUP_MAX
from clusterctl_py.providers.hetzner.settings import HetznerSettings

if TYPE_CHECKING:
    from clusterctl_py.errors import Problem
    from clusterctl_py.spec import ClusterSpec, PlatformSpec, PoolSpec

CONTROL_PLANE_GROUP = "control-plane"
# The control plane (at most 5 replicas) has its group to itself: 5 + 1 fits.


def _share(total: int, parts: int, index: int) -> int:
    """Split `total` into `parts` near-equal whole shares, larger ones first."""
    return total // parts + (1 if index < total % parts else 0)


class HetznerProvider:
    name = "hetzner"
    api_group = "infrastructure.cluster.x-k8s.io"
    cluster_kind = "HetznerCluster"
    machine_template_kind = "HCloudMachineTemplate"
    settings_model = HetznerSettings
    credentials_secret = render.TOKEN_SECRET
    credentials_key = render.TOKEN_KEY
    volume_provisioner = platform.VOLUME_PROVISIONER
    # What the platform's ingress Service asks the CCM for (load-balancer.hetzner.cloud/type).
    ingress_load_balancer_type = platform.INGRESS_LB_TYPE

    def network_zone(self, location: str) -> str:
        return LOCATIONS[location].network_zone

    def price_list(self, location: str | None = None) -> PriceList:
        return PriceList(
            source=f"catalog of {catalog.TAKEN_ON}",
            currency="EUR",
            vat_note="list prices without VAT",
            machine={name: st.monthly_eur for name, st in SERVER_TYPES.items()},
            load_balancer=dict(catalog.LOAD_BALANCER_EUR),
            ipv4=catalog.PRIMARY_IPV4_EUR,
        )

    def check(self, spec: PlatformSpec) -> list[Problem]:
        return checks.check(spec)

    def footprint(self, spec: PlatformSpec, cluster: str | None = None) -> Footprint:
        from clusterctl_py.providers.hetzner.footprint import footprint

        return footprint(self, spec, cluster)

    def machine_shape(self, machine_type: str) -> MachineShape:
        st = SERVER_TYPES[machine_type]
        return MachineShape(st.cores, st.memory_gb, st.disk_gb, st.kubernetes_arch, st.name)

    def node_groups(self, cluster: ClusterSpec, pool: PoolSpec) -> list[NodeGroup]:
        if pool.placement == "none":
            return [NodeGroup("", pool.min, pool.max, None)]
        # A pool that may grow past one spread group becomes several node
        # groups of at most GROUP_MAX servers, each in its own group.
        parts = math.ceil(pool.max / GROUP_MAX)
        groups = []
        for i in range(parts):
            suffix = "" if i == 0 else f"-{i + 1}"
            groups.append(NodeGroup(suffix, _share(pool.min, parts, i), _share(pool.max, parts, i), pool.name + suffix))
        return groups

    def control_plane_placement(self, cluster: ClusterSpec) -> str | None:
        return CONTROL_PLANE_GROUP

    def infra_cluster(self, spec: PlatformSpec, cluster: ClusterSpec) -> Manifest:
        groups = [CONTROL_PLANE_GROUP]
        for pool in cluster.pools:
            groups += [g.placement_group for g in self.node_groups(cluster, pool) if g.placement_group]
        return render.hetzner_cluster(spec, cluster, groups)

    def machine_template_spec(self, spec: PlatformSpec, cluster: ClusterSpec, role: MachineRole) -> dict:
        return render.machine_template_spec(spec, role)

    def machine_template(self, cluster: ClusterSpec, name: str, template_spec: dict) -> Manifest:
        return render.machine_template(cluster, name, template_spec)

    def remediation_template(self, cluster: ClusterSpec, name: str) -> Manifest | None:
        return render.remediation_template(cluster, name)

    def addon_charts(self, spec: PlatformSpec, cluster: ClusterSpec) -> list[tuple]:
        from clusterctl_py.providers.hetzner import addons

        return addons.addon_charts(spec, cluster)

    def leftovers(self, name: str, management: bool = False) -> tuple[LeftoverRule, ...]:
        from clusterctl_py.providers.hetzner.leftovers import leftovers

        return leftovers(name, management)

    def load_balancer_annotations(self, spec: PlatformSpec, cluster: ClusterSpec, name: str) -> dict[str, str]:
        return platform.load_balancer_annotations(spec, cluster, name)

    def dns01_webhook(self) -> Dns01Webhook:
        return platform.dns01_webhook()


PROVIDER = HetznerProvider()
