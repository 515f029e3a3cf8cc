"""stacks/cluster run whole under Pulumi's mocks.

Dependencies and resource options are not part of `MockResourceArgs`, so a
small MockMonitor subclass records them from the registration request the
Pulumi SDK sends (the same request the engine would receive): dependency
URNs, custom timeouts, ignoreChanges and additional secret outputs.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass

import pulumi
import pytest
import yaml

from clusterctl_py.errors import SpecError

from tests.support import pulumi_mocks as pm

MGMT_STACK = "acme/clusterctl-management/prod"
CAPI_STACK = "acme/clusterctl-capi/prod"
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n"
TOKEN = "h" * 64

CLUSTERS = [
    {
        "name": "shop",
        "kubernetesVersion": "v1.34.2",
        "controlPlane": {"replicas": 3, "serverType": "cpx22"},
        "pools": [
            {"name": "web", "serverType": "cpx32", "min": 1, "max": 14},  # split over two spread groups
            {"name": "batch", "serverType": "cax21", "min": 0, "max": 4, "taints": [{"key": "batch", "effect": "NoSchedule"}]},
        ],
        "podCidr": "10.244.0.0/16",
    },
    {"name": "other", "kubernetesVersion": "v1.33.5", "pools": [{"name": "w", "serverType": "cpx22", "max": 2}]},
]


def config(clusters=CLUSTERS, cluster: str = "shop") -> dict:
    return {
        "clusterctl:cluster": cluster,
        "clusterctl:managementStack": MGMT_STACK,
        "clusterctl:capiStack": CAPI_STACK,
        "clusterctl:hetzner": {"location": "fsn1", "sshKeys": ["ops"]},
        "clusterctl:management": {"name": "mgmt"},
        "clusterctl:clusters": clusters,
        "hcloud:token": TOKEN,
    }


def outputs_for(args: pulumi.runtime.MockResourceArgs) -> dict:
    # Reading <cluster>-kubeconfig returns what CAPI stores there.
    if args.typ == "kubernetes:core/v1:Secret" and args.resource_id:
        return {"data": {"value": base64.b64encode(KUBECONFIG.encode()).decode()}}
    return {}


@dataclass
class Run:
    mocks: pm.RecordingMocks
    monitor: pm.RecordingMonitor
    outputs: dict  # name -> (value, is_secret), resolved before the next run resets the mocks


def run(cfg: dict) -> Run:
    pm.set_config(cfg, secret_keys=["hcloud:token"])
    mocks = pm.RecordingMocks(
        stack_outputs={
            MGMT_STACK: {"kubeconfig": KUBECONFIG},
            CAPI_STACK: {"installed": {"cluster-api": "v1.13.5", "infrastructure-hetzner": "v1.1.8"}},
        },
        outputs_for=outputs_for,
    )
    monitor, resolved = pm.run_recorded("cluster", mocks)
    return Run(mocks, monitor, resolved)


def _as_sent(value):
    """Pulumi's wire format carries every number as a double; the provider
    writes integral ones back as JSON integers, which is what the API server
    (and so the CRD schema) sees."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _as_sent(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_sent(v) for v in value]
    return value


def capi_objects(r: Run) -> list[dict]:
    """Every CAPI/CAPH/CAAPH object handed to Pulumi, as the manifest it becomes."""
    objs = []
    for res in r.mocks.resources:
        group = res.type.split(":")[1]
        if ".x-k8s.io/" in group:
            fields = {k: v for k, v in res.inputs.items() if k in ("apiVersion", "kind", "metadata", "spec")}
            objs.append(_as_sent(pm.plain(fields)))
    return objs


def of_kind(r: Run, kind: str) -> list[pm.Registered]:
    return [res for res in r.mocks.resources if res.type.endswith(":" + kind)]


@pytest.fixture(scope="module")
def shop() -> Run:
    return run(config())


@pytest.fixture(scope="module")
def catalog():
    try:
        from tests.support import crds
    except ModuleNotFoundError:
        from support import crds
    root = crds.require_reference()
    return crds.CrdCatalog.load(
        root / "crds" if (root / "crds").is_dir() else root, ["cluster-api/v1.13.5", "caph/v1.1.8", "caaph/v0.6.4"]
    )


def test_every_capi_object_validates_against_pinned_crds(shop, catalog):
    objs = capi_objects(shop)
    kinds = {o["kind"] for o in objs}
    assert {"Cluster", "HetznerCluster", "KubeadmControlPlane", "MachineDeployment", "HelmChartProxy"} <= kinds
    catalog.assert_valid(objs)


