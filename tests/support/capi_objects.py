"""Objects a management cluster holds for a workload cluster, as CAPI v1.13, CAPH v1.1 and CAAPH v0.6 write them.

`workload_cluster()` builds a Cluster with its HetznerCluster, KubeadmControlPlane,
MachineDeployments, MachineSets, Machines (with `status.nodeRef`, versions and
`nodeInfo`), HCloudMachines, MachineHealthChecks, HelmReleaseProxies, the
cluster-autoscaler Deployment and the `<cluster>-kubeconfig` Secret, with
counters and conditions that agree with each other the way the controllers
keep them. tests/test_kube_api.py checks every object against the pinned CRDs.

Condition types, reasons and messages are those of the pinned releases:

* kubernetes-sigs/cluster-api v1.13.5 api/core/v1beta2/condition_consts.go,
  cluster_types.go, machine_types.go, machinedeployment_types.go,
  machineset_types.go; api/controlplane/kubeadm/v1beta2/kubeadm_control_plane_types.go;
  messages from internal/controllers/machine/machine_controller_status.go
  (Available is False with reason NotReady while Ready is not True) and
  internal/controllers/machinedeployment/machinedeployment_status.go
  ("%d available replicas, at least %d required").
* syself/cluster-api-provider-hetzner v1.1.8 api/v1beta1/conditions_const.go
  (v1beta1 conditions in status.conditions, v1beta2 ones in status.v1beta2.conditions).
* kubernetes-sigs/cluster-api-addon-provider-helm v0.6.4
  api/v1alpha1/condition_consts.go and helmreleaseproxy_types.go (labels
  cluster.x-k8s.io/cluster-name and helmreleaseproxy.addons.cluster.x-k8s.io/helmchartproxy-name,
  Ready summarising ClusterAvailable and HelmReleaseReady).

Upstream names are spelled out here, never imported from clusterctl_py.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)

CAPI = "cluster.x-k8s.io/v1beta2"
KCP_API = "controlplane.cluster.x-k8s.io/v1beta2"
BOOTSTRAP_API = "bootstrap.cluster.x-k8s.io/v1beta2"
CAPH_API = "infrastructure.cluster.x-k8s.io/v1beta1"
CAAPH_API = "addons.cluster.x-k8s.io/v1alpha1"
INVENTORY_API = "clusterctl.cluster.x-k8s.io/v1alpha3"


@dataclass(frozen=True)
class Pool:
    """A MachineDeployment: `replicas` machines, of which `not_ready` have a node that is not Ready
    and `provisioning` have no node yet; `version` defaults to the cluster's."""

    name: str
    replicas: int
    not_ready: int = 0
    provisioning: int = 0
    version: str | None = None
    min_size: int | None = None
    max_size: int | None = None


def ts(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _suffix(*parts: Any, n: int = 5) -> str:
    # Deterministic stand-ins for the random suffixes the controllers append.
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:n])


def _uid(*parts: Any) -> str:
    h = hashlib.sha256(("uid/" + "/".join(map(str, parts))).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def condition(type_: str, status: str, reason: str, since: datetime, message: str = "", generation: int = 1) -> dict[str, Any]:
    # metav1.Condition: message is required, and empty when there is nothing to say.
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": ts(since), "observedGeneration": generation}


def _meta(name: str, namespace: str, cluster: str, created: datetime, *, labels=None, owner=None, annotations=None, uid_parts=()) -> dict:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": _uid(namespace, name, *uid_parts),
        "creationTimestamp": ts(created),
        "generation": 1,
        "resourceVersion": "1",
        "labels": {"cluster.x-k8s.io/cluster-name": cluster, **(labels or {})},
    }
    if annotations:
        meta["annotations"] = annotations
    if owner:
        meta["ownerReferences"] = [owner]
    return meta


def _owner(obj: dict, controller: bool = True) -> dict:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


# --------------------------------------------------------------------------- machines


