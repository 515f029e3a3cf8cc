"""Rendering rules a cluster operator relies on: rollouts exactly when needed, autoscaler-friendly pools."""

from __future__ import annotations

import subprocess
import sys

import pytest

from clusterctl_py import spec as spec_mod
from clusterctl_py.render import dump_all, render_cluster
from clusterctl_py.render.autoscaler import CAPACITY, MAX_SIZE, MIN_SIZE
from tests.conftest import platform_data


def render(data=None, name="prod"):
    spec = spec_mod.parse(data or platform_data())
    return render_cluster(spec, spec.cluster(name))


def by_key(objs):
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


def of_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def names(objs, kind):
    return sorted(o["metadata"]["name"] for o in of_kind(objs, kind))


def with_pool(data, index, **changes):
    data["clusters"][0]["pools"][index].update(changes)
    return data


def test_same_spec_renders_byte_identical_yaml():
    assert dump_all(render()) == dump_all(render())


def test_output_is_identical_across_processes(tmp_path):
    # Hash randomisation or dict ordering must not leak into names or output.
    script = (
        "from clusterctl_py import spec; from clusterctl_py.render import render_cluster, dump_all;"
        "s = spec.load('examples/platform.yaml'); print(dump_all(render_cluster(s, s.cluster('prod'))))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": seed}
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outs) == 1


def test_changing_one_pool_server_type_changes_only_that_pool_template():
    before = by_key(render())
    after = by_key(render(with_pool(platform_data(), 0, serverType="cpx42")))
    gone, new = set(before) - set(after), set(after) - set(before)
    assert [k for k in gone] == [k for k in gone if k[0] == "HCloudMachineTemplate" and k[1].startswith("prod-general-")]
    assert len(gone) == len(new) == 1
    (new_key,) = new
    assert after[new_key]["spec"]["template"]["spec"]["type"] == "cpx42"
    changed = {k for k in set(before) & set(after) if before[k] != after[k]}
    # Only the general MachineDeployment (new infrastructureRef and capacity annotations) follows.
    assert changed == {("MachineDeployment", "prod-general")}
    md = after[("MachineDeployment", "prod-general")]
    assert md["spec"]["template"]["spec"]["infrastructureRef"]["name"] == new_key[1]
    assert md["metadata"]["annotations"][CAPACITY + "cpu"] == "8"


def test_changing_kubernetes_version_rolls_control_plane_and_every_pool():
    data = platform_data()
    data["clusters"][0]["kubernetesVersion"] = "v1.34.1"
    before, after = render(), render(data)
    assert of_kind(after, "KubeadmControlPlane")[0]["spec"]["version"] == "v1.34.1"
    for md in of_kind(after, "MachineDeployment"):
        assert md["spec"]["template"]["spec"]["version"] == "v1.34.1"
    # Every bootstrap template is new, so every pool rolls ...
    assert not set(names(before, "KubeadmConfigTemplate")) & set(names(after, "KubeadmConfigTemplate"))
    assert len(names(after, "KubeadmConfigTemplate")) == 2
    # ... and the machines install the new kubelet, not the old one.
    for commands in [o["spec"]["template"]["spec"]["preKubeadmCommands"] for o in of_kind(after, "KubeadmConfigTemplate")] + [
        of_kind(after, "KubeadmControlPlane")[0]["spec"]["kubeadmConfigSpec"]["preKubeadmCommands"]
    ]:
        text = "\n".join(commands)
        assert "kubelet=1.34.1-*" in text and "kubeadm=1.34.1-*" in text
        assert "pkgs.k8s.io/core:/stable:/v1.34/deb/" in text
        assert "1.33" not in text
    # Infrastructure templates do not depend on the version.
    assert names(before, "HCloudMachineTemplate") == names(after, "HCloudMachineTemplate")


