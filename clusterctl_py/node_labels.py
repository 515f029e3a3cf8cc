"""Node labels as the kubelet and Cluster API treat them.

Which keys the kubelet accepts in --node-labels, which it sets itself, and
which Cluster API owns or copies from a Machine to its Node. Shared by the
spec (what a pool may ask for) and the renderer (where each label goes).
"""

from __future__ import annotations

# The kubelet refuses --node-labels in the kubernetes.io / k8s.io namespaces
# unless IsKubeletLabel allows them: kubernetes/kubernetes
# cmd/kubelet/app/options/options.go (ValidateKubeletFlags) and
# staging/src/k8s.io/kubelet/pkg/apis/well_known_labels.go (KubeletLabels,
# KubeletLabelNamespaces, IsKubeletLabel).
KUBELET_LABELS = frozenset(
    {
        "kubernetes.io/hostname",
        "kubernetes.io/os",
        "kubernetes.io/arch",
        "beta.kubernetes.io/os",
        "beta.kubernetes.io/arch",
        "beta.kubernetes.io/instance-type",
        "node.kubernetes.io/instance-type",
        "topology.kubernetes.io/zone",
        "topology.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/zone",
        "failure-domain.beta.kubernetes.io/region",
    }
)
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")
# The kubelet sets these from its own machine, and --node-labels overwrites
# them (kubernetes/kubernetes pkg/kubelet/kubelet_node_status.go, initialNode):
# one value for every node of a pool would be wrong on all but one.
KUBELET_OWN_LABELS = frozenset(
    {"kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/arch"}
)
# Cluster API v1.13 copies node-role.kubernetes.io/* labels from the Machine to
# its Node (kubernetes-sigs/cluster-api util/labels/helpers.go GetManagedLabels,
# called from internal/controllers/machine/machine_controller_noderef.go), so
# the renderer puts them on the Machine instead of --node-labels.
NODE_ROLE_DOMAIN = "node-role.kubernetes.io"
# KubeadmControlPlane lists its nodes by node-role.kubernetes.io/control-plane
# (cluster-api controlplane/kubeadm/internal/workload_cluster.go); a worker
# carrying it would be taken for a control-plane node.
CONTROL_PLANE_ROLE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
# CAPI's own labels (cluster.x-k8s.io/cluster-name, node.cluster.x-k8s.io/pool,
# ...) drive its selectors and the autoscaler's node-group templates.
CAPI_LABEL_DOMAIN = "cluster.x-k8s.io"


def in_domain(prefix: str, domain: str) -> bool:
    return prefix == domain or prefix.endswith("." + domain)


def is_kubernetes_label(key: str) -> bool:
    """Whether the key's prefix is kubernetes.io / k8s.io or a subdomain (the kubelet's rule)."""
    prefix = key.rpartition("/")[0]
    return in_domain(prefix, "kubernetes.io") or in_domain(prefix, "k8s.io")


def is_kubelet_label(key: str) -> bool:
    """IsKubeletLabel: a label the kubelet may set on its own Node."""
    prefix = key.rpartition("/")[0]
    return key in KUBELET_LABELS or any(in_domain(prefix, ns) for ns in KUBELET_LABEL_NAMESPACES)