def _machine(
    cluster: str,
    namespace: str,
    name: str,
    infra_name: str,
    version: str,
    created: datetime,
    owner: dict,
    *,
    control_plane: str | None,
    deployment: str | None,
    machine_set: str | None,
    state: str,  # ready | not_ready | provisioning
    arch: str,
    server_type: str,
    index: int,
    target: str,
) -> tuple[dict, dict]:
    labels: dict[str, str] = {}
    if control_plane:
        labels["cluster.x-k8s.io/control-plane"] = ""
        labels["cluster.x-k8s.io/control-plane-name"] = control_plane
    if deployment:
        labels["cluster.x-k8s.io/deployment-name"] = deployment
        labels["cluster.x-k8s.io/set-name"] = machine_set
        labels["machine-template-hash"] = machine_set.rsplit("-", 1)[-1]
    server_id = 40_000_000 + int(hashlib.sha256(infra_name.encode()).hexdigest()[:6], 16)
    provider_id = f"hcloud://{server_id}"
    ready_at = created + timedelta(minutes=4)
    generation = 1
    # A machine on another version than its owner asks for is not up to date
    # (internal/controllers/machinedeployment/mdutil/util.go: "Version <current>, <desired> required").
    up_to_date = (
        condition("UpToDate", "True", "UpToDate", created)
        if version == target
        else condition("UpToDate", "False", "NotUpToDate", NOW - timedelta(minutes=3), f"* Version {version}, {target} required")
    )
    conds: list[dict] = []
    if state == "ready":
        conds = [
            condition("Available", "True", "Available", ready_at),
            condition("Ready", "True", "Ready", ready_at),
            up_to_date,
            condition("BootstrapConfigReady", "True", "Ready", created + timedelta(seconds=20)),
            condition("InfrastructureReady", "True", "Ready", created + timedelta(minutes=2)),
            condition("NodeHealthy", "True", "NodeHealthy", ready_at),
            condition("NodeReady", "True", "NodeReady", ready_at),
            condition("Updating", "False", "NotUpdating", created),
            condition("Deleting", "False", "NotDeleting", created),
            condition("Paused", "False", "NotPaused", created),
        ]
    elif state == "not_ready":
        broke = NOW - timedelta(minutes=7 + index)
        msg = "* Node.Ready: kubelet is NOT ready"
        conds = [
            condition("Available", "False", "NotReady", broke),
            condition("Ready", "False", "NotReady", broke, "* NodeHealthy:\n  * Node.Ready: kubelet is NOT ready"),
            up_to_date,
            condition("BootstrapConfigReady", "True", "Ready", created + timedelta(seconds=20)),
            condition("InfrastructureReady", "True", "Ready", created + timedelta(minutes=2)),
            condition("NodeHealthy", "False", "NodeNotHealthy", broke, msg),
            condition("NodeReady", "False", "NodeNotReady", broke, msg),
            condition("Updating", "False", "NotUpdating", created),
            condition("Deleting", "False", "NotDeleting", created),
            condition("Paused", "False", "NotPaused", created),
        ]
    else:  # provisioning: the server exists, no Node yet
        waiting = f"Waiting for a Node with spec.providerID {provider_id} to exist"
        conds = [
            condition("Available", "False", "NotReady", created),
            condition("Ready", "False", "NotReady", created, f"* NodeHealthy: {waiting}"),
            up_to_date,
            condition("BootstrapConfigReady", "True", "Ready", created + timedelta(seconds=20)),
            condition("InfrastructureReady", "True", "Ready", created + timedelta(minutes=2)),
            condition("NodeHealthy", "Unknown", "NodeDoesNotExist", created, waiting),
            condition("NodeReady", "Unknown", "NodeDoesNotExist", created, waiting),
            condition("Updating", "False", "NotUpdating", created),
            condition("Deleting", "False", "NotDeleting", created),
            condition("Paused", "False", "NotPaused", created),
        ]
    if control_plane and state == "ready":
        conds += [
            condition(t, "True", "Running", ready_at)
            for t in ("APIServerPodHealthy", "ControllerManagerPodHealthy", "SchedulerPodHealthy", "EtcdPodHealthy")
        ] + [condition("EtcdMemberHealthy", "True", "Healthy", ready_at)]
    machine = {
        "apiVersion": CAPI,
        "kind": "Machine",
        "metadata": {
            **_meta(name, namespace, cluster, created, labels=labels, owner=_owner(owner)),
            "finalizers": ["machine.cluster.x-k8s.io"],
        },
        "spec": {
            "clusterName": cluster,
            "version": version,
            "bootstrap": {
                "configRef": {"apiGroup": "bootstrap.cluster.x-k8s.io", "kind": "KubeadmConfig", "name": name},
                "dataSecretName": name,
            },
            "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "HCloudMachine", "name": infra_name},
            "providerID": provider_id,
            "failureDomain": "nbg1",
        },
        "status": {
            "phase": "Running" if state != "provisioning" else "Provisioned",
            "observedGeneration": generation,
            "initialization": {"bootstrapDataSecretCreated": True, "infrastructureProvisioned": True},
            "addresses": [
                {"type": "ExternalIP", "address": f"198.51.100.{(index % 250) + 1}"},
                {"type": "InternalIP", "address": f"10.0.{index // 250}.{(index % 250) + 2}"},
            ],
            "lastUpdated": ts(ready_at),
            "conditions": conds,
        },
    }
    if control_plane:
        machine["status"]["certificatesExpiryDate"] = ts(created + timedelta(days=365))
    if state != "provisioning":
        machine["status"]["nodeRef"] = {"name": infra_name}
        machine["status"]["nodeInfo"] = {
            "architecture": arch,
            "bootID": _uid("boot", infra_name),
            "containerRuntimeVersion": "containerd://2.3.1",
            "kernelVersion": "6.12.38+deb13-amd64" if arch == "amd64" else "6.12.38+deb13-arm64",
            "kubeProxyVersion": "",
            "kubeletVersion": version,
            "machineID": hashlib.md5(infra_name.encode()).hexdigest(),
            "operatingSystem": "linux",
            "osImage": "Debian GNU/Linux 13 (trixie)",
            "systemUUID": _uid("system", infra_name),
        }
    hcloud_machine = {
        "apiVersion": CAPH_API,
        "kind": "HCloudMachine",
        "metadata": {
            **_meta(infra_name, namespace, cluster, created, owner=_owner(machine)),
            "finalizers": ["hcloudmachine.infrastructure.cluster.x-k8s.io"],
        },
        "spec": {
            "type": server_type,
            "imageName": "debian-13",
            "providerID": provider_id,
            "placementGroupName": "control-plane" if control_plane else deployment.removeprefix(f"{cluster}-"),
            "sshKeys": [{"name": "ops"}],
            "publicNetwork": {"enableIPv4": True, "enableIPv6": True},
        },
        "status": {
            "ready": True,
            "instanceState": "running",
            "region": "nbg1",
            "bootState": "OperatingSystemRunning",
            "bootStateSince": ts(created + timedelta(minutes=2)),
            "addresses": [
                {"type": "ExternalIP", "address": machine["status"]["addresses"][0]["address"]},
                {"type": "InternalIP", "address": machine["status"]["addresses"][1]["address"]},
            ],
            "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": ts(created + timedelta(minutes=2))},
                {"type": "ServerAvailable", "status": "True", "lastTransitionTime": ts(created + timedelta(minutes=2))},
                {"type": "ServerCreateSucceeded", "status": "True", "lastTransitionTime": ts(created + timedelta(minutes=1))},
                {"type": "ServerProvisioned", "status": "True", "lastTransitionTime": ts(created + timedelta(minutes=2))},
            ],
            "v1beta2": {
                "conditions": [
                    condition("Ready", "True", "Ready", created + timedelta(minutes=2)),
                    condition("ServerCreated", "True", "Created", created + timedelta(minutes=1)),
                    condition("ServerProvisioned", "True", "Provisioned", created + timedelta(minutes=2)),
                ]
            },
        },
    }
    return machine, hcloud_machine


