"""Every validation rule of the platform spec, as a user meets it: one line naming the field."""

from __future__ import annotations

import pytest
import yaml

from clusterctl_py import spec as spec_mod
from clusterctl_py.errors import SpecError
from tests.conftest import BASE, EXAMPLE, platform_data


def problems(data=None, text: str | None = None) -> list[str]:
    with pytest.raises(SpecError) as info:
        if text is not None:
            spec_mod.loads(text)
        else:
            spec_mod.parse(data)
    return [str(p) for p in info.value.problems]


def cluster(data, **changes):
    data["clusters"][0].update(changes)
    return data


def pool(data, index=0, **changes):
    data["clusters"][0]["pools"][index].update(changes)
    return data


def only(lines: list[str], path: str) -> str:
    assert len(lines) == 1, lines
    assert lines[0].startswith(path + ": "), lines[0]
    return lines[0]


def test_conftest_base_is_the_example_file():
    # The builders the tests use describe the platform users copy.
    assert yaml.safe_load(EXAMPLE.read_text()) == BASE


def test_valid_example_parses_with_defaults(example_spec):
    prod = example_spec.cluster("prod")
    assert prod.ns == "prod"
    assert example_spec.location_of(prod) == "nbg1"
    assert example_spec.hetzner.network_zone == "eu-central"
    assert prod.pools[0].placement == "spread"
    assert [p.name for p in prod.pools] == ["general", "arm"]


def test_network_zone_defaults_to_the_locations_zone():
    parsed = spec_mod.parse(platform_data(hetzner={"location": "ash", "sshKeys": ["ops"]}, clusters=[]))
    assert parsed.hetzner.network_zone == "us-east"


# --- server types and locations ---------------------------------------------


@pytest.mark.parametrize(
    "server_type, expect",
    [
        ("cx99", "unknown Hetzner server type 'cx99'"),
        ("cpx31", "deprecated by Hetzner; use 'cpx32'"),
        ("cx22", "use 'cx23'"),
        ("cpx51", "use 'cpx62'"),
    ],
)
def test_bad_pool_server_type(data, server_type, expect):
    line = only(problems(pool(data, serverType=server_type)), "clusters[0].pools[0].serverType")
    assert expect in line
    assert "allowed: cx23" in line
    # The list of choices offers no deprecated type.
    assert "cpx31" not in line.split("allowed:")[1]


def test_control_plane_server_type_checked(data):
    data["clusters"][0]["controlPlane"]["serverType"] = "cpx21"
    assert "use 'cpx22'" in only(problems(data), "clusters[0].controlPlane.serverType")


def test_server_type_not_sold_in_location(data):
    # Arm servers are sold in the EU only.
    line = only(problems(cluster(data, location="ash", pools=[data["clusters"][0]["pools"][1]])), "clusters[0].pools[0].serverType")
    assert "'cax21' is not offered in ash" in line and "cpx32" in line
    assert "cax11" not in line.split("offered in ash:")[1]


def test_server_type_location_falls_back_to_hetzner_location(data):
    # No cluster location: the default location decides what is on sale.
    del data["clusters"][0]["location"]
    data["hetzner"] = {"location": "hil", "sshKeys": ["ops"]}
    only(problems(data), "clusters[0].pools[1].serverType")


def test_unknown_locations(data):
    assert "allowed: fsn1" in only(problems(cluster(data, location="nbg2")), "clusters[0].location")
    bad = platform_data(hetzner={"location": "xx1", "sshKeys": ["ops"]})
    assert "'xx1'" in only(problems(bad), "hetzner.location")
    assert "'fra1'" in only(problems(platform_data(management={"location": "fra1"})), "management.location")


def test_network_zone_must_contain_location():
    line = only(
        problems(platform_data(hetzner={"location": "ash", "sshKeys": ["ops"], "networkZone": "eu-central"})),
        "hetzner.networkZone",
    )
    assert "networkZone 'eu-central'" in line and "us-east" in line
    only(problems(platform_data(hetzner={"sshKeys": ["ops"], "networkZone": "mars"})), "hetzner.networkZone")


# --- sizes ----------------------------------------------------------------------


@pytest.mark.parametrize("replicas", [0, 2, 4, 7])
def test_control_plane_replicas_must_be_odd(data, replicas):
    data["clusters"][0]["controlPlane"]["replicas"] = replicas
    line = only(problems(data), "clusters[0].controlPlane.replicas")
    assert "1, 3 or 5" in line and str(replicas) in line


@pytest.mark.parametrize("replicas", [1, 3, 5])
def test_odd_control_plane_sizes_are_accepted(data, replicas):
    data["clusters"][0]["controlPlane"]["replicas"] = replicas
    assert spec_mod.parse(data).clusters[0].control_plane.replicas == replicas


