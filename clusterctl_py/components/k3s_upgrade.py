"""system-upgrade-controller and the k3s server plan, in the management cluster."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pulumi
import pulumi_kubernetes as k8s

from clusterctl_py.components.bundles import retain_crds
from clusterctl_py.fetch import fetch_text
from clusterctl_py.render import k3s_upgrade as suc


@dataclass
class K3sUpgradeArgs:
    # Kubernetes provider of the management cluster (the capi stack's).
    provider: k8s.Provider
    # The k3s version the servers should run (the spec's management.k3sVersion).
    k3s_version: str
    # Replaces https://github.com in release URLs (mirrors, air-gapped installs).
    components_base_url: str | None = None
    fetch: Callable[[str], str] = fetch_text


class K3sUpgrade(pulumi.ComponentResource):
    """Installs SUC from its release manifests and keeps the server plan at the spec's k3s version.

    A new version only updates the Plan (same name, so an update in place);
    SUC then upgrades one server at a time. Creating the Plan at the version
    the servers already run is harmless: k3s-upgrade finds the same binary and
    exits (k3s-io/k3s-upgrade scripts/upgrade.sh replace_binary).
    """

    def __init__(self, name: str, args: K3sUpgradeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("clusterctl-py:index:K3sUpgrade", name, None, opts)

        def child(**kw) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=args.provider, **kw)

        crd = k8s.yaml.v2.ConfigGroup(
            f"{name}-crd",
            yaml=args.fetch(suc.asset_url(suc.CRD_ASSET, args.components_base_url)),
            # Deleting the Plan CRD would delete the plans, and a half-done upgrade's state with them.
            opts=child(transforms=[retain_crds]),
        )
        controller = k8s.yaml.v2.ConfigGroup(
            f"{name}-controller",
            yaml=args.fetch(suc.asset_url(suc.CONTROLLER_ASSET, args.components_base_url)),
            opts=child(depends_on=[crd]),
        )
        plan = suc.server_plan(args.k3s_version)
        # Its namespace and service account come with the controller manifest.
        self.plan = k8s.apiextensions.CustomResource(
            f"{name}-server-plan",
            api_version=plan["apiVersion"],
            kind=plan["kind"],
            metadata=plan["metadata"],
            spec=plan["spec"],
            opts=child(depends_on=[crd, controller]),
        )
        self.register_outputs({})