def test_machine_deployments_leave_replicas_to_the_autoscaler():
    for md in of_kind(render(), "MachineDeployment"):
        assert "replicas" not in md["spec"]
        assert {MIN_SIZE, MAX_SIZE} <= set(md["metadata"]["annotations"])


def test_scale_from_zero_capacity_comes_from_the_catalog():
    mds = by_key(render())
    general = mds[("MachineDeployment", "prod-general")]["metadata"]["annotations"]
    arm = mds[("MachineDeployment", "prod-arm")]["metadata"]["annotations"]
    assert (general[CAPACITY + "cpu"], general[CAPACITY + "memory"], general[CAPACITY + "ephemeral-disk"]) == ("4", "8G", "160G")
    assert "kubernetes.io/arch=amd64" in general[CAPACITY + "labels"].split(",")
    arm_labels = arm[CAPACITY + "labels"].split(",")
    assert "kubernetes.io/arch=arm64" in arm_labels and "tier=batch" in arm_labels
    assert arm[CAPACITY + "taints"] == "batch=true:NoSchedule"
    assert CAPACITY + "taints" not in general
    assert (arm[MIN_SIZE], arm[MAX_SIZE]) == ("0", "10")


def test_pool_labels_and_taints_reach_the_kubelet():
    kct = next(o for o in of_kind(render(), "KubeadmConfigTemplate") if o["metadata"]["name"].startswith("prod-arm-"))
    reg = kct["spec"]["template"]["spec"]["joinConfiguration"]["nodeRegistration"]
    assert {"name": "node-labels", "value": "tier=batch"} in reg["kubeletExtraArgs"]
    assert {"name": "cloud-provider", "value": "external"} in reg["kubeletExtraArgs"]
    assert reg["taints"] == [{"key": "batch", "value": "true", "effect": "NoSchedule"}]


def _groups(objs):
    hc = of_kind(objs, "HetznerCluster")[0]
    declared = {g["name"] for g in hc["spec"].get("hcloudPlacementGroups", [])}
    templates = {t["metadata"]["name"]: t["spec"]["template"]["spec"] for t in of_kind(objs, "HCloudMachineTemplate")}
    per_group: dict[str | None, int] = {}
    for md in of_kind(objs, "MachineDeployment"):
        tmpl = templates[md["spec"]["template"]["spec"]["infrastructureRef"]["name"]]
        group = tmpl.get("placementGroupName")
        per_group[group] = per_group.get(group, 0) + int(md["metadata"]["annotations"][MAX_SIZE])
    return declared, per_group


def test_large_pool_is_spread_over_several_groups():
    objs = render()
    declared, per_group = _groups(objs)
    assert per_group == {"general": 10, "arm": 10, "arm-2": 10}
    assert set(per_group) <= declared and "control-plane" in declared
    arm = [md for md in of_kind(objs, "MachineDeployment") if md["metadata"]["name"].startswith("prod-arm")]
    assert sum(int(m["metadata"]["annotations"][MIN_SIZE]) for m in arm) == 0
    assert sum(int(m["metadata"]["annotations"][MAX_SIZE]) for m in arm) == 20


@pytest.mark.parametrize("pool_min, pool_max", [(0, 1), (1, 10), (3, 11), (7, 23), (2, 39), (30, 84)])
def test_no_spread_group_ever_exceeds_ten_servers(pool_min, pool_max):
    data = platform_data()
    data["clusters"][0]["pools"] = [{"name": "p", "serverType": "cpx22", "min": pool_min, "max": pool_max}]
    objs = render(data)
    declared, per_group = _groups(objs)
    assert all(n <= 10 for n in per_group.values())
    assert sum(per_group.values()) == pool_max
    assert set(per_group) <= declared
    mins = [int(md["metadata"]["annotations"][MIN_SIZE]) for md in of_kind(objs, "MachineDeployment")]
    maxs = [int(md["metadata"]["annotations"][MAX_SIZE]) for md in of_kind(objs, "MachineDeployment")]
    assert sum(mins) == pool_min and all(lo <= hi for lo, hi in zip(mins, maxs))


