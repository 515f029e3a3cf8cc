"""`describe cluster`: what a workload cluster's objects are doing, as a tree like upstream `clusterctl describe cluster`.

Reading (`read_state`) costs the same number of requests for 3 machines as
for 200: the Cluster, its infrastructure and control plane objects by
reference, then each kind listed once with the cluster's label selector.
Everything after that is pure: `build_tree` groups and summarises,
`render_text` and `to_json` present it, `problems` says why the cluster is
not healthy (the command exits 1 when it is not).

The tree follows kubernetes-sigs/cluster-api v1.13.5
cmd/clusterctl/client/tree/discovery.go (Cluster, ClusterInfrastructure,
ControlPlane with its machines, Workers with each MachineDeployment and its
machines, Other for machines nobody owns) and internal/util/tree/tree.go
for the rows: columns REPLICAS, AVAILABLE, READY, UP TO DATE, and the
condition each kind shows (Available for Cluster, control plane and
MachineDeployments, Ready for the rest). Machines under one parent are
grouped ("3 Machines...") when their Available, Ready and UpToDate
conditions have the same status and reason (tree.go
hasSameAvailableReadyUptoDateStatusAndReason); `--show-machines` lists them
one by one. Two branches upstream lacks: the add-ons (CAAPH
HelmReleaseProxies) and the cluster-autoscaler Deployment beside the
cluster. Each machine also shows its version and the node it became.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Iterable

from clusterctl_py.clients.errors import NotFound
from clusterctl_py.clients.kube import (
    Cluster,
    Condition,
    Conditions,
    ControlPlane,
    Deployment,
    HelmReleaseProxy,
    InfrastructureCluster,
    KubernetesApi,
    Machine,
    MachineDeployment,
    MachineSet,
    Replicas,
    find,
)

# Labels our cluster stack puts on the autoscaler's Deployment (clusterctl_py/render/cluster_autoscaler.py).
AUTOSCALER_SELECTOR = "cluster.x-k8s.io/cluster-name={name},app.kubernetes.io/name=cluster-autoscaler"


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ClusterState:
    """Everything `describe` shows about one cluster, as read."""

    cluster: Cluster
    infrastructure: InfrastructureCluster | None = None
    control_plane: ControlPlane | None = None
    machine_deployments: tuple[MachineDeployment, ...] = ()
    machine_sets: tuple[MachineSet, ...] = ()
    machines: tuple[Machine, ...] = ()
    helm_release_proxies: tuple[HelmReleaseProxy, ...] = ()
    autoscalers: tuple[Deployment, ...] = ()
    notes: tuple[str, ...] = ()  # what could not be read, and why


def read_state(api: KubernetesApi, name: str, namespace: str | None) -> ClusterState:
    from clusterctl_py.ops.access import locate_cluster

    cluster = locate_cluster(api, name, namespace)
    ns, notes = cluster.namespace, []
    infrastructure = control_plane = None
    if cluster.infrastructure_ref is not None:
        try:
            infrastructure = api.infrastructure_cluster(ns, cluster.infrastructure_ref)
        except NotFound as exc:
            notes.append(str(exc))
    if cluster.control_plane_ref is not None:
        try:
            control_plane = api.control_plane(ns, cluster.control_plane_ref)
        except NotFound as exc:
            notes.append(str(exc))
    try:
        proxies = tuple(api.helm_release_proxies(ns, cluster.name))
    except NotFound:
        proxies = ()
        notes.append("no HelmReleaseProxies: the Cluster API add-on provider for Helm is not installed")
    return ClusterState(
        cluster=cluster,
        infrastructure=infrastructure,
        control_plane=control_plane,
        machine_deployments=tuple(api.machine_deployments(ns, cluster.name)),
        machine_sets=tuple(api.machine_sets(ns, cluster.name)),
        machines=tuple(api.machines(ns, cluster.name)),
        helm_release_proxies=proxies,
        autoscalers=tuple(api.deployments(ns, AUTOSCALER_SELECTOR.format(name=cluster.name))),
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Node:
    """One row of the tree: an object, a group of machines, or a virtual heading (Workers, Add-ons)."""

    kind: str  # Cluster, ClusterInfrastructure, ControlPlane, Workers, MachineDeployment, Machine, MachineGroup, ...
    name: str
    label: str  # what the NAME column shows
    replicas: str = ""
    available: str = ""
    ready: str = ""
    up_to_date: str = ""
    version: str = ""
    condition: Condition | None = None  # the one the row shows
    node: str = ""  # for machines: the node it became
    message: str = ""  # instead of the condition's message (groups, add-ons)
    healthy: bool = True
    items: tuple[str, ...] = ()  # for groups: the machines in it
    children: tuple[Node, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict, compare=False)  # extra fields for -o json
    conditions: Conditions = ()


def _ok(condition: Condition | None) -> bool:
    return condition is not None and condition.status == "True"


def _count(value: int | None) -> str:
    return "" if value is None else str(value)


def _ratio(current: int | None, desired: int | None) -> str:
    return "" if current is None and desired is None else f"{current or 0}/{desired or 0}"


def _counters(r: Replicas) -> dict[str, str]:
    """The REPLICAS, AVAILABLE, READY and UP TO DATE columns of an object that counts replicas."""
    return {
        "replicas": _ratio(r.current, r.desired),
        "available": _count(r.available),
        "ready": _count(r.ready),
        "up_to_date": _count(r.up_to_date),
    }


def _sum(*values: int | None) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _cluster_node(cluster: Cluster) -> Node:
    cp, w = cluster.control_plane, cluster.workers
    available = find(cluster.conditions, "Available")
    return Node(
        kind="Cluster",
        name=cluster.name,
        label=f"Cluster/{cluster.name}",
        replicas=_ratio(_sum(cp.current, w.current), _sum(cp.desired, w.desired))
        if (cp.desired, cp.current, w.desired, w.current) != (None,) * 4 else "",
        available=_count(_sum(cp.available, w.available)),
        ready=_count(_sum(cp.ready, w.ready)),
        up_to_date=_count(_sum(cp.up_to_date, w.up_to_date)),
        condition=available,
        healthy=_ok(available) and not cluster.deleting,
        detail={"namespace": cluster.namespace, "phase": cluster.phase, "paused": cluster.paused},
        conditions=cluster.conditions,
    )


def _infrastructure_node(infra: InfrastructureCluster) -> Node:
    ready = find(infra.conditions, "Ready")
    if ready is None and infra.ready is not None:
        ready = Condition("Ready", "True" if infra.ready else "False")
    return Node(
        kind="ClusterInfrastructure",
        name=infra.name,
        label=f"ClusterInfrastructure - {infra.kind}/{infra.name}",
        condition=ready,
        healthy=_ok(ready) and not infra.deleting,
        detail={"objectKind": infra.kind},
        conditions=infra.conditions,
    )


def _machine_node(machine: Machine) -> Node:
    available, ready, up = (find(machine.conditions, t) for t in ("Available", "Ready", "UpToDate"))
    return Node(
        kind="Machine",
        name=machine.name,
        label=f"Machine/{machine.name}",
        replicas="1",
        available="1" if _ok(available) else "0",
        ready="1" if _ok(ready) else "0",
        up_to_date="1" if _ok(up) else "0",
        version=machine.version or "",
        condition=ready,
        node=machine.node_name or "",
        healthy=_ok(ready) and not machine.deleting,
        detail={
            "phase": machine.phase,
            "kubeletVersion": machine.kubelet_version,
            "providerID": machine.provider_id,
            "deleting": machine.deleting,
        },
        conditions=machine.conditions,
    )


def _same_state(a: Machine, b: Machine) -> bool:
    def key(m: Machine):
        return tuple((c.status, c.reason) if c else None for c in (find(m.conditions, t) for t in ("Available", "Ready", "UpToDate")))

    return key(a) == key(b)


def _machine_rows(machines: list[Machine], group: bool) -> tuple[Node, ...]:
    """Rows for the machines of one parent: grouped by state unless `group` is False."""
    machines = sorted(machines, key=lambda m: m.name)
    if not group:
        return tuple(_machine_node(m) for m in machines)
    buckets: list[list[Machine]] = []
    for m in machines:
        for bucket in buckets:
            if _same_state(bucket[0], m) and not m.deleting and not bucket[0].deleting:
                bucket.append(m)
                break
        else:
            buckets.append([m])
    rows = []
    for bucket in buckets:
        if len(bucket) == 1:
            rows.append(_machine_node(bucket[0]))
            continue
        first = _machine_node(bucket[0])
        readies = [find(m.conditions, "Ready") for m in bucket]
        since = min((c.since for c in readies if c is not None and c.since is not None), default=None)
        condition = replace(first.condition, message="", since=since) if first.condition else None
        names = tuple(m.name for m in bucket)
        versions = sorted({m.version or "" for m in bucket})
        rows.append(Node(
            kind="MachineGroup",
            name=f"{len(bucket)} Machines",
            label=f"{len(bucket)} Machines...",
            replicas=str(len(bucket)),
            available=str(sum(1 for m in bucket if _ok(find(m.conditions, "Available")))),
            ready=str(sum(1 for m in bucket if _ok(find(m.conditions, "Ready")))),
            up_to_date=str(sum(1 for m in bucket if _ok(find(m.conditions, "UpToDate")))),
            version=", ".join(v for v in versions if v),
            condition=condition,
            message="See " + ", ".join(names[:2]) + (", ..." if len(names) > 2 else ""),
            healthy=first.healthy,
            items=names,
            children=tuple(_machine_node(m) for m in bucket),  # kept for -o json and problems
        ))
    return tuple(sorted(rows, key=lambda r: r.label))


def _control_plane_node(cp: ControlPlane, machines: list[Machine], group: bool) -> Node:
    available = find(cp.conditions, "Available")
    version = cp.version or ""
    if cp.status_version and cp.status_version != cp.version:
        version = f"{cp.status_version} -> {cp.version}"
    return Node(
        kind="ControlPlane",
        name=cp.name,
        label=f"ControlPlane - {cp.kind}/{cp.name}",
        **_counters(cp.replicas),
        version=version,
        condition=available,
        healthy=_ok(available) and not cp.deleting,
        children=_machine_rows(machines, group),
        detail={"objectKind": cp.kind, "version": cp.version, "statusVersion": cp.status_version, "initialized": cp.initialized},
        conditions=cp.conditions,
    )


def _machine_deployment_node(md: MachineDeployment, machines: list[Machine], group: bool) -> Node:
    available = find(md.conditions, "Available")
    return Node(
        kind="MachineDeployment",
        name=md.name,
        label=f"MachineDeployment/{md.name}",
        **_counters(md.replicas),
        version=md.version or "",
        condition=available,
        healthy=_ok(available) and not md.deleting,
        children=_machine_rows(machines, group),
        detail={"phase": md.phase, "autoscaler": {"min": md.autoscaler_min, "max": md.autoscaler_max}
                if md.autoscaler_min is not None or md.autoscaler_max is not None else None},
        conditions=md.conditions,
    )


def _helm_release_node(proxy: HelmReleaseProxy) -> Node:
    ready = find(proxy.conditions, "Ready")
    release = f"{proxy.release_namespace}/{proxy.release_name}" if proxy.release_name else proxy.release_namespace
    message = f"{proxy.chart} {proxy.version} as {release}" + (f", {proxy.status}" if proxy.status else "")
    if proxy.revision:
        message += f" (revision {proxy.revision})"
    return Node(
        kind="HelmReleaseProxy",
        name=proxy.name,
        label=f"HelmReleaseProxy/{proxy.name}",
        version=proxy.version,
        condition=ready,
        message="" if ready is not None and ready.message else message,
        healthy=_ok(ready),
        detail={"chart": proxy.chart, "release": release, "helmStatus": proxy.status, "revision": proxy.revision,
                "helmChartProxy": proxy.helm_chart_proxy},
        conditions=proxy.conditions,
    )


def _autoscaler_node(deployment: Deployment) -> Node:
    available = find(deployment.conditions, "Available")
    tags = sorted({image.rsplit(":", 1)[-1] for image in deployment.images if ":" in image.rsplit("/", 1)[-1]})
    return Node(
        kind="Autoscaler",
        name=deployment.name,
        label=f"Autoscaler - Deployment/{deployment.name}",
        **_counters(deployment.replicas),
        version=", ".join(tags),
        condition=available,
        healthy=_ok(available),
        detail={"images": list(deployment.images)},
        conditions=deployment.conditions,
    )


def build_tree(state: ClusterState, *, show_machines: bool = False) -> Node:
    """The cluster as a tree of rows (pure); machines grouped by state unless `show_machines`."""
    group = not show_machines
    placed: set[str] = set()
    children: list[Node] = []
    if state.infrastructure is not None:
        children.append(_infrastructure_node(state.infrastructure))
    cp = state.control_plane
    if cp is not None:
        # kubernetes-sigs/cluster-api util/util.go IsControlPlaneMachine: the control-plane label.
        mine = [m for m in state.machines if m.control_plane]
        placed.update(m.uid for m in mine)
        children.append(_control_plane_node(cp, mine, group))
    # Workers: a MachineDeployment's machines are those its MachineSets control (discovery.go
    # selectMachinesSetsControlledBy / selectMachinesControlledBy).
    set_owner = {ms.uid: ms.owner.uid for ms in state.machine_sets if ms.owner is not None and ms.owner.kind == "MachineDeployment"}
    workers: list[Node] = []
    for md in sorted(state.machine_deployments, key=lambda d: d.name):
        mine = [m for m in state.machines if m.uid not in placed and m.owner is not None
                and m.owner.kind == "MachineSet" and set_owner.get(m.owner.uid) == md.uid]
        placed.update(m.uid for m in mine)
        workers.append(_machine_deployment_node(md, mine, group))
    others = [m for m in state.machines if m.uid not in placed]
    if others:
        workers.append(Node(kind="OtherGroup", name="Other", label="Other", children=_machine_rows(others, group),
                            healthy=all(_ok(find(m.conditions, "Ready")) for m in others)))
    if workers:
        children.append(Node(kind="WorkerGroup", name="Workers", label="Workers", children=tuple(workers),
                             healthy=all(w.healthy for w in workers)))
    if state.helm_release_proxies:
        proxies = tuple(_helm_release_node(p) for p in sorted(state.helm_release_proxies, key=lambda p: p.name))
        children.append(Node(kind="AddOnGroup", name="Add-ons", label="Add-ons", children=proxies, healthy=all(p.healthy for p in proxies)))
    children += [_autoscaler_node(d) for d in sorted(state.autoscalers, key=lambda d: d.name)]
    return replace(_cluster_node(state.cluster), children=tuple(children))


def _walk(node: Node, expand_groups: bool = True) -> Iterable[Node]:
    yield node
    for child in node.children:
        if child.kind == "MachineGroup" and expand_groups:
            yield from child.children
        else:
            yield from _walk(child, expand_groups)


def problems(tree: Node) -> list[str]:
    """Why the cluster is not healthy, one line per object; empty when it is."""
    out = []
    for node in _walk(tree):
        if node.healthy or node.kind in ("WorkerGroup", "OtherGroup", "AddOnGroup", "MachineGroup"):
            continue
        c = node.condition
        if c is None:
            out.append(f"{node.label}: no {'Ready' if node.kind in ('Machine', 'HelmReleaseProxy', 'ClusterInfrastructure') else 'Available'} condition yet")
            continue
        state = f"{c.type} {c.status}" + (f" ({c.reason})" if c.reason else "")
        message = " ".join(c.message.split())
        out.append(f"{node.label}: {state}" + (f": {message}" if message else ""))
    return out


# --------------------------------------------------------------------------- presentation


def human_duration(seconds: float) -> str:
    """kubectl's ages (k8s.io/apimachinery pkg/util/duration/duration.go HumanDuration)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


