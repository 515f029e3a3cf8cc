"""system-upgrade-controller's release assets, as the capi stack's tests serve them.

`crd.yaml` is the vendored Plan CRD of the pinned release (tests/data/crds,
see the header there); the controller manifest keeps the shape of the
release's system-upgrade-controller.yaml (manifests/ of rancher/system-upgrade-controller
at that tag, built with kustomize), trimmed to what the tests look at.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

from clusterctl_py import versions

CRDS = Path(__file__).resolve().parents[1] / "data" / "crds"
PLAN_CRD_DIR = f"system-upgrade-controller/{versions.SYSTEM_UPGRADE_CONTROLLER}"
RELEASE = f"/rancher/system-upgrade-controller/releases/download/{versions.SYSTEM_UPGRADE_CONTROLLER}"

CONTROLLER = f"""apiVersion: v1
kind: Namespace
metadata:
  name: system-upgrade
  labels:
    pod-security.kubernetes.io/enforce: privileged
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: system-upgrade
  namespace: system-upgrade
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system-upgrade
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system-upgrade-controller
subjects:
- kind: ServiceAccount
  name: system-upgrade
  namespace: system-upgrade
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: system-upgrade-controller
  namespace: system-upgrade
spec:
  selector:
    matchLabels:
      upgrade.cattle.io/controller: system-upgrade-controller
  template:
    metadata:
      labels:
        upgrade.cattle.io/controller: system-upgrade-controller
    spec:
      serviceAccountName: system-upgrade
      containers:
      - name: system-upgrade-controller
        image: rancher/system-upgrade-controller:{versions.SYSTEM_UPGRADE_CONTROLLER}
"""


def release_files(prefix: str = "") -> dict[str, str]:
    """URL path -> body of the pinned release's two assets; `prefix` is the mirror's path."""
    return {
        f"{prefix}{RELEASE}/crd.yaml": (CRDS / PLAN_CRD_DIR / "upgrade.cattle.io_plans.yaml").read_text(),
        f"{prefix}{RELEASE}/system-upgrade-controller.yaml": CONTROLLER,
    }


def plan_object(
    version: str,
    *,
    state: str = "complete",  # resolved | applying | failed | complete
    applying: tuple[str, ...] = (),
    failed_node: str | None = None,
    when: str = "2026-03-01T12:00:00Z",
) -> dict:
    """The k3s-server Plan as SUC v0.20.1 keeps its status (pkg/upgrade/handle_upgrade.go, handle_batch.go):

    resolved: the new spec.version is resolved, Complete False "Resolved", no job yet;
    applying: jobs run on `applying`, Complete False "SyncJob";
    failed: the job on `failed_node` failed (k3s-upgrade exits 1), Complete False "JobFailed",
    the node stays in `applying`; complete: Complete True "Complete", nothing applying.
    Conditions are wrangler GenericConditions (type, status, reason, message, lastUpdateTime, lastTransitionTime).
    """
    latest = version.replace("+", "-")
    digest = hashlib.sha224(latest.encode()).hexdigest()[:40]

    def cond(type_: str, status: str, reason: str, message: str = "") -> dict:
        out = {"type": type_, "status": status, "lastUpdateTime": when, "lastTransitionTime": when, "reason": reason}
        if message:
            out["message"] = message
        return out

    complete = {
        "resolved": cond("Complete", "False", "Resolved"),
        "applying": cond("Complete", "False", "SyncJob"),
        "failed": cond(
            "Complete", "False", "JobFailed",
            f"Job system-upgrade/apply-k3s-server-on-{failed_node}-with-{digest} failed on Node {failed_node}:"
            " BackoffLimitExceeded: Job has reached the specified backoff limit",
        ),
        "complete": cond("Complete", "True", "Complete"),
    }[state]
    status: dict = {
        "conditions": [cond("Validated", "True", "PlanIsValid"), cond("LatestResolved", "True", "Version"), complete],
        "latestVersion": latest,
        "latestHash": digest,
    }
    nodes = applying or ((failed_node,) if failed_node else ())
    if state in ("applying", "failed") and nodes:
        status["applying"] = list(nodes)
    return {
        "apiVersion": "upgrade.cattle.io/v1",
        "kind": "Plan",
        "metadata": {"name": "k3s-server", "namespace": "system-upgrade", "labels": {"app.kubernetes.io/managed-by": "clusterctl-py"}},
        "spec": {
            "concurrency": 1,
            "cordon": True,
            "nodeSelector": {"matchExpressions": [{"key": "node-role.kubernetes.io/control-plane", "operator": "In", "values": ["true"]}]},
            "serviceAccountName": "system-upgrade",
            "upgrade": {"image": "rancher/k3s-upgrade"},
            "version": version,
        },
        "status": status,
    }


PLAN_KEY = "upgrade.cattle.io/v1/plans"


def upgraded(node: dict, version: str) -> dict:
    """`node` as SUC leaves it once the k3s-server Plan at `version` completed there: labelled with the Plan's hash."""
    node["metadata"]["labels"]["plan.upgrade.cattle.io/k3s-server"] = plan_object(version)["status"]["latestHash"]
    return node


