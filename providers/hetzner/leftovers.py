"""What a cluster leaves in a Hetzner project, recognised as its makers label it (pure; `cleanup`).

Exact labels only, never a name prefix: the key `caph-cluster-prod` is not
`caph-cluster-prod2`, so `prod` never matches `prod2` or `prod-old`.

A workload cluster (the HetznerCluster is named after it):
- CAPH (syself/cluster-api-provider-hetzner v1.1.8) labels everything it
  creates `caph-cluster-<HetznerCluster name>: owned` (api/v1beta1/tags.go
  NameHetznerProviderOwned, ResourceLifecycleOwned; hetznercluster_types.go
  ClusterTagKey): servers (pkg/services/hcloud/server/server.go,
  createLabels, with `machine.caph-name` and `machine_type`), the private
  network named after the cluster (network/network.go, labels), placement
  groups `<cluster>-<group>` (placementgroup/placementgroup.go) and the
  control-plane load balancer `<cluster>-kube-apiserver-<5 random>`
  (loadbalancer/loadbalancer.go, createOptsFromSpec). It creates no Primary
  IPs or firewalls of its own: servers get their public addresses from the
  server create (server.go, PublicNet EnableIPv4/EnableIPv6).
- The Hetzner CCM (hetznercloud/hcloud-cloud-controller-manager v1.35.0)
  labels a Service's load balancer only `hcloud-ccm/service-uid: <uid>` and
  names it after the Service (internal/hcops/load_balancer.go LabelServiceUID,
  Create; hcloud/load_balancers.go GetLoadBalancerName): nothing names the
  cluster. With HCLOUD_NETWORK set (the chart's networking.enabled, as our
  values set it) it attaches each to the cluster's network
  (load_balancer.go attachToNetwork), so those on this cluster's network are
  its. It makes no Primary IPs.
- The Hetzner CSI driver (hetznercloud/csi-driver v2.22.1) labels volumes
  `managed-by: csi-driver` and the PVC's names (internal/driver/controller.go)
  plus HCLOUD_VOLUME_EXTRA_LABELS, which our chart values set to
  VOLUME_CLUSTER_LABEL=<cluster> (addons.py). Volumes of a cluster installed
  before that carry no cluster label and are not found.

The management cluster: the management stack labels its network, firewall,
placement group, primary IPs and servers MANAGEMENT_LABEL=<name>
(clusterctl_py/components/management.py).
"""

from __future__ import annotations

from clusterctl_py.providers.base import LeftoverRule
from clusterctl_py.providers.hetzner.addons import VOLUME_CLUSTER_LABEL
from clusterctl_py.providers.hetzner.footprint import CAPH, CAPH_OWNED_PREFIX, CCM, CCM_SERVICE_LABEL, MANAGEMENT
from clusterctl_py.render.meta import MANAGEMENT_LABEL

CSI = "the Hetzner CSI driver"


def leftovers(name: str, management: bool = False) -> tuple[LeftoverRule, ...]:
    if management:
        mine = {MANAGEMENT_LABEL: name}
        return tuple(
            LeftoverRule(kind, mine, MANAGEMENT)
            for kind in ("server", "primary_ip", "firewall", "placement_group", "network")
        )
    owned = {CAPH_OWNED_PREFIX + name: "owned"}
    return (
        LeftoverRule("server", owned, CAPH),
        LeftoverRule("load_balancer", owned, CAPH),
        LeftoverRule("placement_group", owned, CAPH),
        LeftoverRule("network", owned, CAPH),
        LeftoverRule("load_balancer", {CCM_SERVICE_LABEL: None}, CCM, on_found_network=True),
        LeftoverRule("volume", {VOLUME_CLUSTER_LABEL: name}, CSI),
    )
