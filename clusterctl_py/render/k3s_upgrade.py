"""k3s upgrades of the management cluster, through system-upgrade-controller (SUC).

The management servers install k3s from cloud-init once; a changed version in
their user data would only take effect by rebuilding them, so Pulumi ignores
it. k3s's own way to upgrade a running cluster is a SUC `Plan`: the
controller runs `rancher/k3s-upgrade` on each node the plan selects, which
swaps the k3s binary and restarts it (docs.k3s.io, upgrades/automated).

Pure: versions in, URLs and objects out.
"""

from __future__ import annotations

from clusterctl_py import versions
from clusterctl_py.render.capi_components import GITHUB
from clusterctl_py.render.meta import MANAGED_BY, MANAGED_BY_LABEL

REPO = "rancher/system-upgrade-controller"
# What the release publishes (scripts/package-controller): the CRD, and the
# controller with its namespace, service account, RBAC and config.
CRD_ASSET = "crd.yaml"
CONTROLLER_ASSET = "system-upgrade-controller.yaml"
# Names the release manifest gives them (manifests/system-upgrade-controller.yaml);
# plans must live in the controller's namespace.
NAMESPACE = "system-upgrade"
SERVICE_ACCOUNT = "system-upgrade"
PLAN_API = "upgrade.cattle.io/v1"
SERVER_PLAN = "k3s-server"
# The tag is the plan's version with "+" as "-" (SUC's ContainerSpec.Image: a
# missing tag takes status.latestVersion).
UPGRADE_IMAGE = "rancher/k3s-upgrade"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"


def asset_url(asset: str, base_url: str | None = None) -> str:
    """Release asset URL at the pinned tag; `base_url` replaces `https://github.com` for mirrors."""
    return f"{(base_url or GITHUB).rstrip('/')}/{REPO}/releases/download/{versions.SYSTEM_UPGRADE_CONTROLLER}/{asset}"


def server_plan(k3s_version: str) -> dict:
    """The plan that moves every k3s server to `k3s_version`, one at a time.

    As the k3s docs' server plan (docs.k3s.io upgrades/automated): servers are
    the nodes labelled control-plane "true" by k3s; one at a time keeps etcd's
    quorum with three servers; cordon keeps new pods off a node while its k3s
    restarts. A pinned `version`, never a `channel`: the spec decides when to
    upgrade. All management nodes are servers, so no agent plan is needed.
    """
    return {
        "apiVersion": PLAN_API,
        "kind": "Plan",
        "metadata": {"name": SERVER_PLAN, "namespace": NAMESPACE, "labels": {MANAGED_BY_LABEL: MANAGED_BY}},
        "spec": {
            "concurrency": 1,
            "cordon": True,
            "nodeSelector": {"matchExpressions": [{"key": CONTROL_PLANE_LABEL, "operator": "In", "values": ["true"]}]},
            "serviceAccountName": SERVICE_ACCOUNT,
            "upgrade": {"image": UPGRADE_IMAGE},
            "version": k3s_version,
        },
    }