def test_min_above_max(data):
    assert "max (2) must be >= min (3)" in only(problems(pool(data, min=3, max=2)), "clusters[0].pools[0].max")


def test_min_equal_max_is_a_fixed_pool(data):
    assert spec_mod.parse(pool(data, min=4, max=4)).clusters[0].pools[0].max == 4


@pytest.mark.parametrize("field, value", [("min", -1), ("max", 0)])
def test_pool_bounds(data, field, value):
    only(problems(pool(data, **{field: value})), f"clusters[0].pools[0].{field}")


def _one_pool(data, max_, placement="spread", replicas=3):
    data["clusters"][0]["controlPlane"]["replicas"] = replicas
    data["clusters"][0]["pools"] = [{"name": "p", "serverType": "cpx22", "max": max_, "placement": placement}]
    return data


def test_network_capacity_counts_rollout_surge(data):
    pool(data, 0, max=60)
    pool(data, 1, max=40)
    line = only(problems(data), "clusters[0].pools")
    # 3 control plane + 100 in pools + one surge per MachineDeployment (7 + 5 groups of at most 9) and for the control plane.
    assert "needs 116 servers" in line and "holds at most 100" in line


def test_network_capacity_boundary(data):
    # placement none: one MachineDeployment; 3 + 95 + 2 surging = 100 fits, one more does not.
    spec_mod.parse(_one_pool(data, 95, "none"))
    assert "needs 101 servers" in only(problems(_one_pool(data, 96, "none")), "clusters[0].pools")


def test_network_capacity_counts_each_spread_group(data):
    # 90 servers fit without groups (1 + 90 + 2), but as 10 spread groups of 9 each may surge: 1 + 90 + 11.
    spec_mod.parse(_one_pool(data, 90, "none", replicas=1))
    assert "needs 102 servers" in only(problems(_one_pool(data, 90, replicas=1)), "clusters[0].pools")


def test_network_capacity_is_per_cluster(data):
    # Each cluster has its own private network.
    second = dict(data["clusters"][0], name="staging", pools=[{"name": "p", "serverType": "cpx22", "max": 80, "placement": "none"}])
    data["clusters"][0]["pools"] = [{"name": "p", "serverType": "cpx22", "max": 80, "placement": "none"}]
    data["clusters"].append(second)
    spec_mod.parse(data)


# --- names ------------------------------------------------------------------------


def test_duplicate_cluster_names(data):
    data["clusters"] += [dict(data["clusters"][0]), dict(data["clusters"][0])]
    assert problems(data) == [
        "clusters[1].name: duplicate cluster 'prod' (also clusters[0])",
        "clusters[2].name: duplicate cluster 'prod' (also clusters[0])",
    ]


def test_duplicate_namespaces(data):
    data["clusters"].append(dict(data["clusters"][0], name="staging", namespace="prod"))
    assert "duplicate namespace 'prod'" in only(problems(data), "clusters[1].namespace")


def test_duplicate_pool_names(data):
    pool(data, 1, name="general")
    assert "duplicate pool name 'general'" in only(problems(data), "clusters[0].pools[1].name")


@pytest.mark.parametrize("name", ["Prod", "-prod", "prod-", "pr_od", "pr.od", "a" * 25, ""])
def test_cluster_names_are_dns_labels(data, name):
    assert "DNS-1123" in only(problems(cluster(data, name=name)), "clusters[0].name")


def test_longest_names_are_accepted(data):
    cluster(data, name="a" * 24)
    pool(data, 0, name="b" * 20)
    spec_mod.parse(data)


@pytest.mark.parametrize("name", ["General", "-general", "b" * 21])
def test_pool_names_are_dns_labels(data, name):
    assert "DNS-1123" in only(problems(pool(data, name=name)), "clusters[0].pools[0].name")


def test_reserved_pool_name(data):
    assert "reserved" in only(problems(pool(data, name="control-plane")), "clusters[0].pools[0].name")


def test_namespace_must_be_a_dns_label(data):
    only(problems(cluster(data, namespace="Team_A")), "clusters[0].namespace")


# --- Kubernetes versions ----------------------------------------------------------


@pytest.mark.parametrize("version", ["v1.31.9", "v1.37.0", "v2.33.0", "1.30.0"])
def test_unsupported_kubernetes_versions(data, version):
    line = only(problems(cluster(data, kubernetesVersion=version)), "clusters[0].kubernetesVersion")
    assert version in line and "v1.32 to v1.36" in line


@pytest.mark.parametrize("version", ["latest", "v1.33", "v1.33.4-rc.1", "v1.33.x", "1.33.4.1"])
def test_garbage_kubernetes_versions(data, version):
    line = only(problems(cluster(data, kubernetesVersion=version)), "clusters[0].kubernetesVersion")
    assert f"'{version}' is not a Kubernetes version" in line


