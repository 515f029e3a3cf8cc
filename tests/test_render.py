"""Rendering rules a cluster operator relies on: rollouts exactly when needed, autoscaler-friendly pools."""

from __future__ import annotations

import math
import shlex
import subprocess
import sys
from datetime import timedelta

import pytest

from clusterctl_py import spec as spec_mod
from clusterctl_py.render import dump_all, render_cluster
from clusterctl_py.providers.hetzner import PROVIDER

# Spelled as kubernetes/autoscaler documents them
# (cluster-autoscaler/cloudprovider/clusterapi/README.md), never imported from our code.
MIN_SIZE = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size"
MAX_SIZE = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size"
CAPACITY = "capacity.cluster-autoscaler.kubernetes.io/"
from tests.conftest import REPO, platform_data
from tests.support.go import go_duration

CLUSTER_NAME = "cluster.x-k8s.io/cluster-name"
POOL = "node.cluster.x-k8s.io/pool"
# Hetzner refuses an 11th server in a spread placement group (a fact, not our constant).
SPREAD_GROUP_LIMIT = 10
# A rolling update adds one machine before it removes one: CAPI's default
# maxSurge for MachineDeployments and the KubeadmControlPlane.
ROLLOUT_SURGE = 1


def render(data=None, name="prod"):
    spec = spec_mod.parse(data or platform_data())
    return render_cluster(spec, spec.cluster(name))


def by_key(objs):
    keyed = {(o["kind"], o["metadata"]["name"]): o for o in objs}
    assert len(keyed) == len(objs), "two objects share kind and name"
    return keyed


def of_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def names(objs, kind):
    return sorted(o["metadata"]["name"] for o in of_kind(objs, kind))


def _bootstrap_specs(objs):
    """The kubeadm config of the control plane and of every pool."""
    specs = [of_kind(objs, "KubeadmControlPlane")[0]["spec"]["kubeadmConfigSpec"]]
    return specs + [o["spec"]["template"]["spec"] for o in of_kind(objs, "KubeadmConfigTemplate")]


def with_pool(data, index, **changes):
    data["clusters"][0]["pools"][index].update(changes)
    return data


