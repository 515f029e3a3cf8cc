"""The app platform in one workload cluster, as a Pulumi component.

Order, as `depends_on` edges (Pulumi creates along them and deletes against
them): cert-manager (with its webhook's CA awaited) -> the ClusterIssuers
(and, for DNS-01, the provider's webhook and its token) -> the Knative
operator -> the KnativeServing, awaited until Ready -> the default-domain
Job (no domain given). The Knative controller embeds net-certmanager and
stops at start-up when external-domain-tls is on and cert-manager's CRDs
are missing (knative/serving cmd/controller/main.go certManagerCRDsExist),
so cert-manager comes first. Options (CloudNativePG and its StorageClass,
flux-operator and its FluxInstance, metrics-server) need only the cluster.

On `destroy` the KnativeServing goes before the operator, which removes
Kourier's Service, and the cloud controller then deletes the load balancer.
CRDs are kept (bundles.retain_crds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from clusterctl_py.components.bundles import TRANSFORMS, bundle_provider, cert_manager, retain_crds
from clusterctl_py.components.workload import WAIT_FOR
from clusterctl_py.render import platform as rp
from clusterctl_py.spec import PlatformSpec

# Pulling the Knative and Kourier images and Kourier's load balancer take minutes.
KNATIVE_TIMEOUTS = pulumi.CustomTimeouts(create="30m", update="30m", delete="20m")
# kubernetes-sigs/metrics-server manifests/base/deployment.yaml (in components.yaml).
METRICS_SERVER_DEPLOYMENT = ("kube-system", "metrics-server")
# kubeadm's kubelets serve a self-signed certificate (no serverTLSBootstrap in
# our KubeadmConfig), which metrics-server cannot verify against the cluster
# CA: kubernetes-sigs/metrics-server README.md "Requirements". It reaches
# them on their InternalIP (the private network) first, as its manifest sets.
METRICS_SERVER_EXTRA_ARGS = ("--kubelet-insecure-tls",)


@dataclass
class PlatformArgs:
    spec: PlatformSpec
    cluster_name: str
    # Admin kubeconfig of the workload cluster (kept secret).
    kubeconfig: pulumi.Input[str]
    # The provider's API token, for DNS-01 only (kept secret); None otherwise.
    dns_token: pulumi.Input[str] | None = None


def metrics_server_args(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """Add METRICS_SERVER_EXTRA_ARGS to metrics-server's container."""
    if args.type_ != "kubernetes:apps/v1:Deployment":
        return None
    props = args.props
    meta = props.get("metadata") or {}
    if (meta.get("namespace"), meta.get("name")) != METRICS_SERVER_DEPLOYMENT:
        return None
    spec = dict(props["spec"])
    template = dict(spec["template"])
    pod = dict(template["spec"])
    containers = []
    for container in pod["containers"]:
        container = dict(container)
        if container.get("name") == "metrics-server":
            existing = list(container.get("args") or [])
            container["args"] = existing + [a for a in METRICS_SERVER_EXTRA_ARGS if a not in existing]
        containers.append(container)
    pod["containers"] = containers
    template["spec"] = pod
    spec["template"] = template
    return pulumi.ResourceTransformResult(props={**props, "spec": spec}, opts=args.opts)


def _custom_resource(resource_name: str, obj: dict, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        resource_name, api_version=obj["apiVersion"], kind=obj["kind"], metadata=obj["metadata"], spec=obj["spec"], opts=opts
    )