# --------------------------------------------------------------------------- the cluster


def workload_cluster(
    name: str = "prod",
    *,
    namespace: str | None = None,
    version: str = "v1.33.4",
    control_plane: int = 3,
    cp_not_ready: int = 0,
    cp_version: str | None = None,
    pools: tuple[Pool, ...] = (Pool("general", 2, min_size=1, max_size=10),),
    created: datetime = NOW - timedelta(days=12),
    addons: bool = True,
    autoscaler: bool = True,
    kubeconfig: str | None = None,
) -> list[dict[str, Any]]:
    """Every object of one workload cluster in the management cluster; `cp_version` is what the
    control plane machines run (default: `version`), for clusters caught mid-upgrade."""
    ns = namespace or name
    objs: list[dict[str, Any]] = []
    kcp_name = f"{name}-control-plane"
    cp_running = cp_version or version

    # ---- control plane machines
    kcp = {
        "apiVersion": KCP_API,
        "kind": "KubeadmControlPlane",
        "metadata": {**_meta(kcp_name, ns, name, created), "finalizers": ["kubeadm.controlplane.cluster.x-k8s.io"]},
    }
    cp_machines, infra = [], []
    for i in range(control_plane):
        state = "not_ready" if i < cp_not_ready else "ready"
        m, h = _machine(
            name, ns, f"{kcp_name}-{_suffix(kcp_name, i)}", f"{name}-control-plane-{_suffix('cp', name, i, n=5)}",
            cp_running, created + timedelta(minutes=6 * i), kcp,
            control_plane=kcp_name, deployment=None, machine_set=None, state=state, arch="amd64",
            server_type="cpx22", index=i, target=version,
        )
        cp_machines.append(m)
        infra.append(h)
    cp_ready = control_plane - cp_not_ready
    cp_up_to_date = control_plane if cp_running == version else 0
    kcp.update({
        "spec": {
            "replicas": control_plane,
            "version": version,
            "machineTemplate": {
                "spec": {
                    "infrastructureRef": {
                        "apiGroup": "infrastructure.cluster.x-k8s.io",
                        "kind": "HCloudMachineTemplate",
                        "name": f"{name}-control-plane-1a2b3c4d",
                    }
                }
            },
            "kubeadmConfigSpec": {"clusterConfiguration": {"controllerManager": {"extraArgs": [{"name": "cloud-provider", "value": "external"}]}}},
            "rollout": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}},
        },
        "status": {
            "selector": f"cluster.x-k8s.io/cluster-name={name},cluster.x-k8s.io/control-plane",
            "replicas": control_plane,
            "readyReplicas": cp_ready,
            "availableReplicas": cp_ready,
            "upToDateReplicas": cp_up_to_date,
            "version": min(cp_running, version, key=_version_key),
            "observedGeneration": 1,
            "initialization": {"controlPlaneInitialized": True},
            "conditions": _kcp_conditions(created, control_plane, cp_ready, cp_up_to_date, version, cp_running),
        },
    })
    objs.append(kcp)

    # ---- worker machines
    mds, sets, workers = [], [], []
    index = control_plane
    for pool in pools:
        md_name = f"{name}-{pool.name}"
        md_created = created + timedelta(minutes=2)
        ms_name = f"{md_name}-{_suffix(md_name, 'ms', n=10)}"
        pool_version = pool.version or version
        annotations = {}
        if pool.min_size is not None:
            annotations["cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size"] = str(pool.min_size)
        if pool.max_size is not None:
            annotations["cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size"] = str(pool.max_size)
        md = {
            "apiVersion": CAPI,
            "kind": "MachineDeployment",
            "metadata": _meta(md_name, ns, name, md_created, annotations=annotations or None),
        }
        ms = {
            "apiVersion": CAPI,
            "kind": "MachineSet",
            "metadata": _meta(
                ms_name, ns, name, md_created,
                labels={"cluster.x-k8s.io/deployment-name": md_name, "machine-template-hash": ms_name.rsplit("-", 1)[-1]},
                owner=_owner(md),
            ),
        }
        machines = []
        arch = "arm64" if "arm" in pool.name else "amd64"
        for j in range(pool.replicas):
            state = "provisioning" if j < pool.provisioning else ("not_ready" if j < pool.provisioning + pool.not_ready else "ready")
            m, h = _machine(
                name, ns, f"{ms_name}-{_suffix(ms_name, j)}", f"{md_name}-{_suffix('infra', md_name, j, n=8)}",
                pool_version, md_created + timedelta(minutes=5 + j), ms,
                control_plane=None, deployment=md_name, machine_set=ms_name, state=state, arch=arch,
                server_type="cax21" if arch == "arm64" else "cpx32", index=index, target=version,
            )
            index += 1
            machines.append(m)
            infra.append(h)
        ready = sum(1 for m in machines if _cond(m, "Ready") == "True")
        up_to_date = pool.replicas if pool_version == version else 0
        template = {
            "metadata": {"labels": {"cluster.x-k8s.io/cluster-name": name, "cluster.x-k8s.io/deployment-name": md_name}},
            "spec": {
                "clusterName": name,
                "version": version,
                "bootstrap": {"configRef": {"apiGroup": "bootstrap.cluster.x-k8s.io", "kind": "KubeadmConfigTemplate", "name": f"{md_name}-5e6f7a8b"}},
                "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "HCloudMachineTemplate", "name": f"{md_name}-9c0d1e2f"},
                "failureDomain": "nbg1",
            },
        }
        md.update({
            "spec": {
                "clusterName": name,
                "replicas": pool.replicas,
                "selector": {"matchLabels": {"cluster.x-k8s.io/cluster-name": name, "cluster.x-k8s.io/deployment-name": md_name}},
                "template": template,
                "rollout": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}},
            },
            "status": {
                "selector": f"cluster.x-k8s.io/cluster-name={name},cluster.x-k8s.io/deployment-name={md_name}",
                "replicas": pool.replicas,
                "readyReplicas": ready,
                "availableReplicas": ready,
                "upToDateReplicas": up_to_date,
                "phase": "Running" if ready == pool.replicas else "ScalingUp",
                "observedGeneration": 1,
                "conditions": _md_conditions(md_created, pool.replicas, ready, up_to_date, pool_version, version),
            },
        })
        ms.update({
            "spec": {
                "clusterName": name,
                "replicas": pool.replicas,
                "selector": {"matchLabels": {"cluster.x-k8s.io/cluster-name": name, "machine-template-hash": ms_name.rsplit("-", 1)[-1]}},
                "template": template,
            },
            "status": {
                "selector": f"cluster.x-k8s.io/cluster-name={name},machine-template-hash={ms_name.rsplit('-', 1)[-1]}",
                "replicas": pool.replicas,
                "readyReplicas": ready,
                "availableReplicas": ready,
                "upToDateReplicas": up_to_date,
                "observedGeneration": 1,
                "conditions": [
                    _summary_condition("MachinesReady", ready, pool.replicas, "Ready", "NotReady", md_created),
                    _summary_condition("MachinesUpToDate", up_to_date, pool.replicas, "UpToDate", "NotUpToDate", md_created),
                    condition("ScalingUp", "False", "NotScalingUp", md_created),
                    condition("ScalingDown", "False", "NotScalingDown", md_created),
                    condition("Remediating", "False", "NotRemediating", md_created),
                    condition("Deleting", "False", "NotDeleting", md_created),
                    condition("Paused", "False", "NotPaused", md_created),
                ],
            },
        })
        mds.append(md)
        sets.append(ms)
        workers.extend(machines)

    # ---- the Cluster and its infrastructure
    w_total = sum(p.replicas for p in pools)
    w_ready = sum(1 for m in workers if _cond(m, "Ready") == "True")
    w_up = sum(p.replicas for p in pools if (p.version or version) == version)
    mds_available = all(_cond(md, "Available") == "True" for md in mds)
    cp_available = _cond(kcp, "Available") == "True"
    available = cp_available and mds_available
    cluster = {
        "apiVersion": CAPI,
        "kind": "Cluster",
        "metadata": {**_meta(name, ns, name, created), "finalizers": ["cluster.cluster.x-k8s.io"]},
        "spec": {
            "clusterNetwork": {"pods": {"cidrBlocks": ["10.244.0.0/16"]}, "services": {"cidrBlocks": ["10.96.0.0/12"]}},
            "controlPlaneEndpoint": {"host": "203.0.113.10", "port": 443},
            "controlPlaneRef": {"apiGroup": "controlplane.cluster.x-k8s.io", "kind": "KubeadmControlPlane", "name": kcp_name},
            "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "HetznerCluster", "name": name},
        },
        "status": {
            "phase": "Provisioned",
            "observedGeneration": 1,
            "initialization": {"infrastructureProvisioned": True, "controlPlaneInitialized": True},
            "controlPlane": {
                "desiredReplicas": control_plane, "replicas": control_plane, "readyReplicas": cp_ready,
                "availableReplicas": cp_ready, "upToDateReplicas": cp_up_to_date,
            },
            "workers": {
                "desiredReplicas": w_total, "replicas": w_total, "readyReplicas": w_ready,
                "availableReplicas": w_ready, "upToDateReplicas": w_up,
            },
            "conditions": [
                condition("Available", "True" if available else "False", "Available" if available else "NotAvailable",
                          created + timedelta(minutes=9) if available else NOW - timedelta(minutes=5),
                          "" if available else _cluster_unavailable(cp_available, mds)),
                condition("InfrastructureReady", "True", "Ready", created + timedelta(minutes=1)),
                condition("ControlPlaneInitialized", "True", "Initialized", created + timedelta(minutes=5)),
                condition("ControlPlaneAvailable", "True" if cp_available else "False",
                          "Available" if cp_available else "NotAvailable", created + timedelta(minutes=5)),
                condition("WorkersAvailable", "True" if mds_available else "False",
                          "Available" if mds_available else "NotAvailable", created + timedelta(minutes=9)),
                condition("RemoteConnectionProbe", "True", "ProbeSucceeded", created + timedelta(minutes=5)),
                _summary_condition("ControlPlaneMachinesReady", cp_ready, control_plane, "Ready", "NotReady", created + timedelta(minutes=5)),
                _summary_condition("WorkerMachinesReady", w_ready, w_total, "Ready", "NotReady", created + timedelta(minutes=9)),
                _summary_condition("ControlPlaneMachinesUpToDate", cp_up_to_date, control_plane, "UpToDate", "NotUpToDate", created),
                _summary_condition("WorkerMachinesUpToDate", w_up, w_total, "UpToDate", "NotUpToDate", created),
                condition("RollingOut", "False" if cp_up_to_date == control_plane and w_up == w_total else "True",
                          "NotRollingOut" if cp_up_to_date == control_plane and w_up == w_total else "RollingOut", created),
                condition("ScalingUp", "False", "NotScalingUp", created),
                condition("ScalingDown", "False", "NotScalingDown", created),
                condition("Remediating", "False", "NotRemediating", created),
                condition("Deleting", "False", "NotDeleting", created),
                condition("Paused", "False", "NotPaused", created),
            ],
        },
    }
    hetzner_cluster = {
        "apiVersion": CAPH_API,
        "kind": "HetznerCluster",
        "metadata": {**_meta(name, ns, name, created, owner=_owner(cluster)), "finalizers": ["hetznercluster.infrastructure.cluster.x-k8s.io"]},
        "spec": {
            "controlPlaneRegions": ["nbg1"],
            "hetznerSecretRef": {"name": "hcloud", "key": {"hcloudToken": "hcloud"}},
            "sshKeys": {"hcloud": [{"name": "ops"}]},
            "controlPlaneEndpoint": {"host": "203.0.113.10", "port": 443},
            "controlPlaneLoadBalancer": {"region": "nbg1", "type": "lb11"},
            "hcloudNetwork": {"enabled": True, "networkZone": "eu-central"},
            "hcloudPlacementGroups": [{"name": "control-plane", "type": "spread"}],
        },
        "status": {
            "ready": True,
            "controlPlaneLoadBalancer": {"id": 3_100_200, "ipv4": "203.0.113.10", "internalIP": "10.0.255.254"},
            "networkStatus": {"id": 9_800_100},
            "failureDomains": {"nbg1": {"controlPlane": True}},
            "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": ts(created + timedelta(minutes=1))},
                {"type": "HCloudTokenAvailable", "status": "True", "lastTransitionTime": ts(created)},
                {"type": "LoadBalancerReady", "status": "True", "lastTransitionTime": ts(created + timedelta(minutes=1))},
                {"type": "NetworkReady", "status": "True", "lastTransitionTime": ts(created)},
                {"type": "PlacementGroupsSynced", "status": "True", "lastTransitionTime": ts(created)},
            ],
            "v1beta2": {
                "conditions": [
                    condition("Ready", "True", "Ready", created + timedelta(minutes=1)),
                    condition("HCloudTokenAvailable", "True", "Available", created),
                ]
            },
        },
    }
    objs[:0] = [cluster, hetzner_cluster]
    objs += mds + sets + cp_machines + workers + infra

    # ---- health checks, add-ons, the autoscaler, the kubeconfig
    for target, selector in [("control-plane", {"cluster.x-k8s.io/control-plane": ""})] + [
        (p.name, {"cluster.x-k8s.io/deployment-name": f"{name}-{p.name}"}) for p in pools
    ]:
        objs.append({
            "apiVersion": CAPI,
            "kind": "MachineHealthCheck",
            "metadata": _meta(f"{name}-{target}-unhealthy", ns, name, created),
            "spec": {
                "clusterName": name,
                "selector": {"matchLabels": selector},
                "checks": {
                    "nodeStartupTimeoutSeconds": 900,
                    "unhealthyNodeConditions": [
                        {"type": "Ready", "status": "Unknown", "timeoutSeconds": 300},
                        {"type": "Ready", "status": "False", "timeoutSeconds": 300},
                    ],
                },
                "remediation": {
                    "templateRef": {"apiVersion": CAPH_API, "kind": "HCloudRemediationTemplate", "name": f"{name}-remediation"}
                },
            },
        })
    if addons:
        for chart, release, chart_version in (("cilium", "cilium", "1.19.6"), ("hcloud-cloud-controller-manager", "hccm", "1.35.0"), ("hcloud-csi", "hcloud-csi", "2.22.1")):
            proxy = f"{name}-{release}"
            objs.append({
                "apiVersion": CAAPH_API,
                "kind": "HelmReleaseProxy",
                "metadata": _meta(
                    f"{chart}-{name}-{_suffix(chart, name)}", ns, name, created + timedelta(minutes=5),
                    labels={"helmreleaseproxy.addons.cluster.x-k8s.io/helmchartproxy-name": proxy},
                ),
                "spec": {
                    "clusterRef": {"apiVersion": CAPI, "kind": "Cluster", "name": name, "namespace": ns},
                    "chartName": chart,
                    "repoURL": "https://helm.cilium.io/" if chart == "cilium" else "https://charts.hetzner.cloud",
                    "releaseName": release,
                    "namespace": "kube-system",
                    "version": chart_version,
                },
                "status": {
                    "status": "deployed",
                    "revision": 1,
                    "observedGeneration": 1,
                    "conditions": [
                        condition("Ready", "True", "Ready", created + timedelta(minutes=7)),
                        condition("ClusterAvailable", "True", "ClusterAvailable", created + timedelta(minutes=6)),
                        condition("HelmReleaseReady", "True", "HelmReleaseReady", created + timedelta(minutes=7)),
                    ],
                },
            })
    if autoscaler:
        objs.append(autoscaler_deployment(name, ns, version, created))
    objs.append(kubeconfig_secret(name, ns, kubeconfig or workload_kubeconfig(name)))
    return objs


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.lstrip("v").split("+")[0].split("."))


