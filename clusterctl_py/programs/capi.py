"""Pulumi program: Cluster API in the management cluster.

Config -> spec, the management stack's kubeconfig, the ClusterApi
component, the K3sUpgrade component (system-upgrade-controller and the
plan that keeps the management servers at the spec's k3s version), outputs. Needs no Hetzner token: CAPH's token secret belongs to
each cluster stack.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from clusterctl_py import stack_config
from clusterctl_py.components.capi import ClusterApi, ClusterApiArgs
from clusterctl_py.components.k3s_upgrade import K3sUpgrade, K3sUpgradeArgs
from clusterctl_py.errors import Problem, SpecError
from clusterctl_py.programs import qualified_stack


def main(base_dir: str | Path = ".") -> None:
    spec, settings = stack_config.load(stack_keys=["managementStack", "componentsBaseUrl"], base_dir=base_dir)
    if not settings.get("managementStack"):
        raise SpecError([Problem("clusterctl:managementStack", "required: the management stack, as <org>/<project>/<stack> or a stack name of this organisation")])

    management = pulumi.StackReference(
        qualified_stack(str(settings["managementStack"]), "management", pulumi.get_organization())
    )
    capi = ClusterApi(
        "capi",
        ClusterApiArgs(
            kubeconfig=management.require_output("kubeconfig"),
            cluster_identifier=spec.management.name,
            components_base_url=settings.get("componentsBaseUrl") or None,
        ),
    )
    # The servers ignore a new k3s version in their user data; SUC applies it.
    K3sUpgrade(
        "k3s-upgrade",
        K3sUpgradeArgs(
            provider=capi.provider,
            k3s_version=spec.management.k3s_version,
            components_base_url=settings.get("componentsBaseUrl") or None,
        ),
    )

    pulumi.export("installed", capi.installed)


if __name__ == "__main__":
    main()
