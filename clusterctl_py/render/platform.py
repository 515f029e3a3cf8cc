"""The app platform of one workload cluster, as plain manifests (stacks/platform).

Pure: spec in, dicts out, no I/O. Upstream bundles (the Knative operator,
CloudNativePG, flux-operator, metrics-server, cert-manager's chart) are only
named here by URL or chart; what we write ourselves is rendered in full so
every field is visible to tests and to `generate platform`:

* a `KnativeServing` (operator.knative.dev/v1beta1) that turns on Kourier,
  scale to zero, the cluster's domain and certificates from our ClusterIssuer;
  the provider's load-balancer annotations reach Kourier's Service through
  `spec.services` (the operator overwrites manual edits of what it owns);
* Let's Encrypt ClusterIssuers (staging and production) for cert-manager;
* a StorageClass for CloudNativePG volumes and a `FluxInstance`, when asked.

Config keys are Knative's own (knative/serving config/core/configmaps/*.yaml
at knative-v1.23.0); the operator writes `spec.config.<name>` into ConfigMap
`config-<name>` (knative/operator pkg/reconciler/common/config_maps.go).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import yaml

from clusterctl_py import versions
from clusterctl_py.errors import Problem, SpecError
from clusterctl_py.render.meta import MANAGED_BY, MANAGED_BY_LABEL

if TYPE_CHECKING:
    from clusterctl_py.spec import ClusterSpec, GitopsSpec, PlatformSettings, PlatformSpec

KNATIVE_NAMESPACE = "knative-serving"
KNATIVE_SERVING = "knative-serving"
# The operator installs Kourier into the KnativeServing's namespace
# (knative/operator pkg/reconciler/common/transformers.go InjectNamespace);
# its gateway Service is `kourier` (pkg/reconciler/knativeserving/ingress/kourier.go).
INGRESS_NAMESPACE = KNATIVE_NAMESPACE
INGRESS_SERVICE = "kourier"
KOURIER_INGRESS_CLASS = "kourier.ingress.networking.knative.dev"
CERT_MANAGER_NAMESPACE = "cert-manager"
FLUX_NAMESPACE = "flux-system"
FLUX_INSTANCE = "flux"
# `clusterctl-py app deploy --database` puts CloudNativePG volumes here.
POSTGRES_STORAGE_CLASS = "hcloud-postgres"

ISSUERS = {
    "staging": ("letsencrypt-staging", "https://acme-staging-v02.api.letsencrypt.org/directory"),
    "production": ("letsencrypt-production", "https://acme-v02.api.letsencrypt.org/directory"),
}
# Namespaces that never serve apps: no wildcard certificate (each one counts
# against Let's Encrypt's limits).
SYSTEM_NAMESPACES = (
    "kube-system",
    "kube-public",
    "kube-node-lease",
    KNATIVE_NAMESPACE,
    "knative-operator",
    CERT_MANAGER_NAMESPACE,
    "cnpg-system",
    FLUX_NAMESPACE,
)


def _release(org: str, repo: str, tag: str, asset: str) -> str:
    return versions.GITHUB_RELEASE.format(org=org, repo=repo, tag=tag, asset=asset)


# Release assets (checked at their tags: see versions.py).
KNATIVE_OPERATOR_URL = _release("knative", "operator", versions.KNATIVE_OPERATOR, "operator.yaml")
# The Job that writes `<load balancer IP>.sslip.io` into config-domain once
# Kourier has an address (knative/serving config/post-install/default-domain.yaml,
# cmd/default-domain/main.go); the operator does not ship it.
DEFAULT_DOMAIN_URL = _release("knative", "serving", "knative-" + versions.KNATIVE_SERVING, "serving-default-domain.yaml")
CLOUDNATIVE_PG_URL = _release(
    "cloudnative-pg", "cloudnative-pg", versions.CLOUDNATIVE_PG, f"cnpg-{versions.CLOUDNATIVE_PG.removeprefix('v')}.yaml"
)
FLUX_OPERATOR_URL = _release("controlplaneio-fluxcd", "flux-operator", versions.FLUX_OPERATOR, "install.yaml")
METRICS_SERVER_URL = _release("kubernetes-sigs", "metrics-server", versions.METRICS_SERVER, "components.yaml")


def settings_of(spec: PlatformSpec, cluster: ClusterSpec) -> PlatformSettings:
    """The cluster's platform section, or a SpecError naming where it is missing."""
    if cluster.platform is None:
        index = next(i for i, c in enumerate(spec.clusters) if c.name == cluster.name)
        raise SpecError(
            [Problem(f"clusters[{index}].platform", f"cluster {cluster.name!r} has no platform section; add one (`platform: {{}}` takes the defaults)")]
        )
    return cluster.platform