HEADER = ("NAME", "REPLICAS", "AVAILABLE", "READY", "UP TO DATE", "VERSION", "STATUS", "REASON", "SINCE", "NODE", "MESSAGE")


def _rows(node: Node, prefix: str, now: datetime, out: list[tuple[str, ...]]) -> None:
    c = node.condition
    message = node.message or (c.message if c else "")
    lines = message.splitlines() or [""]
    since = human_duration((now - c.since).total_seconds()) if c is not None and c.since is not None else ""
    out.append((
        prefix + node.label, node.replicas, node.available, node.ready, node.up_to_date, node.version,
        c.status if c else "", c.reason if c else "", since, node.node, lines[0],
    ))
    shown = [] if node.kind == "MachineGroup" else list(node.children)
    # A multi-line message continues under MESSAGE, the tree's lines carried on beside it
    # (internal/util/tree/tree.go getRootMultiLineObjectPrefix).
    carry = prefix.replace("├─", "│ ").replace("└─", "  ") + ("│ " if shown else "")
    for line in lines[1:]:
        out.append((carry.rstrip(), "", "", "", "", "", "", "", "", "", line))
    for i, child in enumerate(shown):
        # The tree's prefixes (internal/util/tree/tree.go getChildPrefix).
        carried = prefix.replace("├─", "│ ").replace("└─", "  ")
        _rows(child, carried + ("└─" if i == len(shown) - 1 else "├─"), now, out)


