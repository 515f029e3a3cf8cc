"""What every upstream bundle we install needs: CRDs kept, webhooks awaited, cert-manager.

Shared by the capi stack (management cluster) and the platform stack
(workload clusters): both install cert-manager from its chart and apply
upstream release manifests whose webhooks and CRDs need the same care.
"""

from __future__ import annotations

from typing import Callable

import pulumi
import pulumi_kubernetes as k8s

from clusterctl_py import versions
from clusterctl_py.components.workload import WAIT_FOR

WEBHOOK_CONFIGURATIONS = frozenset(
    f"kubernetes:admissionregistration.k8s.io/v1:{kind}"
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
)
# Ready once cert-manager's cainjector has written the CA bundle
# (pulumi/pulumi-kubernetes CHANGELOG 4.18.0 and its own cert-manager test,
# tests/sdk/nodejs/testdata/await/cert-manager/index.ts).
CA_BUNDLE_INJECTED = "jsonpath={.webhooks[*].clientConfig.caBundle}"
CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
CERT_MANAGER_REPO = "https://charts.jetstack.io"


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


def cert_manager(
    name: str, namespace: str, child: Callable[..., pulumi.ResourceOptions]
) -> tuple[k8s.core.v1.Namespace, k8s.helm.v4.Chart]:
    """cert-manager's chart in its own Namespace; depending on the chart waits
    for all its children, webhooks with their CA bundle included."""
    # The chart has no Namespace template and Chart v4 creates none
    # (cert-manager/cert-manager deploy/manifests/namespace.yaml is what
    # the static install adds).
    ns = k8s.core.v1.Namespace(f"{name}-cert-manager-namespace", metadata={"name": namespace}, opts=child())
    chart = k8s.helm.v4.Chart(
        f"{name}-cert-manager",
        chart="cert-manager",
        repository_opts=k8s.helm.v4.RepositoryOptsArgs(repo=CERT_MANAGER_REPO),
        version=versions.CERT_MANAGER,
        namespace=namespace,
        values={"crds": {"enabled": True}},
        opts=child(depends_on=[ns], transforms=TRANSFORMS),
    )
    return ns, chart


def bundle_provider(name: str, kubeconfig: pulumi.Input[str], cluster_identifier: str, parent: pulumi.Resource) -> k8s.Provider:
    """The Kubernetes provider a stack installs upstream bundles with.

    Secret kubeconfig; a stable `cluster_identifier`, so a rotated
    kubeconfig does not replace every resource; and objects that exist are
    adopted: since pulumi-kubernetes 4.29 creating one fails (its CHANGELOG,
    #2926), and retained CRDs do exist after a `destroy` and a new `up`, or
    when a CRD moves to another bundle (new URN, the old one only forgotten).
    Adopting them is what clusterctl init and upgrade do
    (cmd/clusterctl/client/cluster/components.go createObj).
    """
    return k8s.Provider(
        name,
        kubeconfig=pulumi.Output.secret(kubeconfig),
        cluster_identifier=cluster_identifier,
        upsert_existing_objects=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