def _cond(obj: dict, type_: str) -> str | None:
    for c in obj["status"].get("conditions", []):
        if c["type"] == type_:
            return c["status"]
    return None


def _summary_condition(type_: str, good: int, total: int, yes: str, no: str, since: datetime) -> dict:
    """A MachinesReady / MachinesUpToDate style summary of `good` out of `total` machines."""
    if total == 0:
        return condition(type_, "True", "NoReplicas", since)
    if good == total:
        return condition(type_, "True", yes, since)
    what = "not ready" if no == "NotReady" else "not up-to-date"
    return condition(type_, "False", no, NOW - timedelta(minutes=7), f"* {total - good} Machine(s) {what}")


def _kcp_conditions(created, total, ready, up_to_date, version, running) -> list[dict]:
    available = ready * 2 > total  # etcd quorum and a working API server
    rolling = up_to_date < total
    return [
        condition("Available", "True" if available else "False", "Available" if available else "NotAvailable", created + timedelta(minutes=5),
                  "" if available else f"* {total - ready} of {total} control plane Machines are not ready"),
        condition("CertificatesAvailable", "True", "Available", created),
        condition("Initialized", "True", "Initialized", created + timedelta(minutes=5)),
        condition("EtcdClusterHealthy", "True", "Healthy", created + timedelta(minutes=5)),
        condition("ControlPlaneComponentsHealthy", "True", "Healthy", created + timedelta(minutes=5)),
        _summary_condition("MachinesReady", ready, total, "Ready", "NotReady", created + timedelta(minutes=5)),
        _summary_condition("MachinesUpToDate", up_to_date, total, "UpToDate", "NotUpToDate", created),
        condition("RollingOut", "True" if rolling else "False", "RollingOut" if rolling else "NotRollingOut", created,
                  f"Rolling out {total - up_to_date} not up-to-date replicas\n* Version {running}, {version} required" if rolling else ""),
        condition("ScalingUp", "False", "NotScalingUp", created),
        condition("ScalingDown", "False", "NotScalingDown", created),
        condition("Remediating", "False", "NotRemediating", created),
        condition("Deleting", "False", "NotDeleting", created),
        condition("Paused", "False", "NotPaused", created),
    ]


