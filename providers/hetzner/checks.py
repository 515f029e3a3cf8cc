"""Spec checks that need the Hetzner catalog.

They run inside spec validation, so bad input is refused before anything
is rendered or created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from clusterctl_py.errors import Problem
from providers.hetzner.catalog import LOCATIONS, SERVER_TYPES, current_server_types

if TYPE_CHECKING:
    from clusterctl_py.spec import PlatformSpec

# One private network holds at most 100 attached servers.
NETWORK_SERVER_LIMIT = 100
# Each MachineDeployment and the control plane may add one server while rolling.
ROLLOUT_SURGE = 1


def check(spec: PlatformSpec) -> list[Problem]:
    return [*check_management(spec), *_check(spec)]


def _check(spec: PlatformSpec) -> Iterator[Problem]:
    from providers.hetzner import PROVIDER

    for ci, cluster in enumerate(spec.clusters):
        base = f"clusters[{ci}]"
        location = spec.location_of(cluster)
        if cluster.location is not None and cluster.location not in LOCATIONS:
            yield Problem(
                f"{base}.location",
                f"unknown Hetzner location {cluster.location!r}; allowed: {', '.join(LOCATIONS)}",
            )
            continue
        yield from _server_type(f"{base}.controlPlane.serverType", cluster.control_plane.server_type, location)
        for pi, pool in enumerate(cluster.pools):
            yield from _server_type(f"{base}.pools[{pi}].serverType", pool.server_type, location)

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


def _server_type(path: str, name: str, location: str) -> Iterator[Problem]:
    st = SERVER_TYPES.get(name)
    allowed = ", ".join(current_server_types())
    if st is None:
        yield Problem(path, f"unknown Hetzner server type {name!r}; allowed: {allowed}")
    elif st.deprecated:
        yield Problem(path, f"server type {name!r} is deprecated by Hetzner; use {st.successor!r} (allowed: {allowed})")
    elif location not in st.locations:
        sold = ", ".join(n for n in current_server_types() if location in SERVER_TYPES[n].locations)
        yield Problem(
            path,
            f"server type {name!r} is not offered in {location} (only in {', '.join(st.locations)});"
            f" offered in {location}: {sold}",
        )


def check_management(spec: PlatformSpec) -> Iterator[Problem]:
    mgmt = spec.management
    location = mgmt.location or spec.hetzner.location
    if location not in LOCATIONS:
        yield Problem(
            "management.location", f"unknown Hetzner location {location!r}; allowed: {', '.join(LOCATIONS)}"
        )
        return
    yield from _server_type("management.serverType", mgmt.server_type, location)
