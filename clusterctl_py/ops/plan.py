"""Which stacks run, in which order, with which config (pure).

A plan is a list of phases; phases run one after the other, the stacks of
one phase may run side by side (the workload clusters do not depend on each
other). Destroy runs the clusters first: deleting a Cluster while CAPI and
CAPH still run is what deletes its servers; the other way round the servers
are orphaned and keep costing money.

A cluster with a `platform` section has a platform stack too, run after its
cluster stack (it reads the cluster's kubeconfig output). Destroy runs the
platforms before anything else, for the same reason one level down: the
ingress load balancer and the apps' volumes are deleted by the CCM and the
CSI driver, which run in the cluster. A platform stack left behind by a
cluster whose section was removed is destroyed too (`if_exists`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from clusterctl_py.errors import Problem, SpecError
from clusterctl_py.programs import PROJECTS
from clusterctl_py.spec import PlatformSpec

Action = Literal["up", "preview", "destroy"]


@dataclass(frozen=True)
class StackRun:
    program: str  # management | capi | cluster | platform (clusterctl_py.programs)
    stack: str
    org: str
    config: dict[str, str] = field(hash=False)
    # Only stacks that talk to Hetzner get HCLOUD_TOKEN in their environment.
    hcloud_token: bool = True
    # Stacks this one reads through StackReferences.
    needs: tuple["StackRun", ...] = ()
    # Run only if the stack exists; otherwise left out of the run without a word.
    if_exists: bool = False

    @property
    def project(self) -> str:
        return PROJECTS[self.program]

    @property
    def name(self) -> str:
        """Fully qualified, so the stack lands where the StackReferences look."""
        return f"{self.org}/{self.project}/{self.stack}"


def plan(
    spec: PlatformSpec,
    action: Action,
    platform_file: Path,
    *,
    org: str,
    cluster: str | None = None,
    capi_only: bool = False,
    with_platforms: bool = True,
) -> list[list[StackRun]]:
    """The phases of stack runs for `action`; `capi_only`: the capi stack alone (`upgrade apply --management`);
    `with_platforms=False`: no platform stacks on up/preview (`scale` and `upgrade apply` change only the cluster's).

    Every stack gets the path of the one platform file rather than copies of
    its sections, so the stacks can never drift from what `validate` checked.
    """
    prefix = spec.management.name
    base = {"clusterctl:platformFile": str(platform_file.resolve())}
    management = management_stack(spec, platform_file, org=org)
    capi = StackRun(
        "capi",
        f"{prefix}-capi",
        org,
        {**base, "clusterctl:managementStack": management.name},
        hcloud_token=False,
        needs=(management,),
    )

    if capi_only:
        return [[capi]]
    if cluster is not None:
        spec.cluster(cluster)  # SpecError naming the defined clusters
    clusters, platforms = [], []
    for c in spec.clusters:
        if cluster is not None and c.name != cluster:
            continue
        run = StackRun(
            "cluster",
            f"{prefix}-cluster-{c.name}",
            org,
            {**base, "clusterctl:cluster": c.name, "clusterctl:managementStack": management.name, "clusterctl:capiStack": capi.name},
            needs=(management, capi),
        )
        clusters.append(run)
        if (c.platform is not None and with_platforms) or action == "destroy":
            platforms.append(platform_stack(spec, c.name, run, base, org))
    if action == "destroy":
        shared = [] if cluster is not None else [[capi], [management]]
        return [p for p in ([*reversed(platforms)], [*reversed(clusters)], *shared) if p]
    if cluster is not None:
        # One workload cluster and its platform: the shared stacks stay as they are.
        return [p for p in (clusters, platforms) if p]
    return [p for p in ([management], [capi], clusters, platforms) if p]


def platform_stack(spec: PlatformSpec, cluster: str, cluster_run: StackRun, base: dict[str, str], org: str) -> StackRun:
    """The platform stack of `cluster`; without a `platform` section in the spec, one that runs
    only if it exists (destroy: what a removed section left behind)."""
    settings = spec.cluster(cluster).platform
    return StackRun(
        "platform",
        platform_stack_name(spec, cluster),
        org,
        {**base, "clusterctl:cluster": cluster, "clusterctl:clusterStack": cluster_run.name},
        # Only DNS-01 talks to Hetzner (the DNS zone); the rest reaches the cluster alone.
        hcloud_token=settings is not None and settings.challenge == "dns01",
        needs=(cluster_run,),
        if_exists=settings is None,
    )


def platform_stack_name(spec: PlatformSpec, cluster: str) -> str:
    return f"{spec.management.name}-platform-{cluster}"


def removed_platforms(spec: PlatformSpec, platform_file: Path, *, org: str, cluster: str | None = None) -> list[StackRun]:
    """The platform stacks of clusters (all, or `cluster`) whose spec has no `platform` section:
    if one exists, its section was removed and `up` must not leave it running unmanaged."""
    return [
        run
        for phase in plan(spec, "destroy", platform_file, org=org, cluster=cluster)
        for run in phase
        if run.program == "platform" and run.if_exists
    ]


def management_stack(spec: PlatformSpec, platform_file: Path, *, org: str) -> StackRun:
    """The management cluster's stack (whose `kubeconfig` output reaches the management API)."""
    base = {"clusterctl:platformFile": str(platform_file.resolve())}
    return StackRun("management", f"{spec.management.name}-management", org, base)


def check_token(token: str | None) -> str:
    """Hetzner API tokens are 64 alphanumeric characters."""
    if not token:
        raise SpecError([Problem("HCLOUD_TOKEN", "not set; export your Hetzner Cloud API token (read/write) as HCLOUD_TOKEN")])
    if len(token) != 64 or not token.isalnum() or not token.isascii():
        raise SpecError([Problem("HCLOUD_TOKEN", f"not a Hetzner Cloud API token (expected 64 letters and digits, got {len(token)} characters)")])
    return token


def check_api_reachable(spec: PlatformSpec, source: str | None = None) -> None:
    """`up` waits for the management API (and Pulumi's Kubernetes provider talks
    to it) from the machine running it; a firewall closed to everyone makes
    that wait run into its timeout after the servers are already paid for."""
    if not spec.management.api_allowed_cidrs:
        raise SpecError([Problem(
            "management.apiAllowedCidrs",
            "empty, so the management API is closed to everyone, but `up` waits for that API from this machine; "
            "add this machine's public address as <address>/32 (find it with `curl -4 https://ifconfig.me`)",
        )], source)