def test_cluster_waits_for_available_with_long_timeouts(shop):
    (cluster,) = of_kind(shop, "Cluster")
    assert cluster.inputs["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Available"
    assert "pulumi.com/skipAwait" not in cluster.inputs["metadata"]["annotations"]
    timeouts = shop.monitor.named(cluster.name).custom_timeouts
    assert timeouts["create"] == "60m" and timeouts["delete"] == "30m"


def test_cluster_carries_the_addon_labels_the_proxies_select(shop):
    (cluster,) = of_kind(shop, "Cluster")
    proxies = of_kind(shop, "HelmChartProxy")
    assert {p.inputs["spec"]["chartName"] for p in proxies} == {"cilium", "hcloud-cloud-controller-manager", "hcloud-csi"}
    for proxy in proxies:
        wanted = proxy.inputs["spec"]["clusterSelector"]["matchLabels"]
        assert wanted.items() <= cluster.inputs["metadata"]["labels"].items()
        assert proxy.inputs["metadata"]["namespace"] == cluster.inputs["metadata"]["namespace"]


def test_machine_deployments_leave_replicas_to_the_autoscaler(shop):
    mds = of_kind(shop, "MachineDeployment")
    assert len(mds) == 3  # web is split over two placement groups, plus batch
    for md in mds:
        assert "replicas" not in md.inputs["spec"]
        assert shop.monitor.named(md.name).ignore_changes == ["spec.replicas"]


def test_token_secret_and_kubeconfig_stay_secret(shop):
    token = shop.mocks.named("shop-hcloud-token")
    assert token.inputs["metadata"]["name"] == "hcloud"
    assert token.inputs["metadata"]["labels"]["clusterctl.cluster.x-k8s.io/move"] == ""
    assert pm.plain(token.inputs["stringData"]) == {"hcloud": TOKEN}
    assert {"data", "stringData"} <= set(shop.monitor.named("shop-hcloud-token").additional_secret_outputs)
    # The token goes to the engine marked secret, so state holds it encrypted.
    assert "stringData" in shop.monitor.named("shop-hcloud-token").secret_inputs
    assert "kubeconfig" in shop.monitor.named("management").secret_inputs
    assert shop.outputs["kubeconfig"] == (KUBECONFIG, True)
    assert shop.outputs["clusterName"] == ("shop", False)
    assert shop.outputs["namespace"] == ("shop", False)


def test_kubeconfig_is_read_from_the_secret_capi_writes_after_the_cluster(shop):
    read = shop.monitor.named("shop-kubeconfig")
    assert read.read_id == "shop/shop-kubeconfig"
    (cluster,) = of_kind(shop, "Cluster")
    assert shop.monitor.named(cluster.name).urn in read.dependencies


def test_destroy_order_cluster_before_token_controllers_and_addons(shop):
    """Pulumi deletes a resource before everything it depends on."""
    mon = shop.monitor
    (cluster,) = of_kind(shop, "Cluster")
    deps = set(mon.named(cluster.name).dependencies)
    capi_marker = next(r.urn for r in mon.requests if r.type == "pulumi:pulumi:StackReference" and r.name == CAPI_STACK)
    assert mon.named("shop-hcloud-token").urn in deps
    assert capi_marker in deps
    # The Cluster goes first so CAPI cascades (CAPH deletes the servers) while
    # its infrastructure objects and the add-on proxies still exist.
    for kind in ("HetznerCluster", "KubeadmControlPlane", "MachineDeployment", "HCloudMachineTemplate", "HelmChartProxy"):
        for res in of_kind(shop, kind):
            assert mon.named(res.name).urn in deps, res.name
            # and none of them waits for the Cluster (that would deadlock creation)
            assert mon.named(cluster.name).urn not in mon.named(res.name).dependencies
    # Templates and the rest need the controllers' webhooks when created.
    for res in of_kind(shop, "HCloudMachineTemplate") + of_kind(shop, "KubeadmConfigTemplate"):
        assert capi_marker in mon.named(res.name).dependencies
    # The autoscaler starts after and stops before the Cluster.
    for typ in ("Deployment", "ServiceAccount", "Role", "RoleBinding"):
        for res in of_kind(shop, typ):
            assert mon.named(cluster.name).urn in mon.named(res.name).dependencies, res.name


def test_autoscaler_targets_this_cluster(shop):
    (deployment,) = of_kind(shop, "Deployment")
    args = deployment.inputs["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--node-group-auto-discovery=clusterapi:namespace=shop,clusterName=shop" in args
    assert deployment.inputs["metadata"]["namespace"] == "shop"


def test_management_provider_uses_a_stable_identity(shop):
    (provider,) = [r for r in shop.mocks.resources if r.type == "pulumi:providers:kubernetes"]
    assert provider.inputs["clusterIdentifier"] == "mgmt"
    assert pm.plain(provider.inputs["kubeconfig"]) == KUBECONFIG


def _names(r: Run, kind: str) -> set[str]:
    """Kubernetes object names; the Pulumi resource names are derived from them."""
    names = {res.inputs["metadata"]["name"] for res in of_kind(r, kind)}
    assert {res.name for res in of_kind(r, kind)} == {f"shop-{kind.lower()}-{n}" for n in names}
    return names


def test_server_type_change_renames_exactly_that_pools_template(shop):
    changed = copy.deepcopy(CLUSTERS)
    changed[0]["pools"][1]["serverType"] = "cax31"
    after = run(config(changed))
    before_names, after_names = _names(shop, "HCloudMachineTemplate"), _names(after, "HCloudMachineTemplate")
    gone, new = before_names - after_names, after_names - before_names
    assert len(gone) == 1 and len(new) == 1
    assert "-batch-" in gone.pop() and "-batch-" in new.pop()
    # Nothing else is replaced.
    for kind in ("KubeadmConfigTemplate", "MachineDeployment", "KubeadmControlPlane", "Cluster"):
        assert _names(shop, kind) == _names(after, kind)


def test_kubernetes_upgrade_renames_every_bootstrap_template(shop):
    changed = copy.deepcopy(CLUSTERS)
    changed[0]["kubernetesVersion"] = "v1.35.0"
    after = run(config(changed))
    before, now = _names(shop, "KubeadmConfigTemplate"), _names(after, "KubeadmConfigTemplate")
    assert len(now) == len(before) == 2 and not before & now
    (kcp,) = of_kind(after, "KubeadmControlPlane")
    assert kcp.inputs["spec"]["version"] == "v1.35.0"
    for md in of_kind(after, "MachineDeployment"):
        assert md.inputs["spec"]["template"]["spec"]["version"] == "v1.35.0"
        assert md.inputs["spec"]["template"]["spec"]["bootstrap"]["configRef"]["name"] in now


def test_unknown_cluster_is_refused_by_name():
    with pytest.raises(SpecError) as err:
        run(config(cluster="nope"))
    text = str(err.value)
    assert "clusterctl:cluster" in text and "'nope'" in text and "shop" in text


@pytest.mark.parametrize("key", ["clusterctl:cluster", "clusterctl:managementStack", "clusterctl:capiStack"])
def test_missing_stack_setting_is_refused_naming_it(key):
    cfg = config()
    del cfg[key]
    with pytest.raises(SpecError) as err:
        run(cfg)
    assert str(err.value) == f"{key}: required for the cluster stack but not set"


def test_values_reach_pulumi_as_yaml(shop):
    (ccm,) = [p for p in of_kind(shop, "HelmChartProxy") if p.inputs["spec"]["chartName"] == "hcloud-cloud-controller-manager"]
    values = yaml.safe_load(ccm.inputs["spec"]["valuesTemplate"])
    assert values["networking"]["clusterCIDR"] == "10.244.0.0/16"


def _deps(r: Run, res: pm.Registered) -> set[str]:
    return set(r.monitor.named(res.name).dependencies)


def test_capi_objects_are_deleted_in_the_background_so_capi_can_drain(shop):
    """Foreground deletion (pulumi-kubernetes' default) lets the garbage collector
    delete a MachineDeployment's Machines and HCloudMachines at once, and CAPH
    removes the servers before CAPI drains the nodes."""
    capi_kinds = set()
    for res in shop.mocks.resources:
        if ".x-k8s.io/" in res.type.split(":")[1]:
            capi_kinds.add(res.inputs["kind"])
            assert res.inputs["metadata"]["annotations"]["pulumi.com/deletionPropagationPolicy"] == "background", res.name
    assert {
        "Cluster", "HetznerCluster", "KubeadmControlPlane", "MachineDeployment", "HCloudMachineTemplate",
        "KubeadmConfigTemplate", "MachineHealthCheck", "HCloudRemediationTemplate", "HelmChartProxy",
    } <= capi_kinds
    # Pulumi waits for the MachineDeployment itself to go, which CAPI holds until its nodes are drained.
    for md in of_kind(shop, "MachineDeployment"):
        assert shop.monitor.named(md.name).custom_timeouts["delete"] == "60m"


def test_generate_output_carries_no_pulumi_annotations():
    # The annotations steer pulumi-kubernetes only; `generate` prints the pure render.
    from clusterctl_py import spec as spec_mod
    from clusterctl_py.render.cluster import render_cluster

    spec = spec_mod.parse({"hetzner": {"location": "fsn1", "sshKeys": ["ops"]}, "clusters": CLUSTERS})
    for obj in render_cluster(spec, spec.cluster("shop")):
        assert not any(k.startswith("pulumi.com/") for k in obj["metadata"].get("annotations", {})), obj["kind"]


def test_templates_exist_before_the_objects_that_name_them(shop):
    urn = {(r.inputs["kind"], r.inputs["metadata"]["name"]): shop.monitor.named(r.name).urn
           for r in shop.mocks.resources if ".x-k8s.io/" in r.type.split(":")[1]}
    mds = of_kind(shop, "MachineDeployment")
    assert len(mds) == 3
    for md in mds:
        spec = md.inputs["spec"]["template"]["spec"]
        assert urn[("HCloudMachineTemplate", spec["infrastructureRef"]["name"])] in _deps(shop, md)
        assert urn[("KubeadmConfigTemplate", spec["bootstrap"]["configRef"]["name"])] in _deps(shop, md)
    (kcp,) = of_kind(shop, "KubeadmControlPlane")
    template = kcp.inputs["spec"]["machineTemplate"]["spec"]["infrastructureRef"]["name"]
    assert urn[("HCloudMachineTemplate", template)] in _deps(shop, kcp)
    for mhc in of_kind(shop, "MachineHealthCheck"):
        remediation = mhc.inputs["spec"]["remediation"]["templateRef"]
        assert urn[(remediation["kind"], remediation["name"])] in _deps(shop, mhc)
