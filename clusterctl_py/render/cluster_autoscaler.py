"""cluster-autoscaler for one workload cluster, running in the management cluster.

It reads the Cluster API objects through its own service account (in-cluster
config, namespace-scoped Role) and the workload cluster's nodes and pods
through the kubeconfig secret CAPI writes (`<cluster>-kubeconfig`, key
`value`). `--clusterapi-cloud-config-authoritative` stops it from using
that workload kubeconfig for the management side too.

Pure: spec in, plain dicts out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clusterctl_py import versions
from clusterctl_py.render.meta import labels, metadata

if TYPE_CHECKING:
    from clusterctl_py.spec import ClusterSpec, PlatformSpec
    from clusterctl_py.providers.base import Manifest

IMAGE = "registry.k8s.io/autoscaling/cluster-autoscaler"
KUBECONFIG_MOUNT = "/mnt/kubeconfig"
KUBECONFIG_KEY = "value"  # CAPI's key in <cluster>-kubeconfig
METRICS_PORT = 8085  # the autoscaler's default --address
NOBODY = 65534

CAPI_GROUP = "cluster.x-k8s.io"


def name(cluster: ClusterSpec) -> str:
    return f"{cluster.name}-cluster-autoscaler"


def kubeconfig_secret_name(cluster: str) -> str:
    """Where CAPI keeps a workload cluster's admin kubeconfig (kubernetes-sigs/cluster-api util/secret/secret.go Name)."""
    return f"{cluster}-kubeconfig"


def kubeconfig_secret(cluster: ClusterSpec) -> str:
    return kubeconfig_secret_name(cluster.name)


def discovery(cluster: ClusterSpec) -> str:
    return f"clusterapi:namespace={cluster.ns},clusterName={cluster.name}"


def args(cluster: ClusterSpec) -> list[str]:
    return [
        "--cloud-provider=clusterapi",
        f"--node-group-auto-discovery={discovery(cluster)}",
        f"--kubeconfig={KUBECONFIG_MOUNT}/{KUBECONFIG_KEY}",
        "--clusterapi-cloud-config-authoritative",
        # A pool split over several placement groups is several MachineDeployments
        # with identical nodes; balancing spreads new nodes over them.
        "--balance-similar-node-groups",
        "--expander=least-waste",
        # Raising a pool's min in the spec takes effect without waiting for load.
        "--enforce-node-group-min-size",
        "--scale-down-enabled=true",
        "--scale-down-delay-after-add=10m",
        "--scale-down-unneeded-time=10m",
        "--scale-down-utilization-threshold=0.5",
        # emptyDir (caches, scratch) should not pin a node forever.
        "--skip-nodes-with-local-storage=false",
        # A new Hetzner server installs containerd and kubeadm before it joins.
        "--max-node-provision-time=20m",
        "--v=2",
    ]


def _component_labels(cluster: ClusterSpec) -> dict[str, str]:
    return {"app.kubernetes.io/name": "cluster-autoscaler", "app.kubernetes.io/instance": cluster.name}


def _meta(cluster: ClusterSpec) -> dict:
    """Metadata shared by the autoscaler's objects: the cluster's labels plus its own."""
    meta = metadata(name(cluster), cluster)
    meta["labels"] = {**meta["labels"], **_component_labels(cluster)}
    return meta


def service_account(cluster: ClusterSpec) -> Manifest:
    meta = _meta(cluster)
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}


def role(spec: PlatformSpec, cluster: ClusterSpec) -> Manifest:
    """Only what the clusterapi provider touches, only in this cluster's namespace.

    The provider's informers watch just the namespace named in the discovery
    spec, so a Role is enough (no ClusterRole).
    """
    meta = _meta(cluster)
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta,
        "rules": [
            {
                # Node groups and their scale subresource. 1.33+ resizes with a merge
                # PATCH of /scale, 1.32 with an UPDATE (kubernetes/autoscaler
                # cluster-autoscaler/cloudprovider/clusterapi/clusterapi_unstructured.go
                # SetSize; upstream's examples/deployment.yaml gained patch likewise).
                "apiGroups": [CAPI_GROUP],
                "resources": [
                    "machinedeployments",
                    "machinedeployments/scale",
                    "machinepools",
                    "machinepools/scale",
                ],
                "verbs": ["get", "list", "watch", "update", "patch"],
            },
            {
                # Update marks the machine chosen for removal before scaling down.
                "apiGroups": [CAPI_GROUP],
                "resources": ["machines"],
                "verbs": ["get", "list", "watch", "update"],
            },
            {
                "apiGroups": [CAPI_GROUP],
                "resources": ["machinesets"],
                "verbs": ["get", "list", "watch"],
            },
            {
                # Scale from zero reads capacity from the infrastructure templates.
                "apiGroups": [spec.provider.api_group],
                "resources": [spec.provider.machine_template_kind.lower() + "s"],
                "verbs": ["get", "list", "watch"],
            },
        ],
    }


def role_binding(cluster: ClusterSpec) -> Manifest:
    meta = _meta(cluster)
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name(cluster)},
        "subjects": [{"kind": "ServiceAccount", "name": name(cluster), "namespace": cluster.ns}],
    }


def image(cluster: ClusterSpec) -> str:
    """The autoscaler release made for the workload cluster's minor."""
    return f"{IMAGE}:{versions.CLUSTER_AUTOSCALER[cluster.minor]}"


def deployment(cluster: ClusterSpec) -> Manifest:
    selector = _component_labels(cluster)
    meta = _meta(cluster)
    container = {
        "name": "cluster-autoscaler",
        "image": image(cluster),
        "command": ["/cluster-autoscaler"],
        "args": args(cluster),
        "ports": [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
        "livenessProbe": {
            "httpGet": {"path": "/health-check", "port": "metrics"},
            "initialDelaySeconds": 30,
            "periodSeconds": 30,
        },
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"memory": "600Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "kubeconfig", "mountPath": KUBECONFIG_MOUNT, "readOnly": True}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            # One instance per cluster; it elects a leader in the workload cluster anyway.
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": {**labels(cluster), **selector}},
                "spec": {
                    "serviceAccountName": name(cluster),
                    "automountServiceAccountToken": True,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 10,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": NOBODY,
                        "runAsGroup": NOBODY,
                        # Group ownership lets the non-root user read the 0440 kubeconfig.
                        "fsGroup": NOBODY,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "kubeconfig",
                            "secret": {
                                "secretName": kubeconfig_secret(cluster),
                                "items": [{"key": KUBECONFIG_KEY, "path": KUBECONFIG_KEY}],
                                "defaultMode": 0o440,
                            },
                        }
                    ],
                },
            },
        },
    }


def render_cluster_autoscaler(spec: PlatformSpec, cluster: ClusterSpec) -> list[Manifest]:
    """ServiceAccount, Role, RoleBinding, Deployment, in that order."""
    return [service_account(cluster), role(spec, cluster), role_binding(cluster), deployment(cluster)]
