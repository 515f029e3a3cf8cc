"""The contract between the provider-neutral core and one infrastructure provider.

The core renders everything Cluster API owns (Cluster, control plane,
MachineDeployments, bootstrap config, health checks); a provider renders
only the objects of its own API group and answers questions about its
machines. A docker (CAPD) provider implements the same few methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Protocol

if TYPE_CHECKING:
    from clusterctl_py.errors import Problem
    from clusterctl_py.spec import ClusterSpec, PlatformSpec, PoolSpec

Manifest = dict[str, Any]


@dataclass(frozen=True, slots=True)
class MachineShape:
    """What the autoscaler needs to know about a machine it has not started yet."""

    cpu: int
    memory_gb: float
    disk_gb: int
    arch: str  # kubernetes.io/arch value: amd64 or arm64
    instance_type: str


@dataclass(frozen=True, slots=True)
class NodeGroup:
    """One MachineDeployment's share of a pool.

    Providers may split a pool (Hetzner: a spread placement group holds at
    most 10 servers); `suffix` is appended to the pool name, "" for the first.
    """

    suffix: str
    min: int
    max: int
    placement_group: str | None


@dataclass(frozen=True, slots=True)
class PriceList:
    """Monthly prices in one currency: from an offline catalog, or from the provider's API (`cost --live`)."""

    source: str  # "catalog of 2026-11-24", "Hetzner API"
    currency: str
    vat_note: str  # how the prices treat VAT, as their source gives them
    machine: Mapping[str, float]  # machine type -> monthly price of one machine
    load_balancer: Mapping[str, float]
    ipv4: float  # one public IPv4 address
    # Where prices differ by location (the API gives them per location): location -> its prices.
    locations: Mapping[str, "PriceList"] = field(default_factory=dict)

    def at(self, location: str) -> "PriceList":
        """The prices in `location` (these, where the list has none of its own for it)."""
        return self.locations.get(location, self)


@dataclass(frozen=True, slots=True)
class MachineUse:
    """Machines of one type that a plan may run in one location (what `preflight` checks live)."""

    path: str  # the spec field that chose the type, e.g. clusters[0].pools[1].serverType
    machine_type: str
    location: str
    image: str
    image_path: str  # the spec field that chose the image
    # A label whose value also names the image (CAPH also takes snapshots labelled so); None: by name only.
    image_label: str | None
    max_count: int  # at maximum scale, rollout surge included
    owner: Mapping[str, str]  # labels these machines carry, to count those that run already


@dataclass(frozen=True, slots=True)
class PlannedObject:
    """An object with a fixed name that a plan creates through the provider's API."""

    kind: str  # network | placement_group | firewall | primary_ip | server | load_balancer
    name: str
    path: str  # the spec field the name comes from
    creator: str  # who creates it, for messages: "the management stack", "CAPH"
    # Labels that mark it as made for this platform (by an earlier run): such an object is no clash.
    # A value None: the key with any value (a maker that puts no platform name in its labels).
    owner: Mapping[str, str | None]
    # A planned network's name: an existing object is this platform's only when it is also attached
    # to that network, itself this platform's (the maker labels it with nothing naming the cluster).
    attached_to: str | None = None
    # Its maker takes over an existing object of that name instead of failing: a clash is not loud later.
    adopts: bool = False


@dataclass(frozen=True, slots=True)
class LoadBalancerUse:
    """One load balancer a plan makes (priced by `cost --live`, listed by `preflight`)."""

    path: str  # the spec field it comes from, e.g. hetzner.loadBalancerType, clusters[0].platform
    load_balancer_type: str
    location: str
    role: str  # for messages: "prod's API", "prod's ingress"
    creator: str  # who creates it: "CAPH", "the Hetzner CCM"


@dataclass(frozen=True, slots=True)
class Footprint:
    """What a plan makes in the provider's project: checked against it before anything is spent."""

    machines: tuple[MachineUse, ...]
    objects: tuple[PlannedObject, ...]
    ssh_keys: tuple[tuple[str, str], ...]  # (spec field, key name)
    load_balancers: tuple[LoadBalancerUse, ...] = ()