def _md_conditions(created, total, ready, up_to_date, running, version) -> list[dict]:
    available = ready >= total  # maxUnavailable 0
    rolling = up_to_date < total
    return [
        condition("Available", "True" if available else "False", "Available" if available else "NotAvailable",
                  created + timedelta(minutes=9) if available else NOW - timedelta(minutes=7),
                  "" if available else f"{ready} available replicas, at least {total} required "
                  f"(spec.strategy.rollout.maxUnavailable is 0, spec.replicas is {total})"),
        _summary_condition("MachinesReady", ready, total, "Ready", "NotReady", created + timedelta(minutes=9)),
        _summary_condition("MachinesUpToDate", up_to_date, total, "UpToDate", "NotUpToDate", created),
        condition("RollingOut", "True" if rolling else "False", "RollingOut" if rolling else "NotRollingOut", created,
                  f"Rolling out {total - up_to_date} not up-to-date replicas\n* Version {running}, {version} required" if rolling else ""),
        condition("ScalingUp", "False", "NotScalingUp", created),
        condition("ScalingDown", "False", "NotScalingDown", created),
        condition("Remediating", "False", "NotRemediating", created),
        condition("Deleting", "False", "NotDeleting", created),
        condition("Paused", "False", "NotPaused", created),
    ]