def test_placement_none_uses_no_group():
    data = with_pool(platform_data(), 1, placement="none", max=40)
    declared, per_group = _groups(render(data))
    assert per_group == {"general": 10, None: 40}
    assert "arm" not in declared


def test_hetzner_cluster_has_what_caph_requires():
    hc = of_kind(render(), "HetznerCluster")[0]["spec"]
    assert hc["controlPlaneRegions"] == ["nbg1"]
    assert hc["hetznerSecretRef"] == {"name": "hcloud", "key": {"hcloudToken": "hcloud"}}
    assert hc["sshKeys"] == {"hcloud": [{"name": "ops"}]}
    assert hc["hcloudNetwork"]["enabled"] is True and hc["hcloudNetwork"]["networkZone"] == "eu-central"


def test_control_plane_runs_the_external_cloud_provider():
    kcp = of_kind(render(), "KubeadmControlPlane")[0]["spec"]
    assert kcp["replicas"] == 3
    spec = kcp["kubeadmConfigSpec"]
    ext = {"name": "cloud-provider", "value": "external"}
    assert ext in spec["initConfiguration"]["nodeRegistration"]["kubeletExtraArgs"]
    assert ext in spec["joinConfiguration"]["nodeRegistration"]["kubeletExtraArgs"]
    assert ext in spec["clusterConfiguration"]["controllerManager"]["extraArgs"]


def test_health_checks_cover_control_plane_and_every_pool():
    objs = render()
    remediations = set(names(objs, "HCloudRemediationTemplate"))
    mhcs = of_kind(objs, "MachineHealthCheck")
    selectors = [m["spec"]["selector"]["matchLabels"] for m in mhcs]
    assert {"cluster.x-k8s.io/control-plane": ""} in selectors
    assert {"node.cluster.x-k8s.io/pool": "general"} in selectors and {"node.cluster.x-k8s.io/pool": "arm"} in selectors
    for m in mhcs:
        assert m["spec"]["remediation"]["templateRef"]["name"] in remediations
    # The pool label the checks select on is on every pool machine.
    for md in of_kind(objs, "MachineDeployment"):
        assert "node.cluster.x-k8s.io/pool" in md["spec"]["template"]["metadata"]["labels"]


def test_every_object_is_labelled_and_namespaced():
    data = platform_data()
    data["clusters"][0]["namespace"] = "team-a"
    for obj in render(data):
        assert obj["metadata"]["labels"]["cluster.x-k8s.io/cluster-name"] == "prod"
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "team-a"


def test_references_point_at_rendered_objects():
    objs = by_key(render())
    cluster = objs[("Cluster", "prod")]["spec"]
    assert ("HetznerCluster", cluster["infrastructureRef"]["name"]) in objs
    assert ("KubeadmControlPlane", cluster["controlPlaneRef"]["name"]) in objs
    for md in [o for k, o in objs.items() if k[0] == "MachineDeployment"]:
        tmpl = md["spec"]["template"]["spec"]
        assert ("KubeadmConfigTemplate", tmpl["bootstrap"]["configRef"]["name"]) in objs
        assert ("HCloudMachineTemplate", tmpl["infrastructureRef"]["name"]) in objs


def test_yaml_is_the_same_with_or_without_libyaml(monkeypatch):
    # Machines without libyaml fall back to the pure-Python emitter; the bytes must not change.
    import yaml

    from clusterctl_py.render import yaml as render_yaml

    objs = render()
    fast = render_yaml.dump_all(objs)

    class Pure(yaml.SafeDumper):
        pass

    Pure.add_representer(str, render_yaml._str)
    monkeypatch.setattr(render_yaml, "_Dumper", Pure)
    assert render_yaml.dump_all(objs) == fast
    assert "|" in fast  # multi-line file contents stay literal blocks
