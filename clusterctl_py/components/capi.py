"""Cluster API, the Hetzner provider and the Helm add-on provider in the management cluster."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pulumi
import pulumi_kubernetes as k8s
import yaml

from clusterctl_py import versions
from clusterctl_py.components.workload import WAIT_FOR
from clusterctl_py.fetch import fetch_text
from clusterctl_py.render import capi_components as cc
from clusterctl_py.render.yaml import dump_all

CERT_MANAGER_NAMESPACE = cc.CERT_MANAGER_NAMESPACE
WEBHOOK_CONFIGURATIONS = frozenset(
    f"kubernetes:admissionregistration.k8s.io/v1:{kind}"
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
)
# Ready once cert-manager's cainjector has written the CA bundle
# (pulumi/pulumi-kubernetes CHANGELOG 4.18.0 and its own cert-manager test,
# tests/sdk/nodejs/testdata/await/cert-manager/index.ts).
CA_BUNDLE_INJECTED = "jsonpath={.webhooks[*].clientConfig.caBundle}"
CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"


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


def await_ca_bundle(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """Make Pulumi wait until a webhook configuration carries its CA bundle.

    Chart v4 renders without hooks (pulumi/pulumi-kubernetes
    provider/pkg/provider/helm/v4/chart.go sets DisableHooks), so cert-manager's
    `startupapicheck` never runs; until the cainjector fills `caBundle` every
    call to the webhook fails TLS, and the API server answers the provider's
    Certificates and Issuers with a 500 Pulumi does not retry. `clusterctl
    init` creates a throw-away Issuer + Certificate until one is accepted
    (kubernetes-sigs/cluster-api cmd/clusterctl/client/cluster/cert_manager.go
    waitForAPIReady), a retry loop a Pulumi resource cannot express; this
    await can, and reaches the chart's own children because `transforms`
    (unlike `transformations`) apply inside packaged components (Pulumi docs,
    concepts/options/transformations).
    """
    if args.type_ not in WEBHOOK_CONFIGURATIONS:
        return None
    props = dict(args.props)
    metadata = dict(props.get("metadata") or {})
    metadata["annotations"] = {**(metadata.get("annotations") or {}), WAIT_FOR: CA_BUNDLE_INJECTED}
    props["metadata"] = metadata
    return pulumi.ResourceTransformResult(props=props, opts=args.opts)


def retain_crds(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """Never let Pulumi delete a CRD: deleting one deletes every object of its kind.

    A version bump updates CRDs in place (their names, and so their URNs, do
    not change; pulumi/pulumi-kubernetes provider/pkg/provider/diff.go replaces
    a CRD only for a new metadata.name), but a release that drops a CRD, a CRD
    that moves to another components file, or `destroy` would delete it, and
    with it every Cluster, Machine or Certificate of that kind. clusterctl
    keeps CRDs the same way (kubernetes-sigs/cluster-api
    cmd/clusterctl/client/cluster/components.go Delete skips them unless
    --include-crd), and so does cert-manager's chart (`crds.keep`).
    """
    if args.type_ != CRD_TYPE:
        return None
    return pulumi.ResourceTransformResult(
        props=args.props, opts=pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(retain_on_delete=True))
    )


# Every upstream bundle gets both: each transform leaves other kinds alone.
TRANSFORMS = [await_ca_bundle, retain_crds]


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
        self.provider = k8s.Provider(
            f"{name}-management",
            kubeconfig=pulumi.Output.secret(args.kubeconfig),
            cluster_identifier=args.cluster_identifier,
            # Since pulumi-kubernetes 4.29 creating an object that exists fails
            # (its CHANGELOG, #2926). Retained CRDs do exist: after a `destroy`
            # and a new `up`, or when a CRD moves to another bundle (new URN,
            # the old one only forgotten). Adopting them is what clusterctl
            # init and upgrade do (cmd/clusterctl/client/cluster/components.go createObj).
            upsert_existing_objects=True,
            opts=pulumi.ResourceOptions(parent=self),
        )

        def child(**kw) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=self.provider, **kw)

        # The chart has no Namespace template and Chart v4 creates none
        # (cert-manager/cert-manager deploy/manifests/namespace.yaml is what
        # the static install adds).
        namespace = k8s.core.v1.Namespace(
            f"{name}-cert-manager-namespace", metadata={"name": CERT_MANAGER_NAMESPACE}, opts=child()
        )
        cert_manager = k8s.helm.v4.Chart(
            f"{name}-cert-manager",
            chart="cert-manager",
            repository_opts=k8s.helm.v4.RepositoryOptsArgs(repo="https://charts.jetstack.io"),
            version=versions.CERT_MANAGER,
            namespace=CERT_MANAGER_NAMESPACE,
            values={"crds": {"enabled": True}},
            # Depending on the chart waits for all its children, webhooks with their CA included.
            opts=child(depends_on=[namespace], transforms=TRANSFORMS),
        )
        inventory_crd = k8s.yaml.v2.ConfigGroup(
            f"{name}-clusterctl-inventory-crd",
            yaml=dump_all(
                cc.label_inventory_crd(d)
                for d in yaml.safe_load_all(args.fetch(cc.inventory_crd_url(args.components_base_url)))
                if d
            ),
            opts=child(transforms=TRANSFORMS),
        )
        self.resources: list[pulumi.Resource] = [cert_manager, inventory_crd]
        inventories: list[k8s.yaml.v2.ConfigGroup] = []
        core = None
        for provider in cc.PROVIDERS:
            text = args.fetch(provider.components_url(args.components_base_url))
            # Webhooks need cert-manager's certificates; other providers need the core CRDs.
            after = [cert_manager] + ([core] if core is not None else [])
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
