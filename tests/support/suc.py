"""system-upgrade-controller's release assets, as the capi stack's tests serve them.

`crd.yaml` is the vendored Plan CRD of the pinned release (tests/data/crds,
see the header there); the controller manifest keeps the shape of the
release's system-upgrade-controller.yaml (manifests/ of rancher/system-upgrade-controller
at that tag, built with kustomize), trimmed to what the tests look at.
"""

from __future__ import annotations

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
