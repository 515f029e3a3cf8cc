"""Which stacks run, in which order, with which config (pure).

A plan is a list of phases; phases run one after the other, the stacks of
one phase may run side by side (the workload clusters do not depend on each
other). Destroy runs the clusters first: deleting a Cluster while CAPI and
CAPH still run is what deletes its servers; the other way round the servers
are orphaned and keep costing money.
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
    program: str  # management | capi | cluster (clusterctl_py.programs)
    stack: str
    org: str
    config: dict[str, str] = field(hash=False)
    # Only stacks that talk to Hetzner get HCLOUD_TOKEN in their environment.
    hcloud_token: bool = True
    # Stacks this one reads through StackReferences.
    needs: tuple["StackRun", ...] = ()

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
) -> list[list[StackRun]]:
    """The phases of stack runs for `action`; `capi_only`: the capi stack alone (`upgrade apply --management`).

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
    clusters = [
        StackRun(
            "cluster",
            f"{prefix}-cluster-{c.name}",
            org,
            {**base, "clusterctl:cluster": c.name, "clusterctl:managementStack": management.name, "clusterctl:capiStack": capi.name},
            needs=(management, capi),
        )
        for c in spec.clusters
        if cluster is None or c.name == cluster
    ]
    if cluster is not None:
        # One workload cluster: the shared stacks stay as they are.
        return [clusters]
    if action == "destroy":
        return [p for p in ([*reversed(clusters)], [capi], [management]) if p]
    return [p for p in ([management], [capi], clusters) if p]


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