def _cluster_unavailable(cp_available: bool, mds: list[dict]) -> str:
    lines = []
    if not cp_available:
        lines.append("* ControlPlaneAvailable: not available")
    bad = [md["metadata"]["name"] for md in mds if _cond(md, "Available") != "True"]
    if bad:
        lines.append(f"* WorkersAvailable:\n  * MachineDeployment {', '.join(bad)}: not available")
    return "\n".join(lines)


def autoscaler_deployment(cluster: str, namespace: str, version: str, created: datetime, ready: bool = True) -> dict:
    minor = ".".join(version.lstrip("v").split(".")[:2])
    tag = {"1.32": "v1.32.7", "1.33": "v1.33.6", "1.34": "v1.34.5", "1.35": "v1.35.2", "1.36": "v1.36.1"}[minor]
    selector = {"app.kubernetes.io/name": "cluster-autoscaler", "app.kubernetes.io/instance": cluster}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(f"{cluster}-cluster-autoscaler", namespace, cluster, created + timedelta(minutes=1),
                          labels={**selector, "app.kubernetes.io/managed-by": "clusterctl-py"}),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": {"cluster.x-k8s.io/cluster-name": cluster, **selector}},
                "spec": {
                    "serviceAccountName": f"{cluster}-cluster-autoscaler",
                    "containers": [{"name": "cluster-autoscaler", "image": f"registry.k8s.io/autoscaling/cluster-autoscaler:{tag}"}],
                },
            },
        },
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "updatedReplicas": 1,
            "readyReplicas": 1 if ready else 0,
            "availableReplicas": 1 if ready else 0,
            **({} if ready else {"unavailableReplicas": 1}),
            "conditions": [
                {"type": "Available", "status": "True" if ready else "False",
                 "reason": "MinimumReplicasAvailable" if ready else "MinimumReplicasUnavailable",
                 "message": "Deployment has minimum availability." if ready else "Deployment does not have minimum availability.",
                 "lastUpdateTime": ts(created + timedelta(minutes=2)), "lastTransitionTime": ts(created + timedelta(minutes=2))},
            ],
        },
    }