class SucSim:
    """system-upgrade-controller and rancher/k3s-upgrade in miniature, over the emulator's k3s servers.

    As SUC v0.20.1 moves the servers to a new spec.version of the k3s-server Plan
    (pkg/upgrade/handle_upgrade.go, handle_batch.go; concurrency 1, cordon):
    resolve the version (Complete False "Resolved"), then per server in turn
    cordon it and run the job (Complete False "SyncJob", status.applying), and
    when the job completed: the new kubelet version, the Plan's hash label,
    uncordoned. A job whose k3s is older than what runs fails, as k3s-upgrade's
    replace_binary does (k3s-io/k3s-upgrade scripts/upgrade.sh): Complete False
    "JobFailed", the server left cordoned. One step each time the watched
    command lists the servers.
    """

    def __init__(self, server):
        self.server = server
        self.steps: list[str] = []
        self.paused = False
        self.after_step = None
        self.fail_on: str | None = None  # a server whose job fails whatever the version (an image it cannot pull, ...)
        server.api.before.append(self._look)

    def ask_for(self, version: str) -> None:
        """What the capi stack's `pulumi up` does: the Plan's spec.version."""

        def change(api):
            plan = copy.deepcopy(api.objects[PLAN_KEY, "system-upgrade", "k3s-server"].raw)
            plan["spec"]["version"] = version
            api.objects[PLAN_KEY, "system-upgrade", "k3s-server"] = plan

        self.server.edit(change)

    def _look(self, verb, plural, namespace, name) -> None:
        if self.paused or (verb, plural) != ("list", "nodes"):
            return
        done = self.step(self.server.api)
        if done:
            self.steps.append(done)
            if self.after_step is not None:
                self.after_step(len(self.steps))

    def step(self, api) -> str | None:
        plan = copy.deepcopy(api.objects[PLAN_KEY, "system-upgrade", "k3s-server"].raw)
        version, status = plan["spec"]["version"], plan["status"]
        label = "plan.upgrade.cattle.io/k3s-server"

        def put(state: str, applying=(), failed_node=None) -> None:
            fresh = plan_object(version, state=state, applying=tuple(applying), failed_node=failed_node)
            api.objects[PLAN_KEY, "system-upgrade", "k3s-server"] = {**plan, "status": fresh["status"]}

        if status.get("latestVersion") != version.replace("+", "-"):
            put("resolved")
            return f"resolved {version}"
        digest = plan_object(version)["status"]["latestHash"]
        servers = sorted(
            (copy.deepcopy(o.raw) for (res, _, _), o in api.objects.items()
             if res.plural == "nodes" and not o.deleted and o.raw["metadata"]["labels"].get("node-role.kubernetes.io/control-plane") == "true"),
            key=lambda n: n["metadata"]["name"],
        )
        applying = status.get("applying") or []
        if applying:
            node = next(n for n in servers if n["metadata"]["name"] == applying[0])
            name = node["metadata"]["name"]
            if name == self.fail_on or _k3s_key(version) < _k3s_key(node["status"]["nodeInfo"]["kubeletVersion"]):
                if (next(c for c in status["conditions"] if c["type"] == "Complete")["reason"]) == "JobFailed":
                    return None
                put("failed", failed_node=name)
                return f"job on {name} failed"
            node["status"]["nodeInfo"]["kubeletVersion"] = version
            node["metadata"]["labels"][label] = digest
            node["spec"].pop("unschedulable", None)
            node["spec"].pop("taints", None)
            api.objects["v1/nodes", None, name] = node
            put("applying")  # nothing applying until the next server's job starts
            return f"{name} on {version}"
        todo = [n for n in servers if n["metadata"]["labels"].get(label) != digest]
        if not todo:
            complete = next(c for c in status["conditions"] if c["type"] == "Complete")
            if complete["status"] == "True":
                return None
            put("complete")
            return "complete"
        node = todo[0]
        node["spec"]["unschedulable"] = True  # the job's cordon init container
        node["spec"]["taints"] = [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]
        api.objects["v1/nodes", None, node["metadata"]["name"]] = node
        put("applying", applying=[node["metadata"]["name"]])
        return f"applying on {node['metadata']['name']}"


def _k3s_key(version: str) -> tuple[int, ...]:
    core, _, build = version.lstrip("v").partition("+k3s")
    return (*(int(x) for x in core.split(".")), int(build or 0))
