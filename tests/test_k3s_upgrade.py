"""Management k3s upgrades through system-upgrade-controller: the server Plan, and both stacks under mocks.

The Plan's fields are spelled as SUC defines them (rancher/system-upgrade-controller
pkg/apis/upgrade.cattle.io/v1/types.go PlanSpec) and as the k3s docs' server
plan uses them (k3s-io/docs docs/upgrades/automated.md); the Plan is checked
against SUC's own CRD, vendored under tests/data/crds.
"""

from __future__ import annotations

import zlib

from clusterctl_py import versions
from clusterctl_py.render import k3s_upgrade
from tests import test_stack_management as management
from tests.support import pulumi_mocks as pm
from tests.support import suc
from tests.support.crds import CrdCatalog
from tests.test_stack_capi import groups, run, server  # noqa: F401 - `server` is the fixture the stack tests use

PINNED = versions.K3S
NEXT = "v1.34.1+k3s1"
PLAN_TYPE = "kubernetes:upgrade.cattle.io/v1:Plan"


def test_the_server_plan_is_a_valid_suc_plan():
    catalog = CrdCatalog.load(suc.CRDS, [suc.PLAN_CRD_DIR])
    catalog.assert_valid([k3s_upgrade.server_plan(NEXT)])


def test_the_server_plan_upgrades_every_k3s_server_one_at_a_time_to_the_given_version():
    plan = k3s_upgrade.server_plan(NEXT)
    assert (plan["apiVersion"], plan["kind"]) == ("upgrade.cattle.io/v1", "Plan")
    # Plans must live in the controller's namespace.
    assert plan["metadata"]["namespace"] == "system-upgrade"
    spec = plan["spec"]
    # A pinned version; a channel would upgrade whenever k3s publishes a release.
    assert spec["version"] == NEXT and "channel" not in spec
    assert spec["concurrency"] == 1
    assert spec["cordon"] is True
    # k3s labels its servers node-role.kubernetes.io/control-plane=true.
    assert spec["nodeSelector"] == {
        "matchExpressions": [{"key": "node-role.kubernetes.io/control-plane", "operator": "In", "values": ["true"]}]
    }
    assert spec["serviceAccountName"] == "system-upgrade"
    assert spec["upgrade"] == {"image": "rancher/k3s-upgrade"}


def test_suc_comes_from_its_pinned_release_or_a_mirror():
    tag = versions.SYSTEM_UPGRADE_CONTROLLER
    assert k3s_upgrade.asset_url("crd.yaml") == f"https://github.com/rancher/system-upgrade-controller/releases/download/{tag}/crd.yaml"
    assert k3s_upgrade.asset_url("system-upgrade-controller.yaml", "https://mirror.example/gh/") == (
        f"https://mirror.example/gh/rancher/system-upgrade-controller/releases/download/{tag}/system-upgrade-controller.yaml"
    )


def _capi(base: str, k3s_version: str):
    return run(base, **{"clusterctl:management": {"name": "mgmt", "k3sVersion": k3s_version}})


def test_the_capi_stack_installs_suc_and_a_server_plan_at_the_spec_version(server):  # noqa: F811
    _, base = server
    mocks, monitor, _ = _capi(base, NEXT)
    (plan,) = mocks.of_type(PLAN_TYPE)
    assert pm.plain(plan.inputs["spec"])["version"] == NEXT
    assert plan.inputs["metadata"]["namespace"] == "system-upgrade"
    # SUC's own release manifests, fetched through the configured mirror.
    assets = suc.release_files("/gh")
    bundles = groups(mocks)
    assert bundles["k3s-upgrade-crd"].inputs["yaml"] == assets[f"/gh{suc.RELEASE}/crd.yaml"]
    assert bundles["k3s-upgrade-controller"].inputs["yaml"] == assets[f"/gh{suc.RELEASE}/system-upgrade-controller.yaml"]
    # The Plan needs its CRD, and its namespace and service account from the controller manifest.
    deps = monitor.named(plan.name).dependencies
    assert monitor.named("k3s-upgrade-crd").urn in deps and monitor.named("k3s-upgrade-controller").urn in deps
    # In the management cluster, through the capi stack's provider.
    for name in (plan.name, "k3s-upgrade-crd", "k3s-upgrade-controller"):
        assert mocks.args[name].provider == mocks.args["capi-cert-manager"].provider
        assert "capi-management" in mocks.args[name].provider


def test_a_new_k3s_version_updates_the_plan_in_place(server):  # noqa: F811
    _, base = server
    mocks, monitor, _ = _capi(base, PINNED)
    (before,) = mocks.of_type(PLAN_TYPE)
    before_urn = monitor.named(before.name).urn
    mocks, monitor, _ = _capi(base, NEXT)
    (after,) = mocks.of_type(PLAN_TYPE)
    assert monitor.named(after.name).urn == before_urn
    assert (pm.plain(before.inputs["spec"])["version"], pm.plain(after.inputs["spec"])["version"]) == (PINNED, NEXT)
    assert {k: v for k, v in pm.plain(after.inputs["spec"]).items() if k != "version"} == {
        k: v for k, v in pm.plain(before.inputs["spec"]).items() if k != "version"
    }


class StableIds(pm.RecordingMocks):
    """Ids from resource names: the default counter follows registration order, which varies between runs."""

    def new_resource(self, args):
        rid, outputs = super().new_resource(args)
        if args.typ == "pulumi:pulumi:StackReference":
            return rid, outputs
        self.resources[-1].resource_id = str(zlib.crc32(args.name.encode()))
        return self.resources[-1].resource_id, outputs


def _management(k3s_version: str, servers: int):
    pm.set_config(
        {
            "clusterctl:hetzner": {"location": "fsn1", "sshKeys": ["ops"]},
            "clusterctl:management": {"name": "mgmt", "servers": servers, "k3sVersion": k3s_version},
            "hcloud:token": "h" * 64,
        },
        secret_keys=["hcloud:token"],
    )
    mocks = StableIds(outputs_for=management.outputs_for)
    monitor, _ = pm.run_recorded("management", mocks, preview=True)
    return mocks, monitor


def test_a_new_k3s_version_never_replaces_the_management_servers():
    """The servers keep the user data they were created with; only the Plan carries the new version."""
    servers = 3
    old_mocks, _ = _management(PINNED, servers)
    new_mocks, new_monitor = _management(NEXT, servers)
    for i in range(servers):
        old, new = old_mocks.named(f"mgmt-server-{i}").inputs, new_mocks.named(f"mgmt-server-{i}").inputs
        assert f"INSTALL_K3S_VERSION='{PINNED}'" in management.user_data(old_mocks, i)
        assert f"INSTALL_K3S_VERSION='{NEXT}'" in management.user_data(new_mocks, i)
        # User data is all that changes, and Pulumi ignores it: no diff, so no replacement.
        assert {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)} == {"userData"}
        assert "userData" in new_monitor.named(f"mgmt-server-{i}").ignore_changes
