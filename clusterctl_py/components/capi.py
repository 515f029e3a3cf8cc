"""Cluster API, the Hetzner provider and the Helm add-on provider in the management cluster."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pulumi
import pulumi_kubernetes as k8s
import yaml

from clusterctl_py.components.bundles import TRANSFORMS, bundle_provider, cert_manager
from clusterctl_py.fetch import fetch_text
from clusterctl_py.render import capi_components as cc
from clusterctl_py.render.yaml import dump_all

CERT_MANAGER_NAMESPACE = cc.CERT_MANAGER_NAMESPACE


@dataclass
class ClusterApiArgs:
    # Admin kubeconfig of the management cluster (kept secret).
    kubeconfig: pulumi.Input[str]
    # Stable name of the management cluster, so a rotated kubeconfig replaces nothing.
    cluster_identifier: str = "management"
    # Replaces https://github.com in release URLs (mirrors, air-gapped installs).
    components_base_url: str | None = None
    # Values for `${VAR}` in components files; unset ones take the file's defaults.
    variables: dict[str, str] = field(default_factory=dict)
    fetch: Callable[[str], str] = fetch_text


def provider_documents(provider: cc.CapiProvider, text: str, values: dict[str, str]) -> str:
    """A components file as clusterctl would apply it: substituted and labelled."""
    substituted = cc.envsubst(text, values, source=provider.components_url())
    docs = [d for d in yaml.safe_load_all(substituted) if d]
    return dump_all(cc.label_component(d, provider) for d in docs)


class ClusterApi(pulumi.ComponentResource):
    """cert-manager, then every CAPI provider, then clusterctl's inventory.

    Dependants (workload clusters) depend on `resources`, so `pulumi destroy`
    removes their Clusters while the controllers that delete servers still run.
    """

    installed: pulumi.Output[dict]

    def __init__(self, name: str, args: ClusterApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("clusterctl-py:index:ClusterApi", name, None, opts)
        self.provider = bundle_provider(f"{name}-management", args.kubeconfig, args.cluster_identifier, self)

        def child(**kw) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=self.provider, **kw)

        _, cert_manager_chart = cert_manager(name, CERT_MANAGER_NAMESPACE, child)
        inventory_crd = k8s.yaml.v2.ConfigGroup(
            f"{name}-clusterctl-inventory-crd",
            yaml=dump_all(
                cc.label_inventory_crd(d)
                for d in yaml.safe_load_all(args.fetch(cc.inventory_crd_url(args.components_base_url)))
                if d
            ),
            opts=child(transforms=TRANSFORMS),
        )
        self.resources: list[pulumi.Resource] = [cert_manager_chart, inventory_crd]
        inventories: list[k8s.yaml.v2.ConfigGroup] = []
        core = None
        for provider in cc.PROVIDERS:
            text = args.fetch(provider.components_url(args.components_base_url))
            # Webhooks need cert-manager's certificates; other providers need the core CRDs.
            after = [cert_manager_chart] + ([core] if core is not None else [])
            group = k8s.yaml.v2.ConfigGroup(
                f"{name}-{provider.manifest_label}",
                yaml=provider_documents(provider, text, args.variables),
                # The providers' own webhooks get their CA from cert-manager too;
                # workload clusters call them right after this install.
                opts=child(depends_on=after, transforms=TRANSFORMS),
            )
            if provider.type == "CoreProvider":
                core = group
            # Provider keeps its fields at the top level, which CustomResource cannot carry.
            inventories.append(
                k8s.yaml.v2.ConfigGroup(
                    f"{name}-inventory-{provider.manifest_label}",
                    objs=[cc.inventory(provider)],
                    opts=child(depends_on=[inventory_crd, group]),
                )
            )
            self.resources.append(group)
        # Resolves only once every install and inventory record exists (a remote
        # component's outputs wait for its children), and carries them as
        # dependencies: a cluster stack that requires it never runs against a
        # half-done or failed install.
        installed = {p.manifest_label: p.version for p in cc.PROVIDERS}
        self.installed = pulumi.Output.all(*(r.resources for r in [*self.resources, *inventories])).apply(
            lambda _: installed
        )
        self.register_outputs({"installed": self.installed})