def workload_kubeconfig(cluster: str) -> str:
    """What CAPI writes into `<cluster>-kubeconfig` (key `value`): a client certificate for `<cluster>-admin`."""
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {cluster}\n  cluster:\n    server: https://203.0.113.10:443\n"
        "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMvakNDQWVhZ0F3SUJBZ0lCQURBTkJna3Foa2lHOXcwQkFRc0ZBREFWTVJNd0VRWURWUVFERXdwcmRXSmwKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=\n"
        f"contexts:\n- name: {cluster}-admin@{cluster}\n  context:\n    cluster: {cluster}\n    user: {cluster}-admin\n"
        f"current-context: {cluster}-admin@{cluster}\n"
        f"users:\n- name: {cluster}-admin\n  user:\n"
        "    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSURFekNDQWZ1Z0F3SUJBZ0lJYWRtaW4KLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=\n"
        "    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVBc2VjcmV0LWtleS1tYXRlcmlhbAotLS0tLUVORCBSU0EgUFJJVkFURSBLRVktLS0tLQo=\n"
    )


def kubeconfig_secret(cluster: str, namespace: str, kubeconfig: str) -> dict:
    # CAPI's secret: type cluster.x-k8s.io/secret, key `value`, labelled with the cluster name
    # (kubernetes-sigs/cluster-api util/kubeconfig/kubeconfig.go GenerateSecretWithOwner).
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "cluster.x-k8s.io/secret",
        "metadata": {
            "name": f"{cluster}-kubeconfig",
            "namespace": namespace,
            "labels": {"cluster.x-k8s.io/cluster-name": cluster},
        },
        "data": {"value": base64.b64encode(kubeconfig.encode()).decode()},
    }