class Platform(pulumi.ComponentResource):
    """Ingress, certificates, Knative Serving and the options of one workload cluster."""

    ingress_namespace: pulumi.Output[str]
    ingress_service: pulumi.Output[str]
    load_balancer: pulumi.Output[str]
    domain: pulumi.Output[str | None]
    cluster_issuer: pulumi.Output[str | None]

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("clusterctl-py:index:Platform", name, None, opts)
        spec = args.spec
        cluster = spec.cluster(args.cluster_name)
        settings = rp.settings_of(spec, cluster)
        self.provider = bundle_provider(f"{name}-workload", args.kubeconfig, cluster.name, self)

        def child(**kw: Any) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=self.provider, **kw)

        before_knative: list[pulumi.Resource] = []
        issuers = rp.cluster_issuers(spec, cluster)
        if issuers:
            _, chart = cert_manager(name, rp.CERT_MANAGER_NAMESPACE, child)
            issuer_needs: list[pulumi.Resource] = [chart]
            if settings.challenge == "dns01":
                issuer_needs += self._dns01(name, spec, args, chart, child)
            before_knative += [
                _custom_resource(f"{name}-{obj['metadata']['name']}", obj, child(depends_on=issuer_needs)) for obj in issuers
            ]

        operator = k8s.yaml.v2.ConfigGroup(
            f"{name}-knative-operator", files=[rp.KNATIVE_OPERATOR_URL], opts=child(depends_on=before_knative, transforms=TRANSFORMS)
        )
        knative_ns = k8s.core.v1.Namespace(f"{name}-knative-namespace", metadata=rp.namespace(rp.KNATIVE_NAMESPACE)["metadata"], opts=child())
        serving_obj = rp.knative_serving(spec, cluster)
        serving_obj["metadata"]["annotations"] = {WAIT_FOR: "condition=Ready"}
        serving = _custom_resource(
            f"{name}-knative-serving",
            serving_obj,
            child(depends_on=[operator, knative_ns, *before_knative], custom_timeouts=KNATIVE_TIMEOUTS),
        )
        if settings.domain is None:
            # Waits (as a Job) until Kourier's load balancer has an address.
            k8s.yaml.v2.ConfigGroup(
                f"{name}-default-domain",
                files=[rp.DEFAULT_DOMAIN_URL],
                opts=child(depends_on=[serving], custom_timeouts=KNATIVE_TIMEOUTS),
            )

        if settings.postgres:
            k8s.yaml.v2.ConfigGroup(f"{name}-cloudnative-pg", files=[rp.CLOUDNATIVE_PG_URL], opts=child(transforms=TRANSFORMS))
            sc = rp.storage_class(spec)
            k8s.storage.v1.StorageClass(
                f"{name}-postgres-storage",
                metadata=sc["metadata"],
                provisioner=sc["provisioner"],
                volume_binding_mode=sc["volumeBindingMode"],
                allow_volume_expansion=sc["allowVolumeExpansion"],
                reclaim_policy=sc["reclaimPolicy"],
                opts=child(),
            )
        if settings.gitops is not None:
            flux_operator = k8s.yaml.v2.ConfigGroup(
                f"{name}-flux-operator", files=[rp.FLUX_OPERATOR_URL], opts=child(transforms=TRANSFORMS)
            )
            _custom_resource(f"{name}-flux", rp.flux_instance(settings.gitops), child(depends_on=[flux_operator]))
        if settings.metrics_server:
            k8s.yaml.v2.ConfigGroup(
                f"{name}-metrics-server",
                files=[rp.METRICS_SERVER_URL],
                opts=child(transforms=[metrics_server_args, retain_crds]),
            )

        self.ingress_namespace = pulumi.Output.from_input(rp.INGRESS_NAMESPACE)
        self.ingress_service = pulumi.Output.from_input(rp.INGRESS_SERVICE)
        self.load_balancer = pulumi.Output.from_input(rp.load_balancer_name(cluster))
        self.domain = pulumi.Output.from_input(settings.domain)
        self.cluster_issuer = pulumi.Output.from_input(rp.issuer_name(settings))
        self.register_outputs(
            {
                "ingressNamespace": self.ingress_namespace,
                "ingressService": self.ingress_service,
                "loadBalancer": self.load_balancer,
                "domain": self.domain,
                "clusterIssuer": self.cluster_issuer,
            }
        )

    def _dns01(self, name: str, spec: PlatformSpec, args: PlatformArgs, chart: pulumi.Resource, child) -> list[pulumi.Resource]:
        """The provider's DNS-01 webhook and the token it reads, beside cert-manager."""
        if args.dns_token is None:
            raise ValueError("challenge dns01 needs PlatformArgs.dns_token")
        webhook = spec.provider.dns01_webhook()
        token = k8s.core.v1.Secret(
            f"{name}-dns-token",
            metadata={"name": webhook.token_secret, "namespace": rp.CERT_MANAGER_NAMESPACE},
            string_data={webhook.token_key: pulumi.Output.secret(args.dns_token)},
            opts=child(depends_on=[chart], additional_secret_outputs=["data", "stringData"]),
        )
        solver = k8s.helm.v4.Chart(
            f"{name}-dns01-webhook",
            chart=webhook.chart,
            repository_opts=k8s.helm.v4.RepositoryOptsArgs(repo=webhook.repo),
            version=webhook.version,
            namespace=rp.CERT_MANAGER_NAMESPACE,
            values=dict(webhook.values),
            # Its serving certificate comes from cert-manager.
            opts=child(depends_on=[chart], transforms=TRANSFORMS),
        )
        return [token, solver]
