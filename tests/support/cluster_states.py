"""What the management cluster shows during an upgrade of `prod`, stage by stage.

The Kubernetes client's records (clusterctl_py.clients.kube) of the
KubeadmControlPlane, the MachineDeployments and the Machines; conditions and their messages as CAPI
v1.13 writes them (kubernetes-sigs/cluster-api
controlplane/kubeadm/internal/controllers/status.go setRollingOutCondition,
controlplane/kubeadm/internal/filters.go "Version %s, %s required",
api/core/v1beta2 condition types and reasons).

prod has 3 control-plane machines and one pool, `general`, whose
MachineDeployment `prod-general` the autoscaler holds at 2 machines.
"""

from __future__ import annotations

from types import MappingProxyType

from clusterctl_py.clients.kube import Condition, ControlPlane, Deployment, Machine, MachineDeployment, Node, Provider, Replicas
from clusterctl_py.ops.upgrade import CONTROL_PLANE, ClusterState, K3sState, ManagementState

OLD, NEW = "v1.33.4", "v1.34.11"


def rolling_out(replicas: int, old: str = OLD, new: str = NEW) -> Condition:
    return Condition("RollingOut", "True", "RollingOut", f"Rolling out {replicas} not up-to-date replicas\n* Version {old}, {new} required")


def not_rolling_out() -> Condition:
    return Condition("RollingOut", "False", "NotRollingOut")


def up_to_date(status: bool = True, machines: str = "") -> Condition:
    if status:
        return Condition("MachinesUpToDate", "True", "UpToDate")
    return Condition("MachinesUpToDate", "False", "NotUpToDate", f"* Machines {machines}: NotUpToDate")


def machine(name: str, group: str, kubelet: str | None) -> Machine:
    """A Machine of the control plane (group CONTROL_PLANE) or of the MachineDeployment `group`."""
    cp = group == CONTROL_PLANE
    return Machine(
        name=name, namespace="prod", uid=f"uid-{name}", created=None, version=kubelet, phase="Running" if kubelet else "Provisioned",
        node_name=name if kubelet else None, kubelet_version=kubelet, provider_id=None, control_plane=cp, owner=None,
        deployment=None if cp else group, conditions=(),
    )


def machines(group: str, *kubelets: str | None, first: int = 0) -> tuple[Machine, ...]:
    return tuple(machine(f"{group}-{first + i}", group, k) for i, k in enumerate(kubelets))


def kcp(version: str, status: str | None, generation=(1, 1), conditions=(), replicas: int = 3) -> ControlPlane:
    return ControlPlane(
        kind="KubeadmControlPlane", name="prod-control-plane", namespace="prod", uid="uid-kcp", created=None,
        version=version, status_version=status, replicas=Replicas(desired=replicas), initialized=True,
        conditions=tuple(conditions), generation=generation[0], observed_generation=generation[1],
    )


def md(version: str, replicas=2, status=2, up=2, generation=(1, 1), conditions=(), name="prod-general") -> MachineDeployment:
    return MachineDeployment(
        name=name, namespace="prod", uid=f"uid-{name}", created=None, version=version,
        replicas=Replicas(desired=replicas, current=status, up_to_date=up), phase="Running", conditions=tuple(conditions),
        generation=generation[0], observed_generation=generation[1],
    )


def steady(version: str = OLD, name: str = "prod") -> ClusterState:
    return ClusterState(
        name,
        kcp(version, version, conditions=[not_rolling_out(), up_to_date()]),
        (md(version, conditions=[not_rolling_out(), up_to_date()]),),
        machines(CONTROL_PLANE, version, version, version) + machines("prod-general", version, version),
    )


def not_started() -> ClusterState:
    """The stack set the new version; no controller has acted on it yet."""
    return ClusterState(
        "prod",
        kcp(NEW, OLD, generation=(2, 1), conditions=[not_rolling_out(), up_to_date()]),
        (md(NEW, generation=(2, 1), conditions=[not_rolling_out(), up_to_date()]),),
        machines(CONTROL_PLANE, OLD, OLD, OLD) + machines("prod-general", OLD, OLD),
    )


def control_plane_half_way() -> ClusterState:
    """Two control-plane machines replaced, the third still old; the pool held by MachineSet preflight checks."""
    return ClusterState(
        "prod",
        kcp(NEW, OLD, generation=(2, 2), conditions=[rolling_out(1), up_to_date(False, "prod-control-plane-0")]),
        (md(NEW, status=2, up=0, generation=(2, 2), conditions=[rolling_out(2), up_to_date(False, "prod-general-0, prod-general-1")]),),
        machines(CONTROL_PLANE, OLD) + machines(CONTROL_PLANE, NEW, NEW, first=3) + machines("prod-general", OLD, OLD),
    )


def pools_pending() -> ClusterState:
    """The control plane is done; the pool surged one new machine, two old ones remain."""
    return ClusterState(
        "prod",
        kcp(NEW, NEW, generation=(2, 2), conditions=[not_rolling_out(), up_to_date()]),
        (md(NEW, status=3, up=1, generation=(2, 2), conditions=[rolling_out(2), up_to_date(False, "prod-general-0, prod-general-1")]),),
        machines(CONTROL_PLANE, NEW, NEW, NEW, first=3) + machines("prod-general", OLD, OLD) + machines("prod-general", NEW, first=2),
    )


def all_done() -> ClusterState:
    return ClusterState(
        "prod",
        kcp(NEW, NEW, generation=(2, 2), conditions=[not_rolling_out(), up_to_date()]),
        (md(NEW, generation=(2, 2), conditions=[not_rolling_out(), up_to_date()]),),
        machines(CONTROL_PLANE, NEW, NEW, NEW, first=3) + machines("prod-general", NEW, NEW, first=2),
    )


def management(providers=(), cert_manager=(), servers=(), plan=None) -> ManagementState:
    """The management cluster from (providerName, type, version), (Deployment, version label) and (node, kubelet) tuples,
    and the k3s-server Plan (a clusterctl_py.clients.kube.UpgradePlan, or None)."""
    return ManagementState(
        tuple(Provider(name=f"{n}-{t}".lower(), namespace="capi-system", provider_name=n, type=t, version=v) for n, t, v in providers),
        tuple(
            Deployment(name=n, namespace="cert-manager", created=None, labels=MappingProxyType({} if v is None else {"app.kubernetes.io/version": v}),
                       images=(), replicas=Replicas(), conditions=())
            for n, v in cert_manager
        ),
        k3s(servers, plan),
    )


def k3s(servers=(), plan=None) -> K3sState:
    return K3sState(
        tuple(Node(name=n, created=None, kubelet_version=k, ready=True,
                   labels=MappingProxyType({"node-role.kubernetes.io/control-plane": "true"})) for n, k in servers),
        plan,
    )
