"""One workload cluster as the Cluster API objects a management cluster needs.

Pure: spec in, list of plain dicts out, in a stable order (namespace first,
then the objects referenced before the objects that reference them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clusterctl_py.render import addons, autoscaler, kubeadm
from clusterctl_py.node_labels import NODE_ROLE_DOMAIN
from clusterctl_py.render.meta import CLUSTER_NAME_LABEL, labels, metadata
from clusterctl_py.render.naming import template_name
from clusterctl_py.providers.base import MachineRole, Manifest

if TYPE_CHECKING:
    from clusterctl_py.spec import ClusterSpec, PlatformSpec, PoolSpec
    from clusterctl_py.providers.base import InfrastructureProvider, NodeGroup

CAPI = "cluster.x-k8s.io/v1beta2"
BOOTSTRAP = "bootstrap.cluster.x-k8s.io/v1beta2"
CONTROLPLANE = "controlplane.cluster.x-k8s.io/v1beta2"
POOL_LABEL = "node.cluster.x-k8s.io/pool"  # CAPI copies node.cluster.x-k8s.io/* labels to the Node
DEPLOYMENT_LABEL = "cluster.x-k8s.io/deployment-name"
CONTROL_PLANE_LABEL = "cluster.x-k8s.io/control-plane"


def control_plane_name(cluster: ClusterSpec) -> str:
    return f"{cluster.name}-control-plane"


def deployment_name(cluster: ClusterSpec, pool: PoolSpec, group: NodeGroup) -> str:
    return f"{cluster.name}-{pool.name}{group.suffix}"


def render_cluster(spec: PlatformSpec, cluster: ClusterSpec) -> list[Manifest]:
    provider = spec.provider
    objs: list[Manifest] = [namespace(cluster), capi_cluster(cluster, provider)]
    objs.append(provider.infra_cluster(spec, cluster))
    objs += control_plane(spec, cluster, provider)
    for pool in cluster.pools:
        bootstrap = bootstrap_template(cluster, pool)
        objs.append(bootstrap)
        for group in provider.node_groups(cluster, pool):
            objs += node_group(spec, cluster, pool, group, provider, bootstrap["metadata"]["name"])
    objs += health_checks(cluster, provider)
    # CNI, cloud controller and CSI, installed by CAAPH once the cluster answers.
    objs += addons.render_addons(spec, cluster)
    return objs


def namespace(cluster: ClusterSpec) -> Manifest:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": cluster.ns, "labels": labels(cluster)}}


def _ref(api_group: str, kind: str, name: str) -> dict:
    return {"apiGroup": api_group, "kind": kind, "name": name}


def capi_cluster(cluster: ClusterSpec, provider: InfrastructureProvider) -> Manifest:
    return {
        "apiVersion": CAPI,
        "kind": "Cluster",
        # The add-on HelmChartProxies select the Cluster by these labels.
        "metadata": metadata(cluster.name, cluster, labels={**labels(cluster), **addons.cluster_labels(cluster)}),
        "spec": {
            "clusterNetwork": {
                "pods": {"cidrBlocks": [cluster.pod_cidr]},
                "services": {"cidrBlocks": [cluster.service_cidr]},
            },
            "infrastructureRef": _ref(provider.api_group, provider.cluster_kind, cluster.name),
            "controlPlaneRef": _ref("controlplane.cluster.x-k8s.io", "KubeadmControlPlane", control_plane_name(cluster)),
        },
    }


def _machine_template(
    spec: PlatformSpec, cluster: ClusterSpec, provider: InfrastructureProvider, role: MachineRole
) -> Manifest:
    body = provider.machine_template_spec(spec, cluster, role)
    return provider.machine_template(cluster, template_name(cluster.name, role.name, body), body)


def control_plane(spec: PlatformSpec, cluster: ClusterSpec, provider: InfrastructureProvider) -> list[Manifest]:
    cp = cluster.control_plane
    role = MachineRole("control-plane", cp.server_type, provider.control_plane_placement(cluster))
    template = _machine_template(spec, cluster, provider, role)
    kubelet = kubeadm.args(cloud_provider="external")
    kcp = {
        "apiVersion": CONTROLPLANE,
        "kind": "KubeadmControlPlane",
        "metadata": metadata(control_plane_name(cluster), cluster),
        "spec": {
            "replicas": cp.replicas,
            "version": cluster.kubernetes_version,
            "machineTemplate": {
                "spec": {
                    "infrastructureRef": _ref(
                        provider.api_group, provider.machine_template_kind, template["metadata"]["name"]
                    )
                }
            },
            "kubeadmConfigSpec": {
                "clusterConfiguration": {
                    "apiServer": {
                        "extraArgs": kubeadm.args(kubelet_preferred_address_types="InternalIP,ExternalIP,Hostname")
                    },
                    "controllerManager": {"extraArgs": kubeadm.args(cloud_provider="external")},
                },
                "initConfiguration": {"nodeRegistration": {"kubeletExtraArgs": kubelet}},
                "joinConfiguration": {"nodeRegistration": {"kubeletExtraArgs": kubelet}},
                "files": kubeadm.files(),
                "preKubeadmCommands": kubeadm.install_commands(cluster.kubernetes_version),
            },
        },
    }
    return [template, kcp]


def _synced_by_capi(key: str) -> bool:
    # The kubelet refuses to start with these in --node-labels; CAPI copies them from the Machine.
    return key.rpartition("/")[0] == NODE_ROLE_DOMAIN


def _node_labels(pool: PoolSpec) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(pool.labels.items()) if not _synced_by_capi(k))


def _machine_labels(pool: PoolSpec) -> dict[str, str]:
    return {k: v for k, v in sorted(pool.labels.items()) if _synced_by_capi(k)}


def bootstrap_template(cluster: ClusterSpec, pool: PoolSpec) -> Manifest:
    """The pool's KubeadmConfigTemplate, shared by all its node groups."""
    registration: dict = {"kubeletExtraArgs": kubeadm.args(cloud_provider="external")}
    if _node_labels(pool):
        registration["kubeletExtraArgs"] += kubeadm.args(node_labels=_node_labels(pool))
    if pool.taints:
        registration["taints"] = [
            # Sorted: the kubelet registers a set, so reordering them in the spec must not roll the pool.
            {"key": t.key, **({"value": t.value} if t.value else {}), "effect": t.effect}
            for t in sorted(pool.taints, key=lambda t: (t.key, t.effect, t.value))
        ]
    body = {
        "template": {
            "spec": {
                "joinConfiguration": {"nodeRegistration": registration},
                "files": kubeadm.files(),
                "preKubeadmCommands": kubeadm.install_commands(cluster.kubernetes_version),
            }
        }
    }
    return {
        "apiVersion": BOOTSTRAP,
        "kind": "KubeadmConfigTemplate",
        "metadata": metadata(template_name(cluster.name, pool.name, body), cluster),
        "spec": body,
    }


