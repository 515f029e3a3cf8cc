"""One workload cluster in the management cluster, as a Pulumi component.

Everything here lands in the management cluster: the Cluster API objects,
the `hcloud` token secret CAPH reads, the CAAPH HelmChartProxies that carry
Cilium, the Hetzner CCM and CSI into the workload cluster, and the
cluster-autoscaler. Its output is the workload kubeconfig CAPI writes.

Dependency edges are chosen for `pulumi destroy`: Pulumi deletes a resource
before the resources it depends on, so the Cluster depends on everything
else of this cluster (token secret, infrastructure and bootstrap objects,
add-on proxies, the provider install). Deleting the Cluster first lets CAPI
cascade and CAPH delete the servers while its controllers and token still
exist; the autoscaler depends on the Cluster and goes first.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import pulumi
import pulumi_kubernetes as k8s

from clusterctl_py.render import cluster_autoscaler as autoscaler
from clusterctl_py.render.capi_components import token_secret_metadata
from clusterctl_py.render.cluster import render_cluster
from clusterctl_py.render.meta import labels as base_labels
from clusterctl_py.spec import PlatformSpec

if TYPE_CHECKING:
    from clusterctl_py.spec import ClusterSpec

ChildOptions = Callable[..., pulumi.ResourceOptions]

WAIT_FOR = "pulumi.com/waitFor"
SKIP_AWAIT = "pulumi.com/skipAwait"
# pulumi-kubernetes deletes with foreground propagation unless told otherwise
# (pulumi/pulumi-kubernetes provider/pkg/metadata/overrides.go DeletionPropagation,
# since 4.12.0): the garbage collector would then delete a MachineDeployment's
# Machines and HCloudMachines at once, and CAPH would remove the servers before
# CAPI drains their nodes. With background propagation Pulumi still waits for
# the object itself, which CAPI's finalizers hold until its machines are gone.
DELETION_PROPAGATION = "pulumi.com/deletionPropagationPolicy"
CLUSTER_TIMEOUTS = pulumi.CustomTimeouts(create="60m", update="60m", delete="30m")
# Deleting a pool drains each node (PodDisruptionBudgets may hold it) first.
MACHINE_DEPLOYMENT_TIMEOUTS = pulumi.CustomTimeouts(delete="60m")


@dataclass
class WorkloadClusterArgs:
    spec: PlatformSpec
    cluster_name: str
    # The management cluster, where CAPI, CAPH and CAAPH run.
    provider: k8s.Provider
    # The Hetzner Cloud API token CAPH (and, through CAPH's copy, CCM and CSI) uses.
    hcloud_token: pulumi.Input[str]
    # The Cluster API install (controllers, webhooks, CRDs) these objects need.
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


def _annotate(obj: dict, extra: dict[str, str]) -> dict:
    meta = dict(obj["metadata"])
    meta["annotations"] = {**meta.get("annotations", {}), **extra}
    return {**obj, "metadata": meta}


def _references(value: Any) -> Iterator[tuple[str, str]]:
    """(kind, name) of every object reference inside a manifest's spec."""
    if isinstance(value, dict):
        if isinstance(value.get("kind"), str) and isinstance(value.get("name"), str):
            yield value["kind"], value["name"]
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _custom_resource(resource_name: str, obj: dict, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    extra = set(obj) - {"apiVersion", "kind", "metadata", "spec"}
    if extra:  # CustomResource carries only spec; anything else would be dropped silently
        raise ValueError(f"{obj['kind']} {obj['metadata']['name']}: unsupported top-level fields {sorted(extra)}")
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=obj["apiVersion"],
        kind=obj["kind"],
        metadata=obj["metadata"],
        spec=obj.get("spec"),
        opts=opts,
    )