def test_kubernetes_version_must_be_a_string(data):
    # YAML reads `1.33` as a number.
    only(problems(cluster(data, kubernetesVersion=1.33)), "clusters[0].kubernetesVersion")


@pytest.mark.parametrize("version", ["v1.32.0", "v1.34.2", "1.36.1"])
def test_supported_kubernetes_versions_are_normalised(data, version):
    parsed = spec_mod.parse(cluster(data, kubernetesVersion=version))
    assert parsed.clusters[0].kubernetes_version == "v" + version.lstrip("v")


# --- unknown keys -------------------------------------------------------------------


@pytest.mark.parametrize(
    "where, key, path",
    [
        (lambda d: d, "cluster", "cluster"),
        (lambda d: d["hetzner"], "sshKey", "hetzner.sshKey"),
        (lambda d: d["management"], "serverTyp", "management.serverTyp"),
        (lambda d: d["clusters"][0], "kubernetesVersoin", "clusters[0].kubernetesVersoin"),
        (lambda d: d["clusters"][0]["controlPlane"], "serverTyp", "clusters[0].controlPlane.serverTyp"),
        (lambda d: d["clusters"][0]["pools"][0], "maxx", "clusters[0].pools[0].maxx"),
        (lambda d: d["clusters"][0]["pools"][1]["taints"][0], "efect", "clusters[0].pools[1].taints[0].efect"),
    ],
)
def test_unknown_keys_are_errors_at_every_level(data, where, key, path):
    where(data)[key] = 1
    line = only(problems(data), path)
    assert "unknown key (did you mean '" in line
    assert "allowed keys:" in line


def test_typo_gets_the_right_suggestion(data):
    data["clusters"][0]["controlPlane"]["serverTyp"] = "cpx22"
    assert "did you mean 'serverType'?" in problems(data)[0]


def test_documented_key_spellings_are_accepted():
    # camelCase as in the README, including the digit in k3sVersion.
    parsed = spec_mod.parse(platform_data(management={"k3sVersion": "v1.34.1+k3s1", "apiPort": 16443}))
    assert parsed.management.k3s_version == "v1.34.1+k3s1"
    assert parsed.management.api_port == 16443


def test_several_problems_are_all_reported(data):
    cluster(data, name="Prod", kubernetesVersion="v1.20.0")
    pool(data, min=5, max=1)
    lines = problems(data)
    assert len(lines) == 3
    assert {line.split(":")[0] for line in lines} == {
        "clusters[0].name",
        "clusters[0].kubernetesVersion",
        "clusters[0].pools[0].max",
    }


def test_catalog_problems_in_several_places_are_all_reported(data):
    data["clusters"][0]["controlPlane"]["serverType"] = "cx22"
    pool(data, 0, serverType="nope")
    pool(data, 1, name="general")
    assert sorted(line.split(": ")[0] for line in problems(data)) == [
        "clusters[0].controlPlane.serverType",
        "clusters[0].pools[0].serverType",
        "clusters[0].pools[1].name",
    ]


# --- YAML -----------------------------------------------------------------------------


def test_malformed_yaml():
    lines = problems(text="hetzner: {sshKeys: [ops]\nclusters: [")
    assert len(lines) == 1 and lines[0].startswith("malformed YAML: line 2, column 1:"), lines


def test_duplicate_yaml_keys_are_refused():
    lines = problems(text="hetzner: {sshKeys: [a]}\nhetzner: {sshKeys: [b]}\n")
    assert lines == ["malformed YAML: line 2, column 1: duplicate key 'hetzner'"]


def test_duplicate_nested_yaml_keys_are_refused():
    text = "hetzner: {sshKeys: [a]}\nclusters:\n  - name: a\n    name: b\n"
    assert problems(text=text) == ["malformed YAML: line 4, column 5: duplicate key 'name'"]


def test_yaml_anchors_and_merge_keys_still_work():
    text = (
        "hetzner: {sshKeys: [a]}\n"
        "clusters:\n"
        "  - &base {name: one, kubernetesVersion: v1.33.4, pools: [{name: w, serverType: cpx22, max: 2}]}\n"
        "  - <<: *base\n"
        "    name: two\n"
    )
    assert [c.name for c in spec_mod.loads(text).clusters] == ["one", "two"]


@pytest.mark.parametrize("text, kind", [("- a\n- b\n", "list"), ("just a string", "str"), ("42", "int")])
def test_top_level_must_be_a_mapping(text, kind):
    assert problems(text=text) == [f"expected a mapping at the top level, got {kind}"]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_file_names_what_is_missing(text):
    assert problems(text=text) == ["hetzner: required but missing"]


def test_missing_required_keys(data):
    del data["hetzner"]["sshKeys"]
    del data["clusters"][0]["pools"][0]["max"]
    assert sorted(problems(data)) == [
        "clusters[0].pools[0].max: required but missing",
        "hetzner.sshKeys: required but missing",
    ]