def render_text(tree: Node, now: datetime) -> str:
    """The tree as a table, ages relative to `now`."""
    rows: list[tuple[str, ...]] = [HEADER]
    _rows(tree, "", now, rows)
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines) + "\n"


def _condition_json(c: Condition) -> dict[str, Any]:
    return {
        "type": c.type, "status": c.status, "reason": c.reason, "message": c.message,
        "lastTransitionTime": c.since.isoformat().replace("+00:00", "Z") if c.since else None,
    }


def _node_json(node: Node) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": node.kind, "name": node.name, "healthy": node.healthy}
    counters = {"replicas": node.replicas, "available": node.available, "ready": node.ready, "upToDate": node.up_to_date}
    out.update({k: v for k, v in counters.items() if v != ""})
    if node.version:
        out["version"] = node.version
    if node.node:
        out["node"] = node.node
    out.update({k: v for k, v in node.detail.items() if v is not None})
    if node.condition is not None:
        out["status"] = _condition_json(node.condition)
    if node.conditions:
        out["conditions"] = [_condition_json(c) for c in node.conditions]
    children = []
    for child in node.children:
        # Groups are presentation: JSON lists every machine.
        children += [_node_json(m) for m in child.children] if child.kind == "MachineGroup" else [_node_json(child)]
    if children:
        out["children"] = children
    return out


def to_json(tree: Node, notes: Iterable[str] = ()) -> dict[str, Any]:
    found = problems(tree)
    return {"cluster": tree.name, "namespace": tree.detail.get("namespace"), "healthy": not found,
            "problems": found, "notes": list(notes), "tree": _node_json(tree)}
