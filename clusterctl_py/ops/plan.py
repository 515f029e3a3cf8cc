"""Which stacks run, in which order, with which config (pure).

Destroy runs clusters first: deleting a Cluster while CAPI and CAPH still run
is what deletes its servers; the other way round the servers are orphaned
and keep costing money.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from clusterctl_py.errors import Problem, SpecError
from clusterctl_py.spec import PlatformSpec

Action = Literal["up", "preview", "destroy"]


@dataclass(frozen=True)
class StackRun:
    project: str  # folder under stacks/
    stack: str
    config: dict[str, str]
    secret_config: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.stack


def plan(
    spec: PlatformSpec,
    action: Action,
    platform_file: Path,
    token: str,
    *,
    cluster: str | None = None,
    org: str = "organization",
) -> list[StackRun]:
    """The stack runs for `action`.

    Every stack gets the path of the one platform file rather than copies of
    its sections, so the stacks can never drift from what `validate` checked.
    """
    prefix = spec.management.name
    names = {"management": f"{prefix}-management", "capi": f"{prefix}-capi"}
    ref = {k: f"{org}/clusterctl-{k}/{v}" for k, v in names.items()}
    base = {"clusterctl:platformFile": str(platform_file.resolve())}
    secret = {"hcloud:token": token}

    if cluster is not None:
        spec.cluster(cluster)  # SpecError naming the defined clusters
    clusters = [c for c in spec.clusters if cluster is None or c.name == cluster]
    cluster_runs = [
        StackRun(
            "cluster",
            f"{prefix}-cluster-{c.name}",
            {**base, "clusterctl:cluster": c.name, "clusterctl:managementStack": ref["management"], "clusterctl:capiStack": ref["capi"]},
            secret,
        )
        for c in clusters
    ]
    shared = [
        StackRun("management", names["management"], base, secret),
        StackRun("capi", names["capi"], {**base, "clusterctl:managementStack": ref["management"]}, secret),
    ]
    if cluster is not None:
        # One workload cluster: the shared stacks stay as they are.
        return cluster_runs
    if action == "destroy":
        return [*reversed(cluster_runs), *reversed(shared)]
    return [*shared, *cluster_runs]


def check_token(token: str | None) -> str:
    """Hetzner API tokens are 64 alphanumeric characters."""
    if not token:
        raise SpecError([Problem("HCLOUD_TOKEN", "not set; export your Hetzner Cloud API token (read/write) as HCLOUD_TOKEN")])
    if len(token) != 64 or not token.isalnum() or not token.isascii():
        raise SpecError([Problem("HCLOUD_TOKEN", f"not a Hetzner Cloud API token (expected 64 letters and digits, got {len(token)} characters)")])
    return token