def providers(capi: str = "v1.13.5", caph: str = "v1.1.8", caaph: str = "v0.6.4") -> list[dict]:
    """clusterctl's inventory as `clusterctl init` writes it
    (kubernetes-sigs/cluster-api cmd/clusterctl/client/repository/components.go InventoryObject)."""
    out = []
    for name, type_, ns, label, version in (
        ("cluster-api", "CoreProvider", "capi-system", "cluster-api", capi),
        ("kubeadm", "BootstrapProvider", "capi-kubeadm-bootstrap-system", "bootstrap-kubeadm", capi),
        ("kubeadm", "ControlPlaneProvider", "capi-kubeadm-control-plane-system", "control-plane-kubeadm", capi),
        ("hetzner", "InfrastructureProvider", "caph-system", "infrastructure-hetzner", caph),
        ("helm", "AddonProvider", "caaph-system", "addon-helm", caaph),
    ):
        out.append({
            "apiVersion": INVENTORY_API,
            "kind": "Provider",
            "metadata": {
                "name": label,
                "namespace": ns,
                "labels": {"clusterctl.cluster.x-k8s.io": "", "cluster.x-k8s.io/provider": label, "clusterctl.cluster.x-k8s.io/core": "inventory"},
            },
            "providerName": name,
            "type": type_,
            "version": version,
        })
    return out


def node(name: str, kubelet_version: str, *, ready: bool = True, arch: str = "amd64", control_plane: bool = False) -> dict:
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/arch": arch, "kubernetes.io/os": "linux"}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "creationTimestamp": ts(NOW - timedelta(days=3))},
        "spec": {"providerID": f"hcloud://{40_000_000 + int(hashlib.sha256(name.encode()).hexdigest()[:6], 16)}"},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False", "reason": "KubeletReady" if ready else "KubeletNotReady",
                            "lastHeartbeatTime": ts(NOW), "lastTransitionTime": ts(NOW - timedelta(days=3))}],
            "nodeInfo": {"kubeletVersion": kubelet_version, "architecture": arch, "operatingSystem": "linux",
                         "containerRuntimeVersion": "containerd://2.3.1", "kernelVersion": "6.12.38", "osImage": "Debian GNU/Linux 13 (trixie)",
                         "bootID": _uid("boot", name), "machineID": hashlib.md5(name.encode()).hexdigest(), "systemUUID": _uid("sys", name),
                         "kubeProxyVersion": ""},
        },
    }


def cert_manager(version: str = "v1.21.1", created: datetime = NOW - timedelta(days=30)) -> list[dict]:
    """cert-manager's three Deployments as its Helm chart labels them (cert-manager deploy/charts/cert-manager:
    templates/_helpers.tpl "labels" sets app.kubernetes.io/version, managed-by and helm.sh/chart; each
    deployment template app.kubernetes.io/name, instance and component)."""
    out = []
    for name, app, component in (
        ("cert-manager", "cert-manager", "controller"),
        ("cert-manager-cainjector", "cainjector", "cainjector"),
        ("cert-manager-webhook", "webhook", "webhook"),
    ):
        selector = {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": component}
        out.append({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": name, "namespace": "cert-manager", "creationTimestamp": ts(created), "generation": 1,
                "labels": {**selector, "app": app, "app.kubernetes.io/version": version,
                           "app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": f"cert-manager-{version}"},
            },
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": selector},
                "template": {"metadata": {"labels": selector}, "spec": {"containers": [
                    {"name": f"cert-manager-{component}", "image": f"quay.io/jetstack/cert-manager-{app.removeprefix('cert-manager-') if app != 'cert-manager' else 'controller'}:{version}"}
                ]}},
            },
            "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1},
        })
    return out


def k3s_server(name: str, version: str, *, ready: bool = True, unschedulable: bool = False) -> dict:
    """A management server as k3s registers it: node-role labels control-plane and master "true"
    (k3s-io/k3s pkg/server/server.go), etcd "true" with embedded etcd; kubelet version like v1.33.4+k3s1."""
    obj = node(name, version, ready=ready)
    obj["metadata"]["labels"].update({
        "node-role.kubernetes.io/control-plane": "true",
        "node-role.kubernetes.io/master": "true",
        "node-role.kubernetes.io/etcd": "true",
        "node.kubernetes.io/instance-type": "k3s",
    })
    if unschedulable:  # cordoned, as system-upgrade-controller's cordon leaves it when the upgrade job fails
        obj["spec"]["unschedulable"] = True
        obj["spec"]["taints"] = [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]
    return obj