def node_group(
    spec: PlatformSpec,
    cluster: ClusterSpec,
    pool: PoolSpec,
    group: NodeGroup,
    provider: InfrastructureProvider,
    bootstrap_name: str,
) -> list[Manifest]:
    name = deployment_name(cluster, pool, group)
    role = MachineRole(f"{pool.name}{group.suffix}", pool.server_type, group.placement_group)
    infra = _machine_template(spec, cluster, provider, role)

    selector = {CLUSTER_NAME_LABEL: cluster.name, DEPLOYMENT_LABEL: name}
    shape = provider.machine_shape(pool.server_type)
    md = {
        "apiVersion": CAPI,
        "kind": "MachineDeployment",
        "metadata": metadata(
            name,
            cluster,
            annotations=autoscaler.annotations(pool, group, shape, spec.location_of(cluster), {POOL_LABEL: pool.name}),
        ),
        # spec.replicas stays unset: CAPI starts at the min-size annotation and
        # the autoscaler owns it from then on.
        "spec": {
            "clusterName": cluster.name,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": {**_machine_labels(pool), **selector, POOL_LABEL: pool.name}},
                "spec": {
                    "clusterName": cluster.name,
                    "version": cluster.kubernetes_version,
                    "failureDomain": spec.location_of(cluster),
                    "bootstrap": {
                        "configRef": _ref("bootstrap.cluster.x-k8s.io", "KubeadmConfigTemplate", bootstrap_name)
                    },
                    "infrastructureRef": _ref(provider.api_group, provider.machine_template_kind, infra["metadata"]["name"]),
                },
            },
        },
    }
    md["metadata"]["labels"] = {**md["metadata"]["labels"], POOL_LABEL: pool.name}
    return [infra, md]


def _unhealthy(timeout: int) -> list[dict]:
    return [
        {"type": "Ready", "status": status, "timeoutSeconds": timeout} for status in ("Unknown", "False")
    ]


def health_checks(cluster: ClusterSpec, provider: InfrastructureProvider) -> list[Manifest]:
    """One MachineHealthCheck for the control plane and one per pool."""
    objs: list[Manifest] = []
    targets = [("control-plane", {CONTROL_PLANE_LABEL: ""}, 900, "control-plane")]
    targets += [(pool.name, {POOL_LABEL: pool.name}, 600, "worker") for pool in cluster.pools]
    remediations: dict[str, Manifest | None] = {}
    for kind in ("control-plane", "worker"):
        remediations[kind] = provider.remediation_template(cluster, f"{cluster.name}-{kind}-remediation")
        if remediations[kind] is not None:
            objs.append(remediations[kind])
    for name, match, startup, kind in targets:
        mhc_spec: dict = {
            "clusterName": cluster.name,
            "selector": {"matchLabels": match},
            "checks": {"nodeStartupTimeoutSeconds": startup, "unhealthyNodeConditions": _unhealthy(300)},
            # Never remediate more than one control-plane machine at a time; etcd quorum first.
            "remediation": {"triggerIf": {"unhealthyLessThanOrEqualTo": "40%" if kind == "worker" else 1}},
        }
        remediation = remediations[kind]
        if remediation is not None:
            mhc_spec["remediation"]["templateRef"] = {
                "apiVersion": remediation["apiVersion"],
                "kind": remediation["kind"],
                "name": remediation["metadata"]["name"],
            }
        objs.append(
            {
                "apiVersion": CAPI,
                "kind": "MachineHealthCheck",
                "metadata": metadata(f"{cluster.name}-{name}-unhealthy", cluster),
                "spec": mhc_spec,
            }
        )
    return objs