def _meta(name: str, namespace: str | None = None) -> dict:
    meta: dict = {"name": name, "labels": {MANAGED_BY_LABEL: MANAGED_BY}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def namespace(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(name)}


def load_balancer_name(cluster: ClusterSpec) -> str:
    return f"{cluster.name}-ingress"


def issuer_name(settings: PlatformSettings) -> str | None:
    """The ClusterIssuer Knative asks for certificates; None with TLS off."""
    return None if settings.tls == "off" else ISSUERS[settings.tls][0]


def cluster_issuers(spec: PlatformSpec, cluster: ClusterSpec) -> list[dict]:
    """Both Let's Encrypt issuers (switching is one config change); none with TLS off."""
    settings = settings_of(spec, cluster)
    if settings.tls == "off":
        return []
    if settings.challenge == "dns01":
        solver = {"dns01": {"webhook": dict(spec.provider.dns01_webhook().webhook)}}
    else:
        # Knative's networking layer answers the challenge itself: no ingress class.
        solver = {"http01": {"ingress": {}}}
    issuers = []
    for name, server in ISSUERS.values():
        acme = {"server": server, "privateKeySecretRef": {"name": f"{name}-account"}, "solvers": [solver]}
        if settings.email:
            acme["email"] = settings.email
        issuers.append({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": _meta(name), "spec": {"acme": acme}})
    return issuers


def _yaml(value: object) -> str:
    # Knative parses these ConfigMap values as YAML documents.
    return yaml.safe_dump(value, sort_keys=False)


def knative_serving(spec: PlatformSpec, cluster: ClusterSpec) -> dict:
    settings = settings_of(spec, cluster)
    issuer = issuer_name(settings)
    network = {
        # The operator's default ingress is Istio.
        "ingress-class": KOURIER_INGRESS_CLASS,
        # Not the deprecated `auto-tls`.
        "external-domain-tls": "Disabled" if issuer is None else "Enabled",
    }
    config: dict[str, dict[str, str]] = {
        "network": network,
        "autoscaler": {"enable-scale-to-zero": "true" if settings.scale_to_zero else "false"},
    }
    if settings.domain:
        config["domain"] = {settings.domain: ""}
    # Without a domain the default-domain Job (DEFAULT_DOMAIN_URL) writes
    # `<load balancer IP>.sslip.io`: fine for trying things out, never for
    # production TLS (Let's Encrypt's limit for sslip.io is always used up).
    if issuer is not None:
        config["certmanager"] = {"issuerRef": _yaml({"kind": "ClusterIssuer", "name": issuer})}
        if settings.challenge == "dns01":
            # One wildcard certificate per app namespace instead of one per app.
            network["namespace-wildcard-cert-selector"] = _yaml(
                {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": list(SYSTEM_NAMESPACES)}]}
            )
    return {
        "apiVersion": "operator.knative.dev/v1beta1",
        "kind": "KnativeServing",
        "metadata": _meta(KNATIVE_SERVING, KNATIVE_NAMESPACE),
        "spec": {
            "version": versions.KNATIVE_SERVING.removeprefix("v"),
            "ingress": {"kourier": {"enabled": True, "service-type": "LoadBalancer"}},
            "config": config,
            "services": [
                {
                    "name": INGRESS_SERVICE,
                    "annotations": spec.provider.load_balancer_annotations(spec, cluster, load_balancer_name(cluster)),
                }
            ],
        },
    }


def storage_class(spec: PlatformSpec) -> dict:
    """Volumes for CloudNativePG: bound where the pod lands, growable, gone with their claim."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": _meta(POSTGRES_STORAGE_CLASS),
        "provisioner": spec.provider.volume_provisioner,
        # A volume is zonal: create it once the pod has a node.
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
        "reclaimPolicy": "Delete",
    }


_SCP_URL = re.compile(r"^(?P<user>[A-Za-z0-9._-]+)@(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/].*)$")


def git_url(url: str) -> str:
    """Flux reads only http(s):// and ssh:// URLs (source.toolkit.fluxcd.io/v1
    GitRepository `spec.url` pattern); `git@host:path` becomes `ssh://git@host/path`."""
    match = _SCP_URL.match(url)
    if match is None:
        return url
    return f"ssh://{match['user']}@{match['host']}/{match['path']}"


def flux_instance(gitops: GitopsSpec) -> dict:
    return {
        "apiVersion": "fluxcd.controlplane.io/v1",
        "kind": "FluxInstance",
        # flux-operator reconciles only a FluxInstance named `flux`.
        "metadata": _meta(FLUX_INSTANCE, FLUX_NAMESPACE),
        "spec": {
            "distribution": {"version": versions.FLUX_DISTRIBUTION, "registry": "ghcr.io/fluxcd"},
            "sync": {
                "kind": "GitRepository",
                "url": git_url(gitops.url),
                "ref": f"refs/heads/{gitops.branch}",
                "path": gitops.path,
            },
        },
    }


def upstream_bundles(spec: PlatformSpec, cluster: ClusterSpec) -> list[str]:
    """What the platform stack installs from upstream releases, one line each, in install order."""
    settings = settings_of(spec, cluster)
    bundles = []
    if settings.tls != "off":
        bundles.append(f"cert-manager {versions.CERT_MANAGER} (chart cert-manager from https://charts.jetstack.io)")
        if settings.challenge == "dns01":
            webhook = spec.provider.dns01_webhook()
            bundles.append(f"{webhook.chart} {webhook.version} (chart from {webhook.repo})")
    bundles.append(f"Knative operator: {KNATIVE_OPERATOR_URL}")
    if settings.domain is None:
        bundles.append(f"sslip.io default domain: {DEFAULT_DOMAIN_URL}")
    if settings.postgres:
        bundles.append(f"CloudNativePG: {CLOUDNATIVE_PG_URL}")
    if settings.gitops is not None:
        bundles.append(f"flux-operator: {FLUX_OPERATOR_URL}")
    if settings.metrics_server:
        bundles.append(f"metrics-server: {METRICS_SERVER_URL}")
    return bundles


def render_platform(spec: PlatformSpec, cluster: ClusterSpec) -> list[dict]:
    """Every object of ours the platform stack creates, in creation order."""
    settings = settings_of(spec, cluster)
    objs: list[dict] = []
    issuers = cluster_issuers(spec, cluster)
    if issuers:
        objs.append(namespace(CERT_MANAGER_NAMESPACE))
        objs += issuers
    objs += [namespace(KNATIVE_NAMESPACE), knative_serving(spec, cluster)]
    if settings.postgres:
        objs.append(storage_class(spec))
    if settings.gitops is not None:
        objs.append(flux_instance(settings.gitops))
    return objs
