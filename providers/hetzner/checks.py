"""Spec checks that need the Hetzner catalog.

They run inside spec validation, so bad input is refused before anything
is rendered or created. When parts of a file failed validation, the spec
given here holds what validated and None elsewhere (a section, a cluster, a
pool, or one field; such models have `complete` False), and each check runs
on the values it reads that are there, so every problem of a file shows at
once.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Iterator

from clusterctl_py.errors import Problem
from clusterctl_py.providers.hetzner.catalog import LOCATIONS, SERVER_TYPES, current_server_types
from clusterctl_py.providers.hetzner.limits import NETWORK_SERVER_LIMIT, ROLLOUT_SURGE

if TYPE_CHECKING:
    from clusterctl_py.spec import ClusterSpec, PlatformSpec



def check(spec: PlatformSpec) -> list[Problem]:
    problems = [*check_hetzner(spec), *check_management(spec)]
    for ci, cluster in enumerate(spec.clusters or []):
        if cluster is not None:
            problems += _check_cluster(spec, ci, cluster)
    if not problems and spec.complete:
        problems += _name_clashes(spec)
    return problems


def _name_clashes(spec: PlatformSpec) -> Iterator[Problem]:
    """Names two creators of the plan would both take; Hetzner refuses the second (uniqueness_error)."""
    from clusterctl_py.providers.hetzner import PROVIDER

    first: dict[tuple[str, str], object] = {}
    for obj in PROVIDER.footprint(spec).objects:
        earlier = first.setdefault((obj.kind, obj.name), obj)
        # The same creator and owner naming an object twice is one object (e.g. two clusters of one name, reported apart).
        if earlier is not obj and earlier.owner != obj.owner:
            kind = obj.kind.replace("_", " ").replace(" ip", " IP")
            yield Problem(
                obj.path,
                f"{kind} {obj.name!r} would be created twice, by {earlier.creator} for {earlier.path} and by"
                f" {obj.creator} for {obj.path}; Hetzner names are unique in a project, so rename one",
            )


def _default_location(spec: PlatformSpec) -> str | None:
    return spec.hetzner.location if spec.hetzner is not None else None


def check_hetzner(spec: PlatformSpec) -> Iterator[Problem]:
    if spec.hetzner is None or spec.hetzner.ssh_keys is None:
        return
    first: dict[str, int] = {}
    for i, key in enumerate(spec.hetzner.ssh_keys):
        if key in first:
            yield Problem(f"hetzner.sshKeys[{i}]", f"duplicate SSH key {key!r} (also sshKeys[{first[key]}])")
        first.setdefault(key, i)


def _check_cluster(spec: PlatformSpec, ci: int, cluster: ClusterSpec) -> Iterator[Problem]:
    from clusterctl_py.providers.hetzner import PROVIDER

    base = f"clusters[{ci}]"
    location = cluster.location or _default_location(spec)
    if cluster.location is not None and cluster.location not in LOCATIONS:
        yield Problem(
            f"{base}.location",
            f"unknown Hetzner location {cluster.location!r}; allowed: {', '.join(LOCATIONS)}",
        )
        location = None  # server types can still be checked, not where they are sold
    if cluster.control_plane is not None:
        yield from _server_type(f"{base}.controlPlane.serverType", cluster.control_plane.server_type, location)
    for pi, pool in enumerate(cluster.pools or []):
        if pool is not None:
            yield from _server_type(f"{base}.pools[{pi}].serverType", pool.server_type, location)

    if spec.hetzner is not None and spec.hetzner.network_cidr is not None:
        yield from _apart_from_network(base, cluster, spec.hetzner.network_cidr)

    if not cluster.complete:
        return
    # Pool sizes are bounded by the spec, so expanding node groups stays cheap.
    groups = sum(len(PROVIDER.node_groups(cluster, p)) for p in cluster.pools)
    in_pools = sum(p.max for p in cluster.pools)
    needed = cluster.control_plane.replicas + in_pools + ROLLOUT_SURGE * (groups + 1)
    if needed > NETWORK_SERVER_LIMIT:
        yield Problem(
            f"{base}.pools",
            f"at max scale this cluster needs {needed} servers ({cluster.control_plane.replicas} control plane"
            f" + {in_pools} in pools + {groups + 1} surging during a rollout), but one Hetzner private network"
            f" holds at most {NETWORK_SERVER_LIMIT}; lower the pools' max or split the cluster",
        )


def _apart_from_network(base: str, cluster: ClusterSpec, network_cidr: str) -> Iterator[Problem]:
    # Pod and service addresses that also live on the servers' private network
    # are routed to the wrong place (the subnet lies inside the network).
    network = ipaddress.ip_network(network_cidr)
    for field, value in (("podCidr", cluster.pod_cidr), ("serviceCidr", cluster.service_cidr)):
        if value is not None and ipaddress.ip_network(value).overlaps(network):
            yield Problem(
                f"{base}.{field}",
                f"{value} overlaps hetzner.networkCidr {network_cidr}, the servers' private network;"
                " choose a range outside it (defaults: podCidr 10.244.0.0/16, serviceCidr 10.96.0.0/12)",
            )


def _server_type(path: str, name: str | None, location: str | None) -> Iterator[Problem]:
    if name is None:
        return
    st = SERVER_TYPES.get(name)
    allowed = ", ".join(current_server_types())
    if st is None:
        yield Problem(path, f"unknown Hetzner server type {name[:40]!r}; allowed: {allowed}")
    elif st.deprecated:
        yield Problem(path, f"server type {name!r} is deprecated by Hetzner; use {st.successor!r} (allowed: {allowed})")
    elif location is not None and location not in st.locations:
        sold = ", ".join(n for n in current_server_types() if location in SERVER_TYPES[n].locations)
        yield Problem(
            path,
            f"server type {name!r} is not offered in {location} (only in {', '.join(st.locations)});"
            f" offered in {location}: {sold}",
        )


def check_management(spec: PlatformSpec) -> Iterator[Problem]:
    mgmt = spec.management
    if mgmt is None:
        return
    location = mgmt.location or _default_location(spec)
    if mgmt.location is not None and mgmt.location not in LOCATIONS:
        yield Problem(
            "management.location", f"unknown Hetzner location {mgmt.location!r}; allowed: {', '.join(LOCATIONS)}"
        )
        location = None
    yield from _server_type("management.serverType", mgmt.server_type, location)