@dataclass(frozen=True, slots=True)
class LeftoverRule:
    """One way to recognise what a cluster left in the provider's project (`cleanup`).

    Objects of `kind` are listed with `labels` as the label selector and each
    is checked against them again before anything is deleted: an API that
    ignored the selector must not widen what goes.
    """

    kind: str  # server | load_balancer | placement_group | network | firewall | primary_ip | volume
    labels: Mapping[str, str | None]  # key -> exact value, or None: the key is there, any value
    creator: str  # who made such objects, for the table: "CAPH", "the Hetzner CCM"
    # Only objects also attached to a network that another rule found (whose maker puts no cluster label on them).
    on_found_network: bool = False


@dataclass(frozen=True, slots=True)
class MachineRole:
    """The control plane or one node group, as the provider renders its template."""

    name: str  # "control-plane" or the pool / node-group name
    machine_type: str
    placement_group: str | None


@dataclass(frozen=True, slots=True)
class Dns01Webhook:
    """A cert-manager DNS-01 solver for the provider's DNS service (wildcard certificates).

    The chart goes into cert-manager's namespace, where a ClusterIssuer's
    secrets live; the token secret holds the provider's API token.
    """

    repo: str
    chart: str
    version: str
    values: Mapping[str, Any]
    # The issuer's `dns01.webhook` block (groupName, solverName, config).
    webhook: Mapping[str, Any]
    token_secret: str
    token_key: str


class InfrastructureProvider(Protocol):
    name: str
    api_group: str
    cluster_kind: str
    machine_template_kind: str
    # The pydantic model of the spec section named after the provider.
    settings_model: type
    # The Secret (in each cluster's namespace) the provider's controllers read credentials from.
    credentials_secret: str
    credentials_key: str
    # The CSI driver that provisions the provider's block volumes (a StorageClass's provisioner).
    volume_provisioner: str
    # The load balancer type a cluster's platform ingress (a `type: LoadBalancer` Service) gets.
    ingress_load_balancer_type: str

    def network_zone(self, location: str) -> str:
        """The network zone a location belongs to (where subnets and load balancers are placed)."""

    def price_list(self, location: str | None = None) -> PriceList:
        """Offline list prices (at `location`, or the catalog's default region)."""

    def check(self, spec: PlatformSpec) -> list[Problem]:
        """Problems only this provider can see (catalog, locations, capacity)."""

    def footprint(self, spec: PlatformSpec, cluster: str | None = None) -> Footprint:
        """What `up` creates in the provider's project (only that cluster's stack with `cluster`)."""

    def machine_shape(self, machine_type: str) -> MachineShape: ...

    def node_groups(self, cluster: ClusterSpec, pool: PoolSpec) -> list[NodeGroup]: ...

    def control_plane_placement(self, cluster: ClusterSpec) -> str | None: ...

    def infra_cluster(self, spec: PlatformSpec, cluster: ClusterSpec) -> Manifest: ...

    def machine_template_spec(self, spec: PlatformSpec, cluster: ClusterSpec, role: MachineRole) -> dict: ...

    def machine_template(self, cluster: ClusterSpec, name: str, template_spec: dict) -> Manifest: ...

    def remediation_template(self, cluster: ClusterSpec, name: str) -> Manifest | None:
        """A remediation template for MachineHealthCheck, or None to let CAPI replace machines."""

    def addon_charts(self, spec: PlatformSpec, cluster: ClusterSpec) -> list[tuple]:
        """Helm charts the provider needs in every workload cluster (cloud controller, CSI).

        Each is (release, selector label, repo URL, chart, version, values).
        """

    def leftovers(self, name: str, management: bool = False) -> tuple[LeftoverRule, ...]:
        """How to find what workload cluster `name` (or, with `management`, the management cluster `name`) leaves behind."""

    def load_balancer_annotations(self, spec: PlatformSpec, cluster: ClusterSpec, name: str) -> dict[str, str]:
        """Annotations that make the cloud controller give a `type: LoadBalancer` Service a load balancer `name`."""

    def dns01_webhook(self) -> Dns01Webhook:
        """The provider's DNS-01 solver for cert-manager (`challenge: dns01`)."""
