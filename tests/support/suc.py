"""system-upgrade-controller's release assets, as the capi stack's tests serve them.

`crd.yaml` is the vendored Plan CRD of the pinned release (tests/data/crds,
see the header there); the controller manifest keeps the shape of the
release's system-upgrade-controller.yaml (manifests/ of rancher/system-upgrade-controller
at that tag, built with kustomize), trimmed to what the tests look at.
"""

from __future__ import annotations

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
