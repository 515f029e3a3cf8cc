"""What a plan makes in a Hetzner project, named as its creators name it (pure).

`preflight` checks this against the live API before `up` spends anything.

- The management stack (clusterctl_py/components/management.py) names its
  network, firewall and placement group after `management.name`, its servers
  and primary IPs `<name>-<i>`, and labels them MANAGEMENT_LABEL=<name>.
- CAPH (syself/cluster-api-provider-hetzner v1.1.8), for each HetznerCluster
  (named after the cluster): the network is named after the HetznerCluster
  (pkg/services/hcloud/network/network.go, createOpts), placement groups
  `<cluster>-<group>` (pkg/services/hcloud/placementgroup/placementgroup.go),
  all labelled `caph-cluster-<cluster>: owned` (api/v1beta1/tags.go,
  NameHetznerProviderOwned; hetznercluster_types.go, ClusterTagKey), servers
  too (pkg/services/hcloud/server/server.go, createLabels). The control-plane
  load balancer is `<cluster>-kube-apiserver-` plus five random characters
  (pkg/services/hcloud/loadbalancer/loadbalancer.go, createOptsFromSpec with
  utils.GenerateName) because we set no `controlPlaneLoadBalancer.name`: no
  fixed name, so none is planned here; its type is
  `hetzner.loadBalancerType`.
- The Hetzner CCM (hetznercloud/hcloud-cloud-controller-manager v1.35.0)
  makes one load balancer for a cluster's platform ingress Service, in the
  cluster's location: lb11 unless the `load-balancer.hetzner.cloud/type`
  annotation says otherwise (internal/hcops/load_balancer.go, Create). It is
  named by the `load-balancer.hetzner.cloud/name` annotation, `<cluster>-ingress`
  (render/platform.py). The CCM looks for the Service's load balancer by its
  `hcloud-ccm/service-uid` label, then by that name, and takes over whatever it
  finds before creating one (hcloud/load_balancers.go EnsureLoadBalancer,
  "Import of load balancers which were created by other means";
  internal/hcops/load_balancer.go GetByName): a load
  balancer of that name that is not this cluster's would be taken over, not
  refused. Once made, it carries the label and is attached to the cluster's
  network (load_balancer.go attachToNetwork): that is how one from an earlier
  run is known.
- Images: CAPH takes the image named `imageName` or labelled
  `caph-image-name=<imageName>`, of the server type's architecture, and
  refuses more than one match (server.go, getServerImage); the management
  servers go through the hcloud Terraform provider, which looks the image up
  by name and architecture (terraform-provider-hcloud
  internal/server/resource.go, Image.GetForArchitecture).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clusterctl_py.providers.base import Footprint, LoadBalancerUse, MachineUse, PlannedObject
from clusterctl_py.providers.hetzner.limits import ROLLOUT_SURGE
from clusterctl_py.render.meta import MANAGEMENT_LABEL

if TYPE_CHECKING:
    from clusterctl_py.spec import ClusterSpec, PlatformSpec

CAPH_OWNED_PREFIX = "caph-cluster-"  # + the HetznerCluster's name, value "owned"
CAPH_IMAGE_LABEL = "caph-image-name"
MANAGEMENT = "the management stack"
CAPH = "CAPH"
CCM = "the Hetzner CCM"
# The only label the CCM puts on a load balancer (internal/hcops/load_balancer.go LabelServiceUID).
CCM_SERVICE_LABEL = "hcloud-ccm/service-uid"


def footprint(provider, spec: PlatformSpec, cluster: str | None = None) -> Footprint:
    machines: list[MachineUse] = []
    objects: list[PlannedObject] = []
    load_balancers: list[LoadBalancerUse] = []
    image = spec.hetzner.image
    if cluster is None:
        m = spec.management
        owner = {MANAGEMENT_LABEL: m.name}
        location = m.location or spec.hetzner.location
        machines.append(MachineUse("management.serverType", m.server_type, location, image, "hetzner.image", None, m.servers, owner))
        for kind in ("network", "firewall", "placement_group"):
            objects.append(PlannedObject(kind, m.name, "management.name", MANAGEMENT, owner))
        for i in range(m.servers):
            for kind in ("server", "primary_ip"):
                objects.append(PlannedObject(kind, f"{m.name}-{i}", "management.name", MANAGEMENT, owner))
    for ci, c in enumerate(spec.clusters):
        if cluster is not None and c.name != cluster:
            continue
        machines += _cluster_machines(provider, spec, ci, c)
        objects += _cluster_objects(provider, spec, ci, c)
        location = spec.location_of(c)
        load_balancers.append(LoadBalancerUse("hetzner.loadBalancerType", spec.hetzner.load_balancer_type, location,
                                              f"{c.name}'s API", CAPH))
        if c.platform is not None:
            load_balancers.append(LoadBalancerUse(f"clusters[{ci}].platform", provider.ingress_load_balancer_type, location,
                                                  f"{c.name}'s ingress", CCM))
    keys = tuple((f"hetzner.sshKeys[{i}]", key) for i, key in enumerate(spec.hetzner.ssh_keys))
    return Footprint(tuple(machines), tuple(objects), keys, tuple(load_balancers))


def _cluster_machines(provider, spec: PlatformSpec, ci: int, c: ClusterSpec) -> list[MachineUse]:
    # The HetznerCluster is named after the cluster (render.hetzner_cluster); CAPH labels servers with its name.
    base, location, image, owner = f"clusters[{ci}]", spec.location_of(c), spec.hetzner.image, {CAPH_OWNED_PREFIX + c.name: "owned"}
    cp = c.control_plane
    uses = [MachineUse(f"{base}.controlPlane.serverType", cp.server_type, location, image, "hetzner.image",
                       CAPH_IMAGE_LABEL, cp.replicas + ROLLOUT_SURGE, owner)]
    for pi, pool in enumerate(c.pools):
        groups = len(provider.node_groups(c, pool))
        uses.append(MachineUse(f"{base}.pools[{pi}].serverType", pool.server_type, location, image, "hetzner.image",
                               CAPH_IMAGE_LABEL, pool.max + ROLLOUT_SURGE * groups, owner))
    return uses


def _cluster_objects(provider, spec: PlatformSpec, ci: int, c: ClusterSpec) -> list[PlannedObject]:
    # Read off the HetznerCluster we render, so these names follow the rendering.
    manifest = provider.infra_cluster(spec, c)
    name, body = manifest["metadata"]["name"], manifest["spec"]
    base, owner = f"clusters[{ci}]", {CAPH_OWNED_PREFIX + name: "owned"}
    objects = []
    network = body.get("hcloudNetwork", {}).get("enabled")
    if network:
        objects.append(PlannedObject("network", name, f"{base}.name", CAPH, owner))
    pool_of = {
        g.placement_group: pi for pi, pool in enumerate(c.pools) for g in provider.node_groups(c, pool) if g.placement_group
    }
    for group in body.get("hcloudPlacementGroups", ()):
        path = f"{base}.pools[{pool_of[group['name']]}].name" if group["name"] in pool_of else f"{base}.name"
        objects.append(PlannedObject("placement_group", f"{name}-{group['name']}", path, CAPH, owner))
    if c.platform is not None and network:
        from clusterctl_py.render.platform import load_balancer_name

        objects.append(PlannedObject("load_balancer", load_balancer_name(c), f"{base}.platform", CCM, {CCM_SERVICE_LABEL: None},
                                     attached_to=name, adopts=True))
    return objects
