"""Every pinned upstream version, in one place.

Compatibility facts come from the upstream support tables (CAPI v1.13,
CAPH v1.1.x); a bump here is a deliberate, reviewed change.
"""

from __future__ import annotations

CAPI = "v1.13.5"
CAPH = "v1.1.8"
CAAPH = "v0.6.4"
CERT_MANAGER = "v1.21.1"
# cluster-autoscaler per workload-cluster minor: upstream releases one per
# Kubernetes minor. Each is the newest patch tagged cluster-autoscaler-<x.y.z>
# in kubernetes/autoscaler, and reads v1beta2 `apiGroup` references (added in
# 1.32.3, 1.33.1 and 1.34.0: cluster-autoscaler/cloudprovider/clusterapi/
# clusterapi_unstructured.go).
CLUSTER_AUTOSCALER = {
    (1, 32): "v1.32.7",
    (1, 33): "v1.33.6",
    (1, 34): "v1.34.5",
    (1, 35): "v1.35.2",
    (1, 36): "v1.36.1",
}
HCLOUD_CCM = "v1.35.0"
HCLOUD_CSI = "v2.22.1"
CILIUM = "1.19.6"
K3S = "v1.33.4+k3s1"  # management cluster
# rancher/system-upgrade-controller: moves the management servers to a new
# k3s version (they ignore user-data changes), as the k3s docs do it.
SYSTEM_UPGRADE_CONTROLLER = "v0.20.1"
CONTAINERD = "2.3.1"  # as in CAPH v1.1.8 cluster templates
RUNC = "1.2.5"  # as in CAPH v1.1.8 cluster templates

# Workload clusters: CAPI v1.13 tests v1.30-v1.36, CAPH v1.1.x supports
# v1.32-v1.36; the intersection is what we allow.
KUBERNETES_MIN = (1, 32)
KUBERNETES_MAX = (1, 36)
# Newest patch of each supported minor seen when these pins were checked
# (kubernetes.io/releases/<minor>/, kubernetes/kubernetes tags). `upgrade`
# moves to these, and accepts no newer patch: machines install kubelet and
# kubeadm from pkgs.k8s.io, and a patch not released there never boots.
KUBERNETES_PATCHES = {
    (1, 32): "v1.32.13",
    (1, 33): "v1.33.13",
    (1, 34): "v1.34.11",
    (1, 35): "v1.35.9",
    (1, 36): "v1.36.4",
}

# The app platform (stacks/platform). Knative Serving v1.22 and later refuse
# Kubernetes older than v1.34 (v1.21 needs v1.33): their controllers stop at
# start-up below knative.dev/pkg version/version.go `defaultMinimumVersion`.
# A cluster carrying the platform therefore runs v1.34 or newer.
KNATIVE_SERVING = "v1.23.0"
KNATIVE_MIN_KUBERNETES = (1, 34)
# Knative's operator is released under the same tag as Serving; its release
# asset operator.yaml (knative/operator hack/generate-yamls.sh) installs it,
# and it carries Serving and Kourier of its own version
# (cmd/operator/kodata/knative-serving/1.23.0, kodata/ingress/1.23/kourier).
KNATIVE_OPERATOR = "knative-v1.23.0"
# hetzner/cert-manager-webhook-hetzner: chart 0.9.0 at charts.hetzner.cloud
# (chart/Chart.yaml at tag v0.9.0), for DNS-01 in Hetzner DNS.
CERT_MANAGER_WEBHOOK_HETZNER = "0.9.0"
# cloudnative-pg/cloudnative-pg: release asset cnpg-1.30.0.yaml
# (.github/workflows/release-publish.yml at tag v1.30.0).
CLOUDNATIVE_PG = "v1.30.0"
# controlplaneio-fluxcd/flux-operator: release asset install.yaml (.goreleaser.yml
# at tag v0.58.1); the Flux distribution it ships is config/data/flux-images/VERSION.
FLUX_OPERATOR = "v0.58.1"
FLUX_DISTRIBUTION = "2.9.4"
# kubernetes-sigs/metrics-server: newest release tag, asset components.yaml
# (its helm chart 3.13.1 still ships 0.8.1).
METRICS_SERVER = "v0.9.0"

# Upstream release artefacts, in clusterctl's URL convention.
GITHUB_RELEASE = "https://github.com/{org}/{repo}/releases/download/{tag}/{asset}"


def supported_kubernetes() -> str:
    """Human-readable supported range, for error messages and --help."""
    lo, hi = KUBERNETES_MIN, KUBERNETES_MAX
    return f"v{lo[0]}.{lo[1]} to v{hi[0]}.{hi[1]}"