def test_a_cluster_needs_a_pool(data):
    only(problems(cluster(data, pools=[])), "clusters[0].pools")


def test_source_file_prefixes_every_line(tmp_path):
    path = tmp_path / "platform.yaml"
    path.write_text(EXAMPLE.read_text().replace("replicas: 3", "replicas: 2").replace("v1.33.4", "v1.99.0"))
    with pytest.raises(SpecError) as info:
        spec_mod.load(path)
    lines = info.value.render().splitlines()
    assert len(lines) == 2 and all(line.startswith(f"{path}: clusters[0].") for line in lines)


# --- labels, taints, networks, keys -------------------------------------------------------


@pytest.mark.parametrize(
    "labels, path",
    [
        ({"tier": "has space"}, "labels.tier"),
        ({"tier": "x" * 64}, "labels.tier"),
        ({"tier": True}, "labels.tier"),
        ({"bad key!": "x"}, "labels.bad key!"),
        ({"Example.com/x": "y"}, "labels.Example.com/x"),
        ({"kubernetes.io/role": "x"}, "labels"),
        ({"node-restriction.kubernetes.io/x": "y"}, "labels"),
        ({"k8s.io/x": "y"}, "labels"),
    ],
)
def test_bad_labels(data, labels, path):
    line = only(problems(pool(data, labels=labels)), f"clusters[0].pools[0].{path}")
    assert "label" in line


def test_labels_the_nodes_can_carry(data):
    # node-role labels reach nodes through CAPI; *.x-k8s.io is not a kubelet-reserved namespace.
    labels = {"node-role.kubernetes.io/worker": "", "example.x-k8s.io/team": "a", "example.com/team": "b"}
    assert spec_mod.parse(pool(data, labels=labels)).clusters[0].pools[0].labels == labels


@pytest.mark.parametrize("taint, path", [
    ({"key": "batch", "value": "true", "effect": "NoScheduel"}, "effect"),
    ({"key": "batch", "effect": "noschedule"}, "effect"),
    ({"key": "bad key", "effect": "NoSchedule"}, "key"),
    ({"value": "x", "effect": "NoSchedule"}, "key"),
])
def test_bad_taints(data, taint, path):
    pool(data, 1, taints=[taint])
    line = only(problems(data), f"clusters[0].pools[1].taints[0].{path}")
    if path == "effect":
        assert "NoSchedule" in line and repr(taint["effect"]) in line


@pytest.mark.parametrize(
    "field, value", [("podCidr", "10.244.0.0/33"), ("serviceCidr", "not-a-cidr"), ("podCidr", "10.244.0.1/16")]
)
def test_bad_cluster_cidrs(data, field, value):
    assert repr(value) in only(problems(cluster(data, **{field: value})), f"clusters[0].{field}")


@pytest.mark.parametrize(
    "hetzner, path",
    [
        ({"networkCidr": "8.8.0.0/16"}, "hetzner.networkCidr"),
        ({"networkCidr": "10.0.0.0/33"}, "hetzner.networkCidr"),
        ({"subnetCidr": "10.1.0.0/24"}, "hetzner.subnetCidr"),
    ],
)
def test_bad_hetzner_networks(hetzner, path):
    only(problems(platform_data(hetzner={"sshKeys": ["a"], **hetzner})), path)


@pytest.mark.parametrize("keys", [[], [""], ["a", "a"]])
def test_ssh_keys_must_name_keys(keys):
    only(problems(platform_data(hetzner={"sshKeys": keys})), "hetzner.sshKeys")


def test_management_checks():
    bad = platform_data(management={"serverType": "cx22", "servers": 3})
    assert "use 'cx23'" in only(problems(bad), "management.serverType")
    only(problems(platform_data(management={"servers": 2})), "management.servers")
    only(problems(platform_data(management={"k3sVersion": "v1.28.1+k3s1"})), "management.k3sVersion")
    only(problems(platform_data(management={"k3sVersion": "v1.33.4"})), "management.k3sVersion")
    only(problems(platform_data(management={"apiAllowedCidrs": ["1.2.3.4/40"]})), "management.apiAllowedCidrs[0]")
    only(problems(platform_data(management={"apiPort": 70000})), "management.apiPort")


def test_unknown_cluster_lookup(example_spec):
    with pytest.raises(SpecError) as info:
        example_spec.cluster("nope")
    assert str(info.value) == "clusters: no cluster named 'nope'; defined: prod"


def test_file_errors(tmp_path):
    with pytest.raises(SpecError, match="file not found"):
        spec_mod.load(tmp_path / "missing.yaml")
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SpecError, match="cannot read"):
        spec_mod.load(tmp_path / "bin.yaml")