def flatten(obj, prefix=""):
    """{dotted path: leaf value}, so two objects can be compared field by field."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else key))
        return out or {prefix: {}}
    if isinstance(obj, list):
        out = {}
        for i, value in enumerate(obj):
            out.update(flatten(value, f"{prefix}[{i}]"))
        return out or {prefix: []}
    return {prefix: obj}


def changed_paths(before, after):
    a, b = flatten(before), flatten(after)
    return {p for p in a.keys() | b.keys() if a.get(p, "<absent>") != b.get(p, "<absent>")}


def diff(before_objs, after_objs):
    """(keys only before, keys only after, {key: changed paths} for objects in both)."""
    before, after = by_key(before_objs), by_key(after_objs)
    both = before.keys() & after.keys()
    changed = {k: changed_paths(before[k], after[k]) for k in both if before[k] != after[k]}
    return before.keys() - after.keys(), after.keys() - before.keys(), changed


def annotation(md, key):
    return md["metadata"]["annotations"][key]


# --- (a) determinism -----------------------------------------------------------------


def test_same_spec_renders_byte_identical_yaml():
    assert dump_all(render()) == dump_all(render())


def test_output_is_identical_across_processes():
    # Hash randomisation or set ordering must not leak into names or output.
    script = (
        "import sys; from clusterctl_py import spec; from clusterctl_py.render import render_cluster, dump_all;"
        "s = spec.load(sys.argv[1]); sys.stdout.write(dump_all(render_cluster(s, s.cluster('prod'))))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", script, str(REPO / "examples" / "platform.yaml")],
            capture_output=True, text=True, check=True, cwd=REPO, env={"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "random")
    }
    assert outs == {dump_all(render())}


# --- (b) one pool's server type --------------------------------------------------------


@pytest.mark.parametrize("index, pool_name, new_type, groups", [(0, "general", "cpx42", 2), (1, "arm", "cax31", 3)])
def test_changing_one_pool_server_type_changes_only_that_pool_template(index, pool_name, new_type, groups):
    before = render()
    after = render(with_pool(platform_data(), index, serverType=new_type))
    gone, new, changed = diff(before, after)

    # Exactly that pool's machine templates got new names (one per node group) ...
    assert len(gone) == len(new) == groups
    assert {k[0] for k in gone | new} == {"HCloudMachineTemplate"}
    assert all(k[1].startswith(f"prod-{pool_name}-") for k in gone | new)
    old_t, new_t = by_key(before), by_key(after)
    for old_key, new_key in zip(sorted(gone), sorted(new)):
        assert changed_paths(old_t[old_key], new_t[new_key]) == {"metadata.name", "spec.template.spec.type"}
        assert new_t[new_key]["spec"]["template"]["spec"]["type"] == new_type

    # ... and only its MachineDeployments follow: the new template, and what a new node will offer.
    assert set(changed) == {("MachineDeployment", f"prod-{pool_name}{s}") for s in ["", "-2", "-3"][:groups]}
    capacity = {f"metadata.annotations.{CAPACITY}{k}" for k in ("cpu", "memory", "ephemeral-disk", "labels")}
    for key, paths in changed.items():
        assert paths - capacity == {"spec.template.spec.infrastructureRef.name"}
        assert by_key(after)[key]["spec"]["template"]["spec"]["infrastructureRef"]["name"] in {k[1] for k in new}
    # Nothing else moved, not even the order of the objects.
    assert [(o["kind"], o["metadata"]["name"]) for o in before if (o["kind"], o["metadata"]["name"]) not in gone] == [
        (o["kind"], o["metadata"]["name"]) for o in after if (o["kind"], o["metadata"]["name"]) not in new
    ]


def test_changing_the_control_plane_server_type_rolls_only_the_control_plane():
    data = platform_data()
    data["clusters"][0]["controlPlane"]["serverType"] = "cpx32"
    gone, new, changed = diff(render(), render(data))
    assert {k[0] for k in gone | new} == {"HCloudMachineTemplate"} and len(gone) == len(new) == 1
    assert changed == {
        ("KubeadmControlPlane", "prod-control-plane"): {"spec.machineTemplate.spec.infrastructureRef.name"}
    }


# --- (c) Kubernetes version -----------------------------------------------------------------


def test_changing_kubernetes_version_rolls_control_plane_and_every_pool():
    data = platform_data()
    data["clusters"][0]["kubernetesVersion"] = "v1.35.9"
    before, after = render(), render(data)
    assert of_kind(after, "KubeadmControlPlane")[0]["spec"]["version"] == "v1.35.9"
    for md in of_kind(after, "MachineDeployment"):
        assert md["spec"]["template"]["spec"]["version"] == "v1.35.9"
    # Every bootstrap template is new, so every pool rolls ...
    assert not set(names(before, "KubeadmConfigTemplate")) & set(names(after, "KubeadmConfigTemplate"))
    assert len(names(after, "KubeadmConfigTemplate")) == 2
    templates = {o["metadata"]["name"] for o in of_kind(after, "KubeadmConfigTemplate")}
    for md in of_kind(after, "MachineDeployment"):
        assert md["spec"]["template"]["spec"]["bootstrap"]["configRef"]["name"] in templates
    # ... and the machines install the new kubelet, not the old one (CAPH #591).
    for spec in _bootstrap_specs(after):
        text = "\n".join(spec["preKubeadmCommands"])
        assert "kubelet=1.35.9-*" in text and "kubeadm=1.35.9-*" in text
        assert "pkgs.k8s.io/core:/stable:/v1.35/deb/" in text
        assert "1.34" not in text  # the example runs v1.34.11
    # Infrastructure templates do not depend on the version: no new servers for that reason alone.
    assert names(before, "HCloudMachineTemplate") == names(after, "HCloudMachineTemplate")


def test_version_change_touches_only_versions_and_bootstrap_references():
    data = platform_data()
    data["clusters"][0]["kubernetesVersion"] = "v1.35.9"
    gone, new, changed = diff(render(), render(data))
    assert {k[0] for k in gone | new} == {"KubeadmConfigTemplate"}
    assert set(changed) == {("KubeadmControlPlane", "prod-control-plane"), *(("MachineDeployment", n) for n in ("prod-general", "prod-general-2", "prod-arm", "prod-arm-2", "prod-arm-3"))}
    for (kind, _), paths in changed.items():
        if kind == "MachineDeployment":
            assert paths == {"spec.template.spec.version", "spec.template.spec.bootstrap.configRef.name"}
        else:
            assert "spec.version" in paths
            assert all(p == "spec.version" or p.startswith("spec.kubeadmConfigSpec.preKubeadmCommands") for p in paths)


# --- (d) no change, no diff ---------------------------------------------------------------


def test_reformatting_the_spec_changes_nothing():
    # Key order and default values written out explicitly are not changes.
    data = platform_data()
    data["clusters"][0] = dict(reversed(list(data["clusters"][0].items())))
    data["clusters"][0]["pools"][1]["labels"] = {"tier": "batch"}
    data["clusters"][0]["pools"][0].update(placement="spread", labels={}, taints=[])
    data["clusters"][0].update(podCidr="10.244.0.0/16", serviceCidr="10.96.0.0/12")
    data["hetzner"].update(image="ubuntu-24.04", loadBalancerType="lb11")
    assert dump_all(render(data)) == dump_all(render())


def test_label_order_does_not_change_names():
    a, b = platform_data(), platform_data()
    with_pool(a, 1, labels={"tier": "batch", "team": "data", "example.com/x": "1"})
    with_pool(b, 1, labels={"example.com/x": "1", "team": "data", "tier": "batch"})
    assert dump_all(render(a)) == dump_all(render(b))


# --- (e, f) autoscaler ----------------------------------------------------------------------


def test_machine_deployments_leave_replicas_to_the_autoscaler():
    mds = of_kind(render(), "MachineDeployment")
    assert len(mds) == 5  # general (max 10) and arm (max 20) each split over spread groups
    for md in mds:
        assert "replicas" not in md["spec"]
        ann = md["metadata"]["annotations"]
        assert int(ann[MIN_SIZE]) <= int(ann[MAX_SIZE])


def test_scale_from_zero_capacity_comes_from_the_catalog():
    mds = by_key(render())
    general = mds[("MachineDeployment", "prod-general")]["metadata"]["annotations"]
    arm = mds[("MachineDeployment", "prod-arm")]["metadata"]["annotations"]
    # cpx32: 4 vCPU, 8 GB, 160 GB disk; cax21: 4 vCPU, 8 GB, 80 GB disk.
    assert (general[CAPACITY + "cpu"], general[CAPACITY + "memory"], general[CAPACITY + "ephemeral-disk"]) == ("4", "8G", "160G")
    assert (arm[CAPACITY + "cpu"], arm[CAPACITY + "memory"], arm[CAPACITY + "ephemeral-disk"]) == ("4", "8G", "80G")
    general_labels = general[CAPACITY + "labels"].split(",")
    assert "kubernetes.io/arch=amd64" in general_labels and "node.kubernetes.io/instance-type=cpx32" in general_labels
    # Most charts select `kubernetes.io/os: linux`; a pool at zero is only grown
    # for such pods if the node the autoscaler imagines carries it.
    assert "kubernetes.io/os=linux" in general_labels
    # As many pods as the kubelet admits by default (110; we do not change it).
    assert general[CAPACITY + "maxPods"] == arm[CAPACITY + "maxPods"] == "110"
    arm_labels = arm[CAPACITY + "labels"].split(",")
    assert {"kubernetes.io/arch=arm64", "tier=batch", f"{POOL}=arm", "topology.kubernetes.io/region=nbg1"} <= set(arm_labels)
    assert arm[CAPACITY + "taints"] == "batch=true:NoSchedule"
    assert CAPACITY + "taints" not in general


def test_taints_annotation_lists_every_taint_as_key_value_effect():
    taints = [{"key": "batch", "value": "true", "effect": "NoSchedule"}, {"key": "example.com/gpu", "effect": "NoExecute"}]
    md = of_kind(render(with_pool(platform_data(), 0, taints=taints)), "MachineDeployment")[0]
    assert annotation(md, CAPACITY + "taints") == "batch=true:NoSchedule,example.com/gpu=:NoExecute"


def test_pool_labels_and_taints_reach_the_kubelet():
    kct = next(o for o in of_kind(render(), "KubeadmConfigTemplate") if o["metadata"]["name"].startswith("prod-arm-"))
    reg = kct["spec"]["template"]["spec"]["joinConfiguration"]["nodeRegistration"]
    assert {"name": "node-labels", "value": "tier=batch"} in reg["kubeletExtraArgs"]
    assert {"name": "cloud-provider", "value": "external"} in reg["kubeletExtraArgs"]
    assert reg["taints"] == [{"key": "batch", "value": "true", "effect": "NoSchedule"}]


def test_several_pool_labels_form_one_comma_separated_node_labels_flag():
    # kubelet --node-labels: "<key>=<value> pairs separated by ','" (kubernetes/kubernetes
    # cmd/kubelet/app/options/options.go); the kubelet refuses anything else and never joins.
    objs = render(with_pool(platform_data(), 1, labels={"tier": "batch", "example.com/team": "data"}))
    kct = next(o for o in of_kind(objs, "KubeadmConfigTemplate") if o["metadata"]["name"].startswith("prod-arm-"))
    args = kct["spec"]["template"]["spec"]["joinConfiguration"]["nodeRegistration"]["kubeletExtraArgs"]
    (flag,) = [a["value"] for a in args if a["name"] == "node-labels"]
    assert dict(pair.split("=", 1) for pair in flag.split(",")) == {"tier": "batch", "example.com/team": "data"}


def test_node_role_labels_go_through_capi_not_the_kubelet():
    # The kubelet refuses to start with node-role.kubernetes.io labels in --node-labels.
    objs = render(with_pool(platform_data(), 1, labels={"tier": "batch", "node-role.kubernetes.io/batch": ""}))
    kct = next(o for o in of_kind(objs, "KubeadmConfigTemplate") if o["metadata"]["name"].startswith("prod-arm-"))
    args = kct["spec"]["template"]["spec"]["joinConfiguration"]["nodeRegistration"]["kubeletExtraArgs"]
    assert {"name": "node-labels", "value": "tier=batch"} in args
    assert not any("node-role" in a["value"] for a in args)
    for md in of_kind(objs, "MachineDeployment"):
        machine_labels = md["spec"]["template"]["metadata"]["labels"]
        is_arm = md["metadata"]["name"].startswith("prod-arm")
        assert ("node-role.kubernetes.io/batch" in machine_labels) == is_arm
        if is_arm:
            assert "node-role.kubernetes.io/batch=" in annotation(md, CAPACITY + "labels").split(",")


# --- (g) placement groups --------------------------------------------------------------------


def _groups(objs):
    hc = of_kind(objs, "HetznerCluster")[0]
    declared = [g["name"] for g in hc["spec"].get("hcloudPlacementGroups", [])]
    templates = {t["metadata"]["name"]: t["spec"]["template"]["spec"] for t in of_kind(objs, "HCloudMachineTemplate")}
    per_group: dict[str | None, int] = {}
    for md in of_kind(objs, "MachineDeployment"):
        tmpl = templates[md["spec"]["template"]["spec"]["infrastructureRef"]["name"]]
        group = tmpl.get("placementGroupName")
        per_group[group] = per_group.get(group, 0) + int(annotation(md, MAX_SIZE))
    return declared, per_group


def test_pool_of_twenty_is_split_into_groups_that_leave_room_for_a_rollout():
    # Ten per group would fill a group, and a rollout's surge machine could not be placed.
    objs = render()
    declared, per_group = _groups(objs)
    assert per_group == {"general": 5, "general-2": 5, "arm": 7, "arm-2": 7, "arm-3": 6}
    assert declared == ["control-plane", "general", "general-2", "arm", "arm-2", "arm-3"]
    assert {g["type"] for g in of_kind(objs, "HetznerCluster")[0]["spec"]["hcloudPlacementGroups"]} == {"spread"}
    arm = [md for md in of_kind(objs, "MachineDeployment") if md["metadata"]["name"].startswith("prod-arm")]
    assert [md["metadata"]["name"] for md in arm] == ["prod-arm", "prod-arm-2", "prod-arm-3"]
    assert sum(int(annotation(m, MIN_SIZE)) for m in arm) == 0
    assert [int(annotation(m, MAX_SIZE)) for m in arm] == [7, 7, 6]
    # Both node groups share the pool's bootstrap template and labels.
    assert len({m["spec"]["template"]["spec"]["bootstrap"]["configRef"]["name"] for m in arm}) == 1
    assert {m["spec"]["template"]["metadata"]["labels"][POOL] for m in arm} == {"arm"}


def test_pool_of_nine_is_one_group_and_ten_are_two():
    data = with_pool(with_pool(platform_data(), 0, max=9), 1, max=10)
    declared, per_group = _groups(render(data))
    assert per_group == {"general": 9, "arm": 5, "arm-2": 5}
    assert declared == ["control-plane", "general", "arm", "arm-2"]


@pytest.mark.parametrize("replicas", [1, 3, 5])
def test_control_plane_is_spread_and_its_group_can_roll(replicas):
    data = platform_data()
    data["clusters"][0]["controlPlane"]["replicas"] = replicas
    objs = render(data)
    kcp = of_kind(objs, "KubeadmControlPlane")[0]
    template = by_key(objs)[("HCloudMachineTemplate", kcp["spec"]["machineTemplate"]["spec"]["infrastructureRef"]["name"])]
    group = template["spec"]["template"]["spec"]["placementGroupName"]
    assert group == "control-plane"
    _, per_group = _groups(objs)
    assert group not in per_group  # no worker shares the control plane's group
    assert kcp["spec"]["replicas"] + ROLLOUT_SURGE <= SPREAD_GROUP_LIMIT


def test_min_is_distributed_over_the_groups():
    objs = render(with_pool(platform_data(), 1, min=15, max=25))
    arm = [md for md in of_kind(objs, "MachineDeployment") if md["metadata"]["name"].startswith("prod-arm")]
    mins = [int(annotation(m, MIN_SIZE)) for m in arm]
    maxs = [int(annotation(m, MAX_SIZE)) for m in arm]
    assert sum(mins) == 15 and sum(maxs) == 25 and len(arm) == 3
    assert all(lo <= hi <= SPREAD_GROUP_LIMIT for lo, hi in zip(mins, maxs))


@pytest.mark.parametrize("pool_max", range(1, 101))
def test_every_spread_group_can_roll_at_maximum_scale(pool_max):
    spec = spec_mod.parse(platform_data())
    cluster = spec.clusters[0]
    # The largest min (min == max) first: every group full, and each still needs its surge machine.
    for pool_min in sorted({0, 1, pool_max // 2, pool_max - 1, pool_max}, reverse=True):
        p = cluster.pools[0].model_copy(update={"min": pool_min, "max": pool_max})
        groups = PROVIDER.node_groups(cluster, p)
        assert all(g.max + ROLLOUT_SURGE <= SPREAD_GROUP_LIMIT and 0 <= g.min <= g.max for g in groups)
        # No more groups (MachineDeployments) than the limit needs.
        assert len(groups) == math.ceil(pool_max / (SPREAD_GROUP_LIMIT - ROLLOUT_SURGE))
        assert sum(g.min for g in groups) == pool_min and sum(g.max for g in groups) == pool_max
        assert len({g.placement_group for g in groups}) == len(groups) and len({g.suffix for g in groups}) == len(groups)


@pytest.mark.parametrize("pool_min, pool_max", [(0, 1), (1, 9), (10, 10), (3, 11), (7, 23), (2, 39), (30, 84)])
def test_rendered_groups_never_exceed_ten_servers_during_a_rollout(pool_min, pool_max):
    data = platform_data()
    data["clusters"][0]["pools"] = [{"name": "p", "serverType": "cpx22", "min": pool_min, "max": pool_max}]
    objs = render(data)
    declared, per_group = _groups(objs)
    assert all(n + ROLLOUT_SURGE <= SPREAD_GROUP_LIMIT for n in per_group.values())
    assert sum(per_group.values()) == pool_max
    assert set(per_group) <= set(declared)
    mins = [int(annotation(md, MIN_SIZE)) for md in of_kind(objs, "MachineDeployment")]
    assert sum(mins) == pool_min


def test_placement_none_uses_no_group():
    objs = render(with_pool(platform_data(), 1, placement="none", max=40))
    declared, per_group = _groups(objs)
    assert per_group == {"general": 5, "general-2": 5, None: 40}
    assert declared == ["control-plane", "general", "general-2"]
    arm_md = by_key(objs)[("MachineDeployment", "prod-arm")]
    template = by_key(objs)[("HCloudMachineTemplate", arm_md["spec"]["template"]["spec"]["infrastructureRef"]["name"])]
    assert "placementGroupName" not in template["spec"]["template"]["spec"]


# --- (h, i, j, k) objects CAPI and CAPH require ---------------------------------------------------


def test_hetzner_cluster_has_what_caph_requires():
    hc = of_kind(render(), "HetznerCluster")[0]["spec"]
    assert hc["controlPlaneRegions"] == ["nbg1"]
    assert hc["hetznerSecretRef"] == {"name": "hcloud", "key": {"hcloudToken": "hcloud"}}
    assert hc["sshKeys"] == {"hcloud": [{"name": "ops"}]}
    assert hc["hcloudNetwork"]["enabled"] is True and hc["hcloudNetwork"]["networkZone"] == "eu-central"
    assert hc["controlPlaneLoadBalancer"]["type"] == "lb11"


def test_hetzner_cluster_follows_the_cluster_location():
    data = platform_data(hetzner={"location": "ash", "sshKeys": ["a", "b"]})
    data["clusters"][0].update(location=None, pools=[{"name": "w", "serverType": "cpx22", "max": 2}])
    del data["clusters"][0]["location"]
    hc = of_kind(render(data), "HetznerCluster")[0]["spec"]
    assert hc["controlPlaneRegions"] == ["ash"] and hc["hcloudNetwork"]["networkZone"] == "us-east"
    assert hc["sshKeys"] == {"hcloud": [{"name": "a"}, {"name": "b"}]}


@pytest.mark.parametrize("replicas", [1, 3, 5])
def test_control_plane_runs_the_external_cloud_provider(replicas):
    data = platform_data()
    data["clusters"][0]["controlPlane"]["replicas"] = replicas
    kcp = of_kind(render(data), "KubeadmControlPlane")[0]["spec"]
    assert kcp["replicas"] == replicas
    spec = kcp["kubeadmConfigSpec"]
    ext = {"name": "cloud-provider", "value": "external"}
    assert ext in spec["initConfiguration"]["nodeRegistration"]["kubeletExtraArgs"]
    assert ext in spec["joinConfiguration"]["nodeRegistration"]["kubeletExtraArgs"]
    assert ext in spec["clusterConfiguration"]["controllerManager"]["extraArgs"]


def _extra_args(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("extraArgs", "kubeletExtraArgs"):
                yield f"{path}.{key}", value
            else:
                yield from _extra_args(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _extra_args(value, f"{path}[{i}]")


def test_extra_args_are_lists_of_name_value_pairs():
    found = [(path, args) for obj in render() for path, args in _extra_args(obj)]
    assert len(found) >= 6  # apiServer, controllerManager, init, join, and each pool's join
    for path, args in found:
        assert isinstance(args, list), path
        assert all(set(a) == {"name", "value"} and all(isinstance(v, str) for v in a.values()) for a in args), path


def test_health_checks_cover_control_plane_and_every_pool():
    objs = render()
    remediations = {(o["apiVersion"], o["kind"], o["metadata"]["name"]) for o in of_kind(objs, "HCloudRemediationTemplate")}
    mhcs = of_kind(objs, "MachineHealthCheck")
    assert len(mhcs) == 1 + 2
    selectors = [m["spec"]["selector"]["matchLabels"] for m in mhcs]
    assert {"cluster.x-k8s.io/control-plane": ""} in selectors
    assert {POOL: "general"} in selectors and {POOL: "arm"} in selectors
    for m in mhcs:
        assert m["spec"]["clusterName"] == "prod"
        ref = m["spec"]["remediation"]["templateRef"]
        assert (ref["apiVersion"], ref["kind"], ref["name"]) in remediations
    # The pool label the checks select on is on every pool machine.
    for md in of_kind(objs, "MachineDeployment"):
        assert POOL in md["spec"]["template"]["metadata"]["labels"]


def test_health_checks_replace_what_the_readme_says_they_replace():
    # README "What gets rendered": not Ready for 5 minutes, not joined after 10
    # (15 for the control plane); pools while at most 40% are unhealthy, the
    # control plane one machine at a time. Field names as cluster-api spells
    # them in api/core/v1beta2 machinehealthcheck_types.go.
    not_ready = [
        {"type": "Ready", "status": "Unknown", "timeoutSeconds": 300},
        {"type": "Ready", "status": "False", "timeoutSeconds": 300},
    ]
    mhcs = {m["metadata"]["name"]: m["spec"] for m in of_kind(render(), "MachineHealthCheck")}
    expected = {"prod-control-plane-unhealthy": (900, 1), "prod-general-unhealthy": (600, "40%"), "prod-arm-unhealthy": (600, "40%")}
    assert set(mhcs) == set(expected)
    for name, (startup, at_most) in expected.items():
        checks, remediation = mhcs[name]["checks"], mhcs[name]["remediation"]
        assert checks["unhealthyNodeConditions"] == not_ready, name
        assert checks["nodeStartupTimeoutSeconds"] == startup, name
        assert remediation["triggerIf"] == {"unhealthyLessThanOrEqualTo": at_most}, name


@pytest.mark.parametrize("namespace", [None, "team-a"])
def test_every_object_is_labelled_and_namespaced(namespace):
    data = platform_data()
    if namespace:
        data["clusters"][0]["namespace"] = namespace
    objs = render(data)
    assert objs[0] == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace or "prod", "labels": objs[0]["metadata"]["labels"]}}
    for obj in objs:
        assert obj["metadata"]["labels"][CLUSTER_NAME] == "prod"
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == (namespace or "prod")


def test_references_point_at_rendered_objects():
    objs = by_key(render())
    cluster = objs[("Cluster", "prod")]["spec"]
    assert ("HetznerCluster", cluster["infrastructureRef"]["name"]) in objs
    assert ("KubeadmControlPlane", cluster["controlPlaneRef"]["name"]) in objs
    kcp = objs[("KubeadmControlPlane", "prod-control-plane")]["spec"]
    assert ("HCloudMachineTemplate", kcp["machineTemplate"]["spec"]["infrastructureRef"]["name"]) in objs
    for md in [o for k, o in objs.items() if k[0] == "MachineDeployment"]:
        tmpl = md["spec"]["template"]["spec"]
        assert ("KubeadmConfigTemplate", tmpl["bootstrap"]["configRef"]["name"]) in objs
        assert ("HCloudMachineTemplate", tmpl["infrastructureRef"]["name"]) in objs
        assert md["spec"]["selector"]["matchLabels"].items() <= md["spec"]["template"]["metadata"]["labels"].items()


def test_longest_names_stay_within_kubernetes_limits():
    data = platform_data()
    data["clusters"][0]["name"] = "c" * 24
    data["clusters"][0]["pools"] = [{"name": "p" * 20, "serverType": "cpx22", "max": 80, "labels": {"a": "b"}}]
    objs = render(data, name="c" * 24)
    assert len(of_kind(objs, "MachineDeployment")) == 9
    for obj in objs:
        assert len(obj["metadata"]["name"]) <= 63, obj["metadata"]["name"]
        for value in obj["metadata"]["labels"].values():
            assert len(value) <= 63


def test_yaml_is_the_same_with_or_without_libyaml(monkeypatch):
    # Machines without libyaml fall back to the pure-Python emitter; the bytes must not change.
    import yaml

    from clusterctl_py.render import yaml as render_yaml

    objs = render()
    fast = render_yaml.dump_all(objs)
    monkeypatch.setattr(render_yaml, "_Dumper", render_yaml._PureDumper)
    assert render_yaml.dump_all(objs) == fast
    assert "|" in fast  # multi-line file contents stay literal blocks
    assert list(yaml.safe_load_all(fast)) == objs


@pytest.mark.parametrize("dumper", ["_Dumper", "_PureDumper"])
def test_generate_writes_shared_values_out_without_anchors_or_aliases(dumper, monkeypatch):
    """kubectl and reviewers read plain YAML; `&id001`/`*id001` hide what a reader sees."""
    import re

    import yaml
    from typer.testing import CliRunner

    from clusterctl_py.cli import app
    from clusterctl_py.render import yaml as render_yaml

    monkeypatch.setattr(render_yaml, "_Dumper", getattr(render_yaml, dumper))
    result = CliRunner().invoke(app, ["generate", "cluster", "prod", "-f", str(REPO / "examples" / "platform.yaml")])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert not re.search(r"(:|-) &\w+", text), "YAML anchor in generate output"
    assert not re.search(r"(:|-) \*\w+", text), "YAML alias in generate output"
    # The control plane's kubelet arguments serve init and join: both are written out in full.
    kcp = next(d for d in yaml.safe_load_all(text) if d and d["kind"] == "KubeadmControlPlane")
    config = kcp["spec"]["kubeadmConfigSpec"]
    kubelet = [{"name": "cloud-provider", "value": "external"}]
    assert config["initConfiguration"]["nodeRegistration"]["kubeletExtraArgs"] == kubelet
    assert config["joinConfiguration"]["nodeRegistration"]["kubeletExtraArgs"] == kubelet


def test_a_header_becomes_comment_lines_without_trailing_spaces():
    # An empty header line is written "#", not "# ": editors and linters flag trailing spaces.
    assert dump_all([{"a": 1}], header="first\n\n  indented") == "# first\n#\n#   indented\n---\na: 1\n"


def _references(obj, path=""):
    """(path, group, kind, name) of every object reference inside `obj`: the
    v1beta2 contract shape {apiGroup, kind, name} (cluster-api api/core/v1beta2
    ContractVersionedObjectReference) and the older {apiVersion, kind, name}."""
    if isinstance(obj, dict):
        if {"kind", "name"} <= obj.keys() and ("apiGroup" in obj or "apiVersion" in obj):
            group = obj.get("apiGroup") or obj["apiVersion"].rpartition("/")[0]
            yield path, group, obj["kind"], obj["name"]
        for key, value in obj.items():
            yield from _references(value, f"{path}.{key}")
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from _references(value, f"{path}[{i}]")


def test_every_reference_resolves_to_a_rendered_object():
    # A Cluster whose controlPlaneRef or infrastructureRef names nothing never
    # provisions; CAPI only reports it in a condition.
    objs = render()
    rendered = {(o["apiVersion"].rpartition("/")[0], o["kind"], o["metadata"]["name"]) for o in objs}
    refs = [(o["kind"], *ref) for o in objs for ref in _references(o.get("spec", {}), "spec")]
    paths = {(kind, path) for kind, path, *_ in refs}
    assert {
        ("Cluster", "spec.controlPlaneRef"),
        ("Cluster", "spec.infrastructureRef"),
        ("KubeadmControlPlane", "spec.machineTemplate.spec.infrastructureRef"),
        ("MachineDeployment", "spec.template.spec.bootstrap.configRef"),
        ("MachineDeployment", "spec.template.spec.infrastructureRef"),
    } <= paths
    dangling = [(kind, path, f"{group}/{ref_kind}/{name}") for kind, path, group, ref_kind, name in refs if (group, ref_kind, name) not in rendered]
    assert not dangling


def test_the_api_server_reaches_kubelets_on_their_private_address_first():
    # Hetzner nodes have a private InternalIP and a public ExternalIP; logs, exec
    # and port-forward go from the API server to the kubelet, so over the private
    # network first. Values are NodeAddressType names as kubernetes spells them
    # (k8s.io/api core/v1 types.go: Hostname, InternalIP, ExternalIP, InternalDNS, ExternalDNS).
    kcp = of_kind(render(), "KubeadmControlPlane")[0]
    api_server = kcp["spec"]["kubeadmConfigSpec"]["clusterConfiguration"]["apiServer"]["extraArgs"]
    value = next(a["value"] for a in api_server if a["name"] == "kubelet-preferred-address-types")
    assert value.split(",") == ["InternalIP", "ExternalIP", "Hostname"]


def test_nodes_get_the_kernel_settings_and_containerd_unit_where_systemd_reads_them():
    # systemd reads /etc/modules-load.d/*.conf and /etc/sysctl.d/*.conf at boot
    # (modules-load.d(5), sysctl.d(5)) and units from /etc/systemd/system; cloud-init
    # chowns each file by name and fails on a user the image lacks
    # (canonical/cloud-init cloudinit/config/cc_write_files.py).
    for spec in _bootstrap_specs(render()):
        files = {f["path"]: f for f in spec["files"]}
        assert set(files) == {
            "/etc/modules-load.d/kubernetes.conf",
            "/etc/sysctl.d/90-kubernetes.conf",
            "/etc/systemd/system/containerd.service",
        }
        assert all(f["owner"] == "root:root" for f in files.values())
        assert files["/etc/modules-load.d/kubernetes.conf"]["content"].split() == ["overlay", "br_netfilter"]
        assert "net.ipv4.ip_forward = 1" in files["/etc/sysctl.d/90-kubernetes.conf"]["content"].splitlines()
        # The release tarball is unpacked into /usr/local, so the binary is /usr/local/bin/containerd.
        unit = files["/etc/systemd/system/containerd.service"]["content"].splitlines()
        assert "ExecStart=/usr/local/bin/containerd" in unit
        assert any(c.startswith("tar -xzf containerd-") and c.endswith(" -C /usr/local") for c in spec["preKubeadmCommands"])


def test_nodes_download_runc_and_containerd_from_their_releases_and_check_them():
    for spec in _bootstrap_specs(render()):
        commands = spec["preKubeadmCommands"]
        urls = [word for c in commands if c.startswith("curl ") for word in c.split() if word.startswith("http")]
        releases = [u for u in urls if "/releases/download/" in u]
        assert {u.split("/releases/")[0] for u in releases} == {
            "https://github.com/opencontainers/runc",
            "https://github.com/containerd/containerd",
        }
        # Every binary fetched is checked against the sum published beside it.
        sums = [u.rsplit("/", 1)[1] for u in releases if "sha256sum" in u]
        assert len(sums) == 2 and all(any(c.startswith("sha256sum --check") and s in c for c in commands) for s in sums)
        # kubelet, kubeadm and kubectl from the Kubernetes minor's own package repository.
        assert [u for u in urls if "pkgs.k8s.io" in u] == ["https://pkgs.k8s.io/core:/stable:/v1.34/deb/Release.key"]


def test_an_unhealthy_server_is_rebooted_once_before_capi_replaces_it():
    # CAPH's HCloudRemediation strategy (CRD infrastructure.cluster.x-k8s.io_hcloudremediations.yaml):
    # type "Reboot" (the only one it supports), retryLimit reboots, `timeout` between
    # them as a Go duration; after that CAPI deletes the machine and creates another.
    for template in of_kind(render(), "HCloudRemediationTemplate"):
        strategy = template["spec"]["template"]["spec"]["strategy"]
        assert strategy["type"] == "Reboot"
        assert strategy["retryLimit"] == 1
        assert go_duration(strategy["timeout"]) == timedelta(minutes=3)


def _shell_words(commands):
    return [shlex.split(c) for c in commands]


def test_nodes_are_prepared_as_kubeadm_requires_before_it_runs():
    # kubernetes/website content/en/docs/setup/production-environment/tools/kubeadm/install-kubeadm.md
    # and .../container-runtimes.md: swap off (also after a reboot), overlay and br_netfilter
    # loaded, sysctls applied, a runtime with the systemd cgroup driver, kubelet/kubeadm/kubectl
    # at the cluster's version and held there.
    for spec in _bootstrap_specs(render()):
        commands = spec["preKubeadmCommands"]
        words = _shell_words(commands)
        assert words[0] == ["set", "-eux"], "a failing step must stop the node from joining half-installed"
        steps = [
            ["swapoff", "-a"],
            ["sed", "-i", r"/\sswap\s/d", "/etc/fstab"],
            ["modprobe", "overlay"],
            ["modprobe", "br_netfilter"],
            ["sysctl", "--system"],
            ["install", "-m", "0755", "runc.$ARCH", "/usr/local/sbin/runc"],
            ["mkdir", "-p", "/etc/containerd"],
            ["sed", "-i", "s/SystemdCgroup = false/SystemdCgroup = true/", "/etc/containerd/config.toml"],
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "--now", "containerd"],
            ["apt-get", "install", "-y", "kubelet=1.34.11-*", "kubeadm=1.34.11-*", "kubectl=1.34.11-*"],
            ["apt-mark", "hold", "kubelet", "kubeadm", "kubectl"],
            ["systemctl", "enable", "kubelet"],
        ]
        positions = [words.index(step) for step in steps]  # ValueError names a missing step
        assert positions == sorted(positions)
        assert "containerd config default > /etc/containerd/config.toml" in commands
        assert words.index(["mkdir", "-p", "/etc/containerd"]) < commands.index("containerd config default > /etc/containerd/config.toml")
        # `$ARCH` is set before it is used, from the package architecture (amd64, arm64).
        assert commands[1] == 'ARCH="$(dpkg --print-architecture)"'
        # Every download is from a cleared working directory, fails on HTTP errors and retries.
        fetches = [w for w in words if w[0] == "curl"]
        assert words.index(["cd", "/tmp"]) < min(words.index(w) for w in fetches if "-O" in w)
        assert all({"-fsSL", "--retry"} <= set(w) for w in fetches)
        # The Kubernetes packages are verified against the repository's key.
        assert any("gpg --dearmor --yes -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg" in c for c in commands)
        assert any(c.startswith("echo 'deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg]") for c in commands)
        assert ["mkdir", "-p", "-m", "0755", "/etc/apt/keyrings"] in words
        assert words.count(["apt-get", "update", "-y"]) == 2  # before the base packages and after adding the repository


def test_yaml_is_written_for_people_to_review():
    # Embedded files as literal blocks, nested maps as blocks, text as typed,
    # keys in the order the renderers build them (kind and metadata first).
    from clusterctl_py.render.yaml import dump

    assert dump({"kind": "Secret", "content": "line one\nline two\n"}) == "kind: Secret\ncontent: |\n  line one\n  line two\n"
    assert dump({"metadata": {"name": "x", "labels": {"b": "1", "a": "2"}}}) == "metadata:\n  name: x\n  labels:\n    b: '1'\n    a: '2'\n"
    assert dump({"description": "Grüße aus Nürnberg"}) == "description: Grüße aus Nürnberg\n"