class WorkloadCluster(pulumi.ComponentResource):
    kubeconfig: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: WorkloadClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("clusterctl-py:index:WorkloadCluster", name, None, opts)
        cluster = args.spec.cluster(args.cluster_name)  # SpecError naming the cluster if unknown
        ns = cluster.ns
        provider = args.provider
        controllers = list(args.depends_on)

        def child(**kw: Any) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=provider, **kw)

        objs = render_cluster(args.spec, cluster)
        namespace_obj = next(o for o in objs if o["kind"] == "Namespace")
        cluster_obj = next(o for o in objs if o["kind"] == "Cluster")
        capi_objs = [o for o in objs if o is not namespace_obj and o is not cluster_obj]

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata=namespace_obj["metadata"], opts=child(depends_on=controllers)
        )
        in_namespace = [namespace, *controllers]

        token = k8s.core.v1.Secret(
            f"{name}-hcloud-token",
            metadata=token_secret_metadata(args.spec.provider.credentials_secret, ns, base_labels(cluster)),
            type="Opaque",
            string_data={args.spec.provider.credentials_key: pulumi.Output.secret(args.hcloud_token)},
            opts=child(depends_on=in_namespace, additional_secret_outputs=["data", "stringData"]),
        )

        # The Cluster's Available condition aggregates these; awaiting them one
        # by one (PULUMI_K8S_AWAIT_ALL) would deadlock, since CAPI reconciles
        # them only once the Cluster, created after them, exists.
        members: list[pulumi.Resource] = []
        by_ref: dict[tuple[str, str], pulumi.Resource] = {}
        for obj in capi_objs:
            obj = _annotate(obj, {SKIP_AWAIT: "true", DELETION_PROPAGATION: "background"})
            kind, obj_name = obj["kind"], obj["metadata"]["name"]
            # Templates are referenced by name only (and get a new name when they
            # change): the new one must exist before a MachineDeployment or the
            # KubeadmControlPlane points at it, and the old one goes after.
            referenced = [by_ref[r] for r in _references(obj.get("spec")) if r in by_ref]
            extra: dict[str, Any] = {}
            if kind == "MachineDeployment":
                # Left unset in the manifest and owned by the autoscaler.
                extra["ignore_changes"] = ["spec.replicas"]
                extra["custom_timeouts"] = MACHINE_DEPLOYMENT_TIMEOUTS
            resource = _custom_resource(
                f"{name}-{kind.lower()}-{obj_name}", obj, child(depends_on=[*in_namespace, *referenced], **extra)
            )
            members.append(resource)
            by_ref[(kind, obj_name)] = resource

        cluster_obj = _annotate(cluster_obj, {WAIT_FOR: "condition=Available", DELETION_PROPAGATION: "background"})
        capi_cluster = _custom_resource(
            f"{name}-cluster-{cluster.name}",
            cluster_obj,
            child(depends_on=[*in_namespace, token, *members], custom_timeouts=CLUSTER_TIMEOUTS),
        )

        self._autoscaler(name, args.spec, cluster, child, capi_cluster)

        # CAPI writes the admin kubeconfig once the control plane is up. The id
        # is unknown until the Cluster exists, so a first preview skips the read.
        secret_name = autoscaler.kubeconfig_secret(cluster)
        kubeconfig_secret = k8s.core.v1.Secret.get(
            f"{name}-kubeconfig",
            capi_cluster.id.apply(lambda _: f"{ns}/{secret_name}"),
            opts=child(depends_on=[capi_cluster], additional_secret_outputs=["data"]),
        )
        self.kubeconfig = pulumi.Output.secret(
            kubeconfig_secret.data.apply(lambda data: base64.b64decode(data[autoscaler.KUBECONFIG_KEY]).decode())
        )
        self.cluster_name = pulumi.Output.from_input(cluster.name)
        self.namespace = pulumi.Output.from_input(ns)
        self.cluster = capi_cluster
        self.token_secret = token
        self.register_outputs(
            {"kubeconfig": self.kubeconfig, "clusterName": self.cluster_name, "namespace": self.namespace}
        )

    def _autoscaler(
        self, name: str, spec: PlatformSpec, cluster: ClusterSpec, child: ChildOptions, capi_cluster: pulumi.Resource
    ) -> None:
        # Started once the Cluster is Available (its kubeconfig secret exists);
        # deleted before the Cluster so it never scales a cluster being torn down.
        sa, role, binding, deployment = autoscaler.render_cluster_autoscaler(spec, cluster)
        after = [capi_cluster]
        sa_res = k8s.core.v1.ServiceAccount(f"{name}-autoscaler-sa", metadata=sa["metadata"], opts=child(depends_on=after))
        role_res = k8s.rbac.v1.Role(
            f"{name}-autoscaler-role", metadata=role["metadata"], rules=role["rules"], opts=child(depends_on=after)
        )
        binding_res = k8s.rbac.v1.RoleBinding(
            f"{name}-autoscaler-binding",
            metadata=binding["metadata"],
            role_ref=binding["roleRef"],
            subjects=binding["subjects"],
            opts=child(depends_on=[*after, sa_res, role_res]),
        )
        k8s.apps.v1.Deployment(
            f"{name}-autoscaler",
            metadata=deployment["metadata"],
            spec=deployment["spec"],
            opts=child(depends_on=[*after, sa_res, role_res, binding_res]),
        )
