"""Every validation rule of the platform spec, as a user meets it: one line naming the field."""

from __future__ import annotations

import pytest
import yaml

from clusterctl_py import spec as spec_mod, versions
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


def test_example_says_its_api_cidr_is_a_placeholder():
    # `up` waits for the management API from the machine running it; a documentation range
    # copied as is makes it wait in vain.
    lines = EXAMPLE.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("apiAllowedCidrs:"))
    assert "203.0.113.0/24" in lines[at]
    comment = "\n".join(line for line in lines[at - 6 : at] if line.strip().startswith("#"))
    assert "PLACEHOLDER" in comment and "documentation range" in comment
    assert "curl -4 https://ifconfig.me" in comment and "/32" in comment


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
    line = only(problems(cluster(data, kubernetesVersion=1.33)), "clusters[0].kubernetesVersion")
    assert "must be a string (YAML reads it as a number or true/false: quote it) (got 1.33)" in line


@pytest.mark.parametrize("version", ["v1.32.0", "v1.34.2", "1.36.1"])
def test_supported_kubernetes_versions_are_normalised(data, version):
    del data["clusters"][0]["platform"]  # a bare cluster runs any supported version; the platform needs v1.34
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
    assert problems(text="hetzner: {sshKeys: [ops]\nclusters: [") == [
        "malformed YAML: line 2, column 1: while parsing a flow mapping, expected ',' or '}', but got '<scalar>'"
    ]


def test_a_second_yaml_document_is_refused():
    assert problems(text="hetzner: {sshKeys: [ops]}\n---\nclusters: []\n") == [
        "malformed YAML: line 2, column 1: expected a single document in the stream, but found another document"
    ]


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


def test_duplicate_keys_after_a_merge_key_are_refused():
    text = (
        "hetzner: {sshKeys: [a]}\n"
        "clusters:\n"
        "  - &base {name: one, kubernetesVersion: v1.33.4, pools: [{name: w, serverType: cpx22, max: 2}]}\n"
        "  - <<: *base\n"
        "    name: two\n"
        "    name: three\n"
    )
    assert problems(text=text) == ["malformed YAML: line 6, column 5: duplicate key 'name'"]


def test_numbers_of_30_digits_are_read_and_checked_as_numbers():
    found = problems(text="hetzner: {sshKeys: [ops]}\nmanagement: {apiPort: " + "9" * 30 + "}\n")
    assert found == [f"management.apiPort: must be less than or equal to 65535 (got {'9' * 30})"]
    found = problems(text="hetzner: {sshKeys: [ops]}\nmanagement: {apiPort: " + "9" * 31 + "}\n")
    assert found == ["malformed YAML: line 2, column 23: number of 31 characters"]


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
    path.write_text(EXAMPLE.read_text().replace("replicas: 3", "replicas: 2").replace("v1.34.11", "v1.99.0"))
    with pytest.raises(SpecError) as info:
        spec_mod.load(path)
    lines = info.value.render().splitlines()
    assert len(lines) == 2 and all(line.startswith(f"{path}: clusters[0].") for line in lines)


# --- labels, taints, networks, keys -------------------------------------------------------


@pytest.mark.parametrize(
    "labels, path, expect",
    [
        ({"tier": "has space"}, "labels.tier", "not a valid Kubernetes label value"),
        ({"tier": "x" * 64}, "labels.tier", "not a valid Kubernetes label value"),
        ({"tier": True}, "labels.tier", "must be a string"),
        ({"bad key!": "x"}, "labels.bad key!", "not a valid Kubernetes label key"),
        ({"Example.com/x": "y"}, "labels.Example.com/x", "not a valid Kubernetes label key"),
    ],
)
def test_bad_labels(data, labels, path, expect):
    assert expect in only(problems(pool(data, labels=labels)), f"clusters[0].pools[0].{path}")


KUBELET_REFUSES = "which the kubelet refuses in --node-labels; allowed there: node-role.kubernetes.io/*"


@pytest.mark.parametrize(
    "key, expect",
    [
        # kubernetes.io / k8s.io keys outside the kubelet's allowlist (well_known_labels.go).
        ("kubernetes.io/role", KUBELET_REFUSES),
        ("node-restriction.kubernetes.io/x", KUBELET_REFUSES),
        ("k8s.io/x", KUBELET_REFUSES),
        ("example.k8s.io/x", KUBELET_REFUSES),
        ("app.kubernetes.io/name", KUBELET_REFUSES),
        ("team.node-role.kubernetes.io/x", KUBELET_REFUSES),
        # Allowed by the kubelet, but it sets them from each machine and --node-labels overwrites them.
        ("kubernetes.io/hostname", "set by the kubelet from each machine"),
        ("kubernetes.io/arch", "set by the kubelet from each machine"),
        ("beta.kubernetes.io/os", "set by the kubelet from each machine"),
        # KubeadmControlPlane lists its nodes by this label.
        ("node-role.kubernetes.io/control-plane", "marks control-plane nodes"),
        # Cluster API's own label domain.
        ("node.cluster.x-k8s.io/pool", "in Cluster API's domain cluster.x-k8s.io"),
        ("cluster.x-k8s.io/cluster-name", "in Cluster API's domain cluster.x-k8s.io"),
        ("cluster.x-k8s.io/deployment-name", "in Cluster API's domain cluster.x-k8s.io"),
    ],
)
def test_node_labels_the_nodes_cannot_carry(data, key, expect):
    # The line names the label itself, not the whole map.
    line = only(problems(pool(data, labels={"tier": "batch", key: "x"})), f"clusters[0].pools[0].labels.{key}")
    assert f"label '{key}'" in line and expect in line


def test_labels_the_nodes_can_carry(data):
    # node-role labels reach nodes through CAPI's Machine-to-Node sync; *.x-k8s.io is not
    # a kubelet-reserved namespace; the rest is what the kubelet's IsKubeletLabel allows.
    labels = {
        "node-role.kubernetes.io/worker": "",
        "example.x-k8s.io/team": "a",
        "example.com/team": "b",
        "node.kubernetes.io/disk": "ssd",
        "gpu.node.kubernetes.io/model": "x",
        "kubelet.kubernetes.io/custom": "y",
        "topology.kubernetes.io/zone": "fsn1-dc14",
        "topology.kubernetes.io/region": "fsn1",
    }
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
    "hetzner, path, expect",
    [
        ({"networkCidr": "8.8.0.0/16"}, "hetzner.networkCidr", "'8.8.0.0/16' is not a private IPv4 range"),
        # Private in Python's sense, but not RFC 1918, which is all Hetzner accepts for a network.
        ({"networkCidr": "192.0.2.0/24", "subnetCidr": "192.0.2.0/24"}, "hetzner.networkCidr", "RFC 1918"),
        ({"networkCidr": "fd00::/64"}, "hetzner.networkCidr", "'fd00::/64' is an IPv6 range"),
        ({"networkCidr": "10.0.0.0/33"}, "hetzner.networkCidr", "'10.0.0.0/33' is not a CIDR block"),
        ({"subnetCidr": "10.1.0.0/24"}, "hetzner.subnetCidr", "subnetCidr 10.1.0.0/24 lies outside networkCidr 10.0.0.0/16"),
    ],
)
def test_bad_hetzner_networks(hetzner, path, expect):
    lines = problems(platform_data(hetzner={"sshKeys": ["a"], **hetzner}))
    assert any(line.startswith(path + ": ") and expect in line for line in lines), lines


@pytest.mark.parametrize(
    "keys, path, expect",
    [
        ([], "hetzner.sshKeys", "must have at least 1 item"),
        ("ops", "hetzner.sshKeys", "must be a list (got 'ops')"),
        (["ops", ""], "hetzner.sshKeys[1]", "'' is not an SSH key name"),
        (["ops", " ops"], "hetzner.sshKeys[1]", "no surrounding blanks"),
        (["a", "a"], "hetzner.sshKeys[1]", "duplicate SSH key 'a' (also sshKeys[0])"),
    ],
)
def test_ssh_keys_must_name_keys(keys, path, expect):
    assert expect in only(problems(platform_data(hetzner={"sshKeys": keys})), path)


def test_every_duplicate_ssh_key_is_named():
    assert problems(platform_data(hetzner={"sshKeys": ["a", "b", "a", "a"]})) == [
        "hetzner.sshKeys[2]: duplicate SSH key 'a' (also sshKeys[0])",
        "hetzner.sshKeys[3]: duplicate SSH key 'a' (also sshKeys[0])",
    ]


def test_k3s_version_range_is_checked():
    # The documented key reaches the k3s check (its alias was once generated as k3SVersion).
    line = only(problems(platform_data(management={"k3sVersion": "v1.29.0+k3s1"})), "management.k3sVersion")
    assert "k3s v1.29.0+k3s1 is outside the management-cluster range of Cluster API v1.13.5; allowed: v1.32 to v1.36" in line


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
    with pytest.raises(SpecError) as info:
        spec_mod.parse({"hetzner": {"sshKeys": ["ops"]}}).cluster("prod")
    assert str(info.value) == "clusters: no cluster named 'prod'; defined: none"
    data = platform_data()
    data["clusters"].append(dict(data["clusters"][0], name="staging"))
    with pytest.raises(SpecError) as info:
        spec_mod.parse(data).cluster("nope")
    assert str(info.value) == "clusters: no cluster named 'nope'; defined: prod, staging"


def test_file_errors(tmp_path):
    def render(path):
        with pytest.raises(SpecError) as info:
            spec_mod.load(path)
        return info.value.render()

    assert render(tmp_path / "missing.yaml") == f"file not found: {tmp_path / 'missing.yaml'}"
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    assert render(tmp_path / "bin.yaml") == (
        f"cannot read {tmp_path / 'bin.yaml'}: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
    )
    assert render(tmp_path) == f"cannot read {tmp_path}: [Errno 21] Is a directory: '{tmp_path}'"


def test_yaml_values_python_cannot_build_name_the_value():
    assert problems(text="hetzner: {sshKeys: [ops]}\nx: !!int abc\n") == [
        "malformed YAML: invalid literal for int() with base 10: 'abc'"
    ]


# --- cluster networks -------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value, expect",
    [
        # Cilium is configured IPv4-only (render/addons.py), so both ranges are private IPv4.
        ("podCidr", "fd00:10:244::/56", "'fd00:10:244::/56' is an IPv6 range"),
        ("serviceCidr", "fd00:10:96::/112", "'fd00:10:96::/112' is an IPv6 range"),
        ("podCidr", "100.64.0.0/16", "'100.64.0.0/16' is not a private IPv4 range"),
        ("serviceCidr", "8.8.0.0/16", "'8.8.0.0/16' is not a private IPv4 range"),
        ("podCidr", "192.0.2.0/24", "'192.0.2.0/24' is not a private IPv4 range"),
    ],
)
def test_cluster_ranges_are_private_ipv4(data, field, value, expect):
    line = only(problems(cluster(data, **{field: value})), f"clusters[0].{field}")
    assert expect in line and "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 (RFC 1918)" in line


def test_service_range_must_not_overlap_the_pod_range(data):
    line = only(problems(cluster(data, serviceCidr="10.244.128.0/20")), "clusters[0].serviceCidr")
    assert "serviceCidr 10.244.128.0/20 overlaps podCidr 10.244.0.0/16" in line


@pytest.mark.parametrize("field, value", [("podCidr", "10.0.0.0/16"), ("serviceCidr", "10.0.128.0/20"), ("podCidr", "10.0.0.0/8")])
def test_cluster_ranges_must_not_overlap_the_hetzner_network(data, field, value):
    line = only(problems(cluster(data, **{field: value})), f"clusters[0].{field}")
    assert f"{value} overlaps hetzner.networkCidr 10.0.0.0/16" in line


def test_cluster_ranges_are_checked_against_a_custom_hetzner_network(data):
    data["hetzner"].update(networkCidr="172.16.0.0/12", subnetCidr="172.16.0.0/24")
    spec_mod.parse(cluster(data, podCidr="10.0.0.0/16"))
    line = only(problems(cluster(data, podCidr="172.20.0.0/16")), "clusters[0].podCidr")
    assert "172.20.0.0/16 overlaps hetzner.networkCidr 172.16.0.0/12" in line


# --- namespaces ---------------------------------------------------------------------------

# What Kubernetes, cert-manager and the providers clusterctl-py installs (CAPI, its kubeadm
# bootstrap and control plane, CAPH, CAAPH) use in the management cluster.
SYSTEM_NAMESPACES = [
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "default",
    "cert-manager",
    "capi-system",
    "capi-kubeadm-bootstrap-system",
    "capi-kubeadm-control-plane-system",
    "caph-system",
    "caaph-system",
    "capi-anything",
    "caph-x",
    "caaph-x",
]


@pytest.mark.parametrize("ns", SYSTEM_NAMESPACES)
def test_system_namespaces_are_refused(data, ns):
    line = only(problems(cluster(data, namespace=ns)), "clusters[0].namespace")
    assert f"namespace '{ns}' is reserved" in line and "deletes it on destroy" in line


@pytest.mark.parametrize("name", ["default", "cert-manager", "kube-system", "caph-system"])
def test_a_cluster_named_like_a_system_namespace_is_refused(data, name):
    # The namespace defaults to the cluster name.
    line = only(problems(cluster(data, name=name)), "clusters[0].name")
    assert f"its namespace would be '{name}', which is reserved" in line and "set namespace" in line
    # With a namespace of its own, the name is fine.
    assert spec_mod.parse(cluster(data, name=name, namespace="team-a")).clusters[0].ns == "team-a"


def test_an_explicit_null_namespace_is_the_cluster_name(data):
    assert "its namespace would be 'default'" in only(problems(cluster(data, name="default", namespace=None)), "clusters[0].name")
    data = platform_data()
    data["clusters"].append(dict(data["clusters"][0], name="staging", namespace=None))
    spec_mod.parse(data)


def test_an_explicit_null_namespace_is_the_cluster_name_while_other_fields_are_broken(data):
    cluster(data, name="default", namespace=None, kubernetesVersion="latest")
    assert problems(data) == [
        "clusters[0].kubernetesVersion: 'latest' is not a Kubernetes version like v1.33.4",
        "clusters[0].name: cluster 'default' sets no namespace, so its namespace would be 'default', which is"
        " reserved (Kubernetes and what clusterctl-py installs in the management cluster use default,"
        " cert-manager, kube-*, capi-*, caph-*, caaph-*; the cluster stack owns its namespace and deletes it"
        " on destroy); rename the cluster or set namespace",
    ]


def test_every_namespace_clusterctl_installs_into_is_refused(data):
    from clusterctl_py.render.capi_components import PROVIDERS

    for ns in {p.namespace for p in PROVIDERS} | {"cert-manager"}:
        assert "is reserved" in only(problems(cluster(data, namespace=ns)), "clusters[0].namespace")


def test_third_and_later_duplicate_namespaces_and_pools_are_reported(data):
    prod = data["clusters"][0]
    data["clusters"] += [dict(prod, name="b", namespace="prod"), dict(prod, name="c", namespace="prod")]
    assert problems(data) == [
        "clusters[1].namespace: duplicate namespace 'prod' (also clusters[0])",
        "clusters[2].namespace: duplicate namespace 'prod' (also clusters[0])",
    ]
    data = platform_data()
    data["clusters"][0]["pools"] += [dict(data["clusters"][0]["pools"][0], max=1) for _ in range(2)]
    assert problems(data) == [
        "clusters[0].pools[2].name: duplicate pool name 'general' (also pools[0])",
        "clusters[0].pools[3].name: duplicate pool name 'general' (also pools[0])",
    ]


# --- node-group names ------------------------------------------------------------------------


def test_split_pool_names_must_not_collide_with_another_pool(data):
    from clusterctl_py.providers.hetzner import PROVIDER

    data["clusters"][0]["pools"] = [{"name": "web", "serverType": "cpx22", "max": 25}]
    parsed = spec_mod.parse(data).clusters[0]
    generated = [parsed.pools[0].name + g.suffix for g in PROVIDER.node_groups(parsed, parsed.pools[0])]
    # The split really produces the name the second pool takes.
    assert generated[0] == "web" and "web-2" in generated
    data["clusters"][0]["pools"].append({"name": "web-2", "serverType": "cpx22", "max": 2})
    line = only(problems(data), "clusters[0].pools[1].name")
    assert "pool 'web-2' renders node group 'web-2', which pool 'web' (pools[0]) also renders" in line
    assert f"with max 25 it is split into node groups {', '.join(generated)}" in line
    assert "two MachineDeployments would share that name" in line


def test_pools_that_do_not_split_may_use_suffix_like_names(data):
    data["clusters"][0]["pools"] = [
        {"name": "web", "serverType": "cpx22", "max": 25, "placement": "none"},
        {"name": "web-2", "serverType": "cpx22", "max": 2},
    ]
    spec_mod.parse(data)


# --- loose types -------------------------------------------------------------------------------

WHOLE_NUMBER = "must be a whole number (no quotes, no decimal point, not true/false)"


@pytest.mark.parametrize(
    "change, path, expect",
    [
        (lambda d: pool(d, max=True), "clusters[0].pools[0].max", f"{WHOLE_NUMBER} (got True)"),
        (lambda d: pool(d, max="10"), "clusters[0].pools[0].max", f"{WHOLE_NUMBER} (got '10')"),
        (lambda d: pool(d, min=1.0), "clusters[0].pools[0].min", f"{WHOLE_NUMBER} (got 1.0)"),
        (lambda d: pool(d, min=False), "clusters[0].pools[0].min", f"{WHOLE_NUMBER} (got False)"),
        (lambda d: cluster(d, controlPlane={"replicas": "3"}), "clusters[0].controlPlane.replicas", f"{WHOLE_NUMBER} (got '3')"),
        (lambda d: cluster(d, controlPlane={"replicas": True}), "clusters[0].controlPlane.replicas", f"{WHOLE_NUMBER} (got True)"),
        (lambda d: cluster(d, controlPlane={"replicas": 3.0}), "clusters[0].controlPlane.replicas", f"{WHOLE_NUMBER} (got 3.0)"),
        (lambda d: d["management"].update(servers="3") or d, "management.servers", f"{WHOLE_NUMBER} (got '3')"),
        (lambda d: d["management"].update(apiPort="6443") or d, "management.apiPort", f"{WHOLE_NUMBER} (got '6443')"),
        (lambda d: d["hetzner"].update(image="") or d, "hetzner.image", "'' is not a Hetzner image name"),
        (lambda d: d["hetzner"].update(image="ubuntu 24.04") or d, "hetzner.image", "'ubuntu 24.04' is not a Hetzner image name"),
        (lambda d: pool(d, serverType=""), "clusters[0].pools[0].serverType", "must have at least 1 character"),
        (lambda d: cluster(d, location=""), "clusters[0].location", "must have at least 1 character"),
        (lambda d: d["management"].update(apiAllowedCidrs="203.0.113.7/32") or d, "management.apiAllowedCidrs", "must be a list (got '203.0.113.7/32')"),
        (lambda d: pool(d, labels="tier=batch"), "clusters[0].pools[0].labels", "must be a mapping (got 'tier=batch')"),
        (lambda d: pool(d, taints={"key": "a", "effect": "NoSchedule"}), "clusters[0].pools[0].taints", "must be a list"),
        (lambda d: cluster(d, pools={"name": "a"}), "clusters[0].pools", "must be a list"),
        (lambda d: cluster(d, controlPlane=3), "clusters[0].controlPlane", "must be a mapping of keys (got 3)"),
    ],
)
def test_loose_types_are_refused(data, change, path, expect):
    assert expect in only(problems(change(data)), path)


def test_snake_case_keys_are_unknown(data):
    # Only the documented camelCase spelling is accepted.
    data["clusters"][0]["pools"][0]["server_type"] = data["clusters"][0]["pools"][0].pop("serverType")
    lines = problems(data)
    assert "clusters[0].pools[0].serverType: required but missing" in lines
    assert any(line.startswith("clusters[0].pools[0].server_type: unknown key (did you mean 'serverType'?)") for line in lines)


# --- limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [101, 10**9, 10**18])
def test_pool_max_is_bounded(data, value):
    line = only(problems(pool(data, max=value)), "clusters[0].pools[0].max")
    assert f"max {value} is above 100, more servers than one cluster's private network holds" in line


def test_huge_max_in_a_file_is_refused_at_once():
    text = EXAMPLE.read_text().replace("max: 20", "max: 1000000000")
    assert problems(text=text) == ["clusters[0].pools[1].max: max 1000000000 is above 100, more servers than one cluster's private network holds"]


def test_alias_bomb_is_refused():
    # "Billion laughs": ten levels of ten aliases each stand for 10**10 values.
    lines = ["hetzner: {sshKeys: [ops]}", "l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    lines += ["clusters: *l9"]
    found = problems(text="\n".join(lines) + "\n")
    assert len(found) == 1 and found[0].startswith("malformed YAML: line ")
    assert "more than 20000 values (an alias counts as all it repeats)" in found[0]


def test_recursive_alias_is_refused():
    assert problems(text="hetzner: &h {sshKeys: [*h]}\n") == [
        "malformed YAML: line 1, column 24: an alias refers to a node that contains it"
    ]


def test_deep_nesting_is_refused():
    assert problems(text="hetzner: " + "[" * 50 + "]" * 50 + "\n") == [
        "malformed YAML: line 1, column 41: nested deeper than 32 levels"
    ]


def test_numbers_too_long_to_read_are_refused():
    found = problems(text="hetzner: {sshKeys: [ops]}\nmanagement: {apiPort: " + "9" * 5000 + "}\n")
    assert found == ["malformed YAML: line 2, column 23: number of 5000 characters"]


def test_impossible_dates_are_malformed_yaml():
    assert problems(text="hetzner: {sshKeys: [ops]}\nx: 2024-13-45\n") == ["malformed YAML: month must be in 1..12"]


def test_control_characters_are_named_by_line_and_column():
    # PyYAML's reader finds them before parsing; its own message spans two lines and counts characters.
    assert problems(text="hetzner: {sshKeys: [ops]}\nx: a\x00b\n") == [
        "malformed YAML: line 2, column 5: unacceptable character #x0000: special characters are not allowed"
    ]
    assert problems(text="x: \x07") == [
        "malformed YAML: line 1, column 4: unacceptable character #x0007: special characters are not allowed"
    ]


def test_a_file_of_exactly_the_size_limit_is_read(tmp_path):
    path = tmp_path / "platform.yaml"
    text = EXAMPLE.read_text()
    path.write_text(text + "#" * (1024 * 1024 - len(text.encode()) - 1) + "\n")
    assert path.stat().st_size == 1024 * 1024
    assert spec_mod.load(path).clusters[0].name == "prod"


def test_large_files_are_refused_before_reading(tmp_path):
    path = tmp_path / "platform.yaml"
    path.write_text(EXAMPLE.read_text() + "#" * (1024 * 1024) + "\n")
    with pytest.raises(SpecError) as info:
        spec_mod.load(path)
    assert info.value.render() == f"{path}: larger than 1024 KiB; a platform spec is a few KiB, so this is not one"


def test_messages_show_a_bounded_part_of_huge_values(data):
    # A list shared 30 levels deep stands for 2**30 strings; printing it whole would never end.
    huge: list = ["x"]
    for _ in range(30):
        huge = [huge, huge]
    data["clusters"][0]["pools"][0]["taints"] = [{"key": "a", "effect": huge}]
    line = only(problems(data), "clusters[0].pools[0].taints[0].effect")
    assert line.endswith("(got [[[...], [...]], [[...], [...]]])") and len(line) < 200


# --- each rule's whole message -----------------------------------------------------------------
# One bad value each; the user sees exactly these lines (path: message), so every part of a
# message (the value, the limit, what is allowed) is checked, not a fragment of it.

_SERVER_TYPES = "cx23, cx33, cx43, cx53, cpx12, cpx22, cpx32, cpx42, cpx52, cpx62, cax11, cax21, cax31, cax41, ccx13, ccx23, ccx33, ccx43, ccx53, ccx63"
_SOLD_IN_ASH = "cpx12, cpx22, cpx32, cpx42, cpx52, cpx62, ccx13, ccx23, ccx33, ccx43, ccx53, ccx63"
_LOCATIONS = "fsn1, nbg1, hel1, ash, hil, sin"
_RFC1918 = "allowed: a range inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 (RFC 1918)"
_DNS = "lowercase letters, digits and '-', starting and ending with a letter or digit (DNS-1123 label)"
_KUBELET_ALLOWED = (
    "node-role.kubernetes.io/* (set through the Machine), [*.]kubelet.kubernetes.io/*, [*.]node.kubernetes.io/*,"
    " beta.kubernetes.io/instance-type, failure-domain.beta.kubernetes.io/region,"
    " failure-domain.beta.kubernetes.io/zone, topology.kubernetes.io/region, topology.kubernetes.io/zone"
)


def _c(d):
    return d["clusters"][0]


def _p(d, i=0):
    return d["clusters"][0]["pools"][i]


MESSAGES = {
    "cluster name": (
        lambda d: _c(d).update(name="Prod"),
        f"clusters[0].name: 'Prod' is not a valid name: use 1-24 {_DNS}",
    ),
    "pool name": (
        lambda d: _p(d).update(name="General"),
        f"clusters[0].pools[0].name: 'General' is not a valid name: use 1-20 {_DNS}",
    ),
    "namespace": (
        lambda d: _c(d).update(namespace="Team_A"),
        f"clusters[0].namespace: 'Team_A' is not a valid name: use 1-63 {_DNS}",
    ),
    "label key": (
        lambda d: _p(d).update(labels={"bad key": "x"}),
        "clusters[0].pools[0].labels.bad key: 'bad key' is not a valid Kubernetes label key ([prefix/]name, name <= 63 chars)",
    ),
    "label key prefix": (
        lambda d: _p(d).update(labels={"Bad_/x": "x"}),
        "clusters[0].pools[0].labels.Bad_/x: 'Bad_/x' is not a valid Kubernetes label key ([prefix/]name, name <= 63 chars)",
    ),
    "Cluster API label": (
        lambda d: _p(d).update(labels={"node.cluster.x-k8s.io/pool": "x"}),
        "clusters[0].pools[0].labels.node.cluster.x-k8s.io/pool: label 'node.cluster.x-k8s.io/pool' is in Cluster API's"
        " domain cluster.x-k8s.io: CAPI sets these labels itself (cluster.x-k8s.io/cluster-name,"
        " node.cluster.x-k8s.io/pool, ...) and selects machines by them; use a prefix of your own",
    ),
    "control-plane role label": (
        lambda d: _p(d).update(labels={"node-role.kubernetes.io/control-plane": ""}),
        "clusters[0].pools[0].labels.node-role.kubernetes.io/control-plane: label"
        " 'node-role.kubernetes.io/control-plane' marks control-plane nodes (KubeadmControlPlane finds its nodes by"
        " it); pools hold workers",
    ),
    "kubelet's own label": (
        lambda d: _p(d).update(labels={"kubernetes.io/hostname": "x"}),
        "clusters[0].pools[0].labels.kubernetes.io/hostname: label 'kubernetes.io/hostname' is set by the kubelet"
        " from each machine; a pool label would overwrite it on every node",
    ),
    "kubernetes.io label": (
        lambda d: _p(d).update(labels={"kubernetes.io/foo": "x"}),
        "clusters[0].pools[0].labels.kubernetes.io/foo: label 'kubernetes.io/foo' is in the kubernetes.io / k8s.io"
        f" namespace, which the kubelet refuses in --node-labels; allowed there: {_KUBELET_ALLOWED}",
    ),
    "label value": (
        lambda d: _p(d).update(labels={"a": "b c"}),
        "clusters[0].pools[0].labels.a: 'b c' is not a valid Kubernetes label value (<= 63 alphanumerics, '-', '_' or '.')",
    ),
    "long label value": (
        lambda d: _p(d).update(labels={"a": "b" * 64}),
        f"clusters[0].pools[0].labels.a: '{'b' * 64}' is not a valid Kubernetes label value"
        " (<= 63 alphanumerics, '-', '_' or '.')",
    ),
    "kubernetes version": (
        lambda d: _c(d).update(kubernetesVersion="latest"),
        "clusters[0].kubernetesVersion: 'latest' is not a Kubernetes version like v1.33.4",
    ),
    "kubernetes version range": (
        lambda d: _c(d).update(kubernetesVersion="v1.31.9"),
        f"clusters[0].kubernetesVersion: Kubernetes v1.31.9 is not supported by Cluster API {versions.CAPI} with"
        f" CAPH {versions.CAPH}; allowed: v1.32 to v1.36",
    ),
    "CIDR": (
        lambda d: d["management"].update(apiAllowedCidrs=["1.2.3.4/33"]),
        "management.apiAllowedCidrs[0]: '1.2.3.4/33' is not a CIDR block"
        " ('1.2.3.4/33' does not appear to be an IPv4 or IPv6 network)",
    ),
    "IPv6 pod range": (
        lambda d: _c(d).update(podCidr="fd00::/64"),
        f"clusters[0].podCidr: 'fd00::/64' is an IPv6 range; {_RFC1918}, as the cluster network is IPv4-only",
    ),
    "public pod range": (
        lambda d: _c(d).update(podCidr="8.8.0.0/16"),
        f"clusters[0].podCidr: '8.8.0.0/16' is not a private IPv4 range; {_RFC1918}, as the cluster network is IPv4-only",
    ),
    "public service range": (
        lambda d: _c(d).update(serviceCidr="100.64.0.0/12"),
        f"clusters[0].serviceCidr: '100.64.0.0/12' is not a private IPv4 range; {_RFC1918},"
        " as the cluster network is IPv4-only",
    ),
    "pool max": (
        lambda d: _p(d).update(max=101),
        "clusters[0].pools[0].max: max 101 is above 100, more servers than one cluster's private network holds",
    ),
    "reserved namespace": (
        lambda d: _c(d).update(namespace="kube-system"),
        "clusters[0].namespace: namespace 'kube-system' is reserved (Kubernetes and what clusterctl-py installs in"
        " the management cluster use default, cert-manager, kube-*, capi-*, caph-*, caaph-*; the cluster stack owns"
        " its namespace and deletes it on destroy)",
    ),
    "control plane replicas": (
        lambda d: _c(d)["controlPlane"].update(replicas=2),
        "clusters[0].controlPlane.replicas: must be 1, 3 or 5 (got 2)",
    ),
    "management servers": (
        lambda d: d["management"].update(servers=2),
        "management.servers: must be 1 or 3 (got 2)",
    ),
    "reserved pool name": (
        lambda d: _p(d).update(name="control-plane"),
        "clusters[0].pools[0].name: pool name 'control-plane' is reserved",
    ),
    "min above max": (
        lambda d: _p(d).update(min=3, max=2),
        "clusters[0].pools[0].max: max (2) must be >= min (3)",
    ),
    "service range overlaps pods": (
        lambda d: _c(d).update(serviceCidr="10.244.0.0/20"),
        "clusters[0].serviceCidr: serviceCidr 10.244.0.0/20 overlaps podCidr 10.244.0.0/16; service and pod"
        " addresses must be distinct",
    ),
    "k3s version": (
        lambda d: d["management"].update(k3sVersion="v1.33.4"),
        "management.k3sVersion: 'v1.33.4' is not a k3s release like v1.33.4+k3s1",
    ),
    "k3s version range": (
        lambda d: d["management"].update(k3sVersion="v1.31.4+k3s1"),
        f"management.k3sVersion: k3s v1.31.4+k3s1 is outside the management-cluster range of Cluster API"
        f" {versions.CAPI}; allowed: v1.32 to v1.36",
    ),
    "duplicate SSH key": (
        lambda d: d["hetzner"].update(sshKeys=["ops", "ci", "ops"]),
        "hetzner.sshKeys[2]: duplicate SSH key 'ops' (also sshKeys[0])",
    ),
    "cluster location": (
        lambda d: _c(d).update(location="nbg2"),
        f"clusters[0].location: unknown Hetzner location 'nbg2'; allowed: {_LOCATIONS}",
    ),
    "management location": (
        lambda d: d["management"].update(location="fra1"),
        f"management.location: unknown Hetzner location 'fra1'; allowed: {_LOCATIONS}",
    ),
    "hetzner location": (
        lambda d: d["hetzner"].update(location="xx1"),
        f"hetzner.location: unknown Hetzner location 'xx1'; allowed: {_LOCATIONS}",
    ),
    "unknown server type": (
        lambda d: _p(d).update(serverType="cx99"),
        f"clusters[0].pools[0].serverType: unknown Hetzner server type 'cx99'; allowed: {_SERVER_TYPES}",
    ),
    "deprecated server type": (
        lambda d: _p(d).update(serverType="cpx31"),
        "clusters[0].pools[0].serverType: server type 'cpx31' is deprecated by Hetzner; use 'cpx32'"
        f" (allowed: {_SERVER_TYPES})",
    ),
    "server type not sold in the cluster's location": (
        lambda d: _c(d).update(location="ash"),
        "clusters[0].pools[1].serverType: server type 'cax21' is not offered in ash (only in fsn1, nbg1, hel1);"
        f" offered in ash: {_SOLD_IN_ASH}",
    ),
    "management server type not sold in its location": (
        lambda d: d["management"].update(serverType="cax11", location="ash"),
        "management.serverType: server type 'cax11' is not offered in ash (only in fsn1, nbg1, hel1);"
        f" offered in ash: {_SOLD_IN_ASH}",
    ),
    "network capacity": (
        lambda d: (_p(d).update(max=60), _p(d, 1).update(max=40)),
        "clusters[0].pools: at max scale this cluster needs 116 servers (3 control plane + 100 in pools + 13"
        " surging during a rollout), but one Hetzner private network holds at most 100; lower the pools' max or"
        " split the cluster",
    ),
    "pod range inside the hetzner network": (
        lambda d: _c(d).update(podCidr="10.0.0.0/8"),
        "clusters[0].podCidr: 10.0.0.0/8 overlaps hetzner.networkCidr 10.0.0.0/16, the servers' private network;"
        " choose a range outside it (defaults: podCidr 10.244.0.0/16, serviceCidr 10.96.0.0/12)",
    ),
    "service range inside the hetzner network": (
        lambda d: _c(d).update(serviceCidr="10.0.1.0/24"),
        "clusters[0].serviceCidr: 10.0.1.0/24 overlaps hetzner.networkCidr 10.0.0.0/16, the servers' private network;"
        " choose a range outside it (defaults: podCidr 10.244.0.0/16, serviceCidr 10.96.0.0/12)",
    ),
    "IPv6 hetzner network": (
        lambda d: d["hetzner"].update(networkCidr="fd00::/48"),
        f"hetzner.networkCidr: 'fd00::/48' is an IPv6 range; {_RFC1918}, as Hetzner requires for private networks",
    ),
    "public hetzner network": (
        lambda d: d["hetzner"].update(networkCidr="8.8.0.0/16"),
        f"hetzner.networkCidr: '8.8.0.0/16' is not a private IPv4 range; {_RFC1918}, as Hetzner requires for private networks",
    ),
    "SSH key name": (
        lambda d: d["hetzner"].update(sshKeys=[" ops"]),
        "hetzner.sshKeys[0]: ' ops' is not an SSH key name: names are not empty and have no surrounding blanks",
    ),
    "image": (
        lambda d: d["hetzner"].update(image="ubuntu 24.04"),
        "hetzner.image: 'ubuntu 24.04' is not a Hetzner image name or label (not empty, no blanks), e.g. ubuntu-24.04",
    ),
    "network zone": (
        lambda d: d["hetzner"].update(networkZone="us-east"),
        "hetzner.networkZone: networkZone 'us-east' does not contain location 'fsn1' (zone 'eu-central');"
        " allowed zones: ap-southeast, eu-central, us-east, us-west",
    ),
    "subnet": (
        lambda d: d["hetzner"].update(subnetCidr="10.1.0.0/24"),
        "hetzner.subnetCidr: subnetCidr 10.1.0.0/24 lies outside networkCidr 10.0.0.0/16",
    ),
    "node group of a split pool": (
        lambda d: _c(d).update(
            pools=[{"name": "web", "serverType": "cpx22", "max": 25}, {"name": "web-2", "serverType": "cpx22", "max": 2}]
        ),
        "clusters[0].pools[1].name: pool 'web-2' renders node group 'web-2', which pool 'web' (pools[0]) also"
        " renders: with max 25 it is split into node groups web, web-2, web-3; two MachineDeployments would share"
        " that name, so rename one of the pools",
    ),
    "split pool after the pool it collides with": (
        lambda d: _c(d).update(
            pools=[{"name": "web-2", "serverType": "cpx22", "max": 2}, {"name": "web", "serverType": "cpx22", "max": 25}]
        ),
        "clusters[0].pools[1].name: pool 'web' renders node group 'web-2', which pool 'web-2' (pools[0]) also"
        " renders: its only node group is 'web-2'; two MachineDeployments would share that name, so rename one of"
        " the pools",
    ),
}


@pytest.mark.parametrize("case", list(MESSAGES))
def test_each_rule_says_what_is_wrong_and_what_is_allowed(data, case):
    change, message = MESSAGES[case]
    change(data)
    assert problems(data) == [message]

@pytest.mark.parametrize("version", ["v1.32.0+k3s1", "v1.36.9+k3s2"])
def test_k3s_releases_at_both_ends_of_the_range_are_accepted(version):
    assert spec_mod.parse(platform_data(management={"k3sVersion": version})).management.k3s_version == version


def test_k3s_release_above_the_range_is_refused():
    assert problems(platform_data(management={"k3sVersion": "v1.37.0+k3s1"})) == [
        f"management.k3sVersion: k3s v1.37.0+k3s1 is outside the management-cluster range of Cluster API"
        f" {versions.CAPI}; allowed: v1.32 to v1.36"
    ]


@pytest.mark.parametrize(
    "change, char, message",
    [
        (lambda d: _c(d).update(name="A" * 100), "A", f"clusters[0].name: '{'A' * 80}' is not a valid name: use 1-24 {_DNS}"),
        (
            lambda d: _p(d).update(labels={"tier": "!" * 100}),
            "!",
            f"clusters[0].pools[0].labels.tier: '{'!' * 80}' is not a valid Kubernetes label value"
            " (<= 63 alphanumerics, '-', '_' or '.')",
        ),
        (
            lambda d: _p(d).update(labels={"!" * 100: "x"}),
            "!",
            f"clusters[0].pools[0].labels.{'!' * 100}: '{'!' * 80}' is not a valid Kubernetes label key"
            " ([prefix/]name, name <= 63 chars)",
        ),
        (
            lambda d: _c(d).update(kubernetesVersion="v" * 100),
            "v",
            f"clusters[0].kubernetesVersion: '{'v' * 80}' is not a Kubernetes version like v1.33.4",
        ),
        (
            lambda d: d["management"].update(k3sVersion="k" * 100),
            "k",
            f"management.k3sVersion: '{'k' * 80}' is not a k3s release like v1.33.4+k3s1",
        ),
        (
            lambda d: d["hetzner"].update(sshKeys=[" " * 100]),
            " ",
            f"hetzner.sshKeys[0]: '{' ' * 80}' is not an SSH key name: names are not empty and have no surrounding blanks",
        ),
        (
            lambda d: d["hetzner"].update(image=" " * 100),
            " ",
            f"hetzner.image: '{' ' * 80}' is not a Hetzner image name or label (not empty, no blanks), e.g. ubuntu-24.04",
        ),
    ],
)
def test_messages_quote_at_most_80_characters_of_a_value(data, change, char, message):
    # The quote is cut at 80 characters; the value itself follows, shortened so the cut shows.
    change(data)
    assert problems(data) == [f"{message} (got '{char * 22}...{char * 23}')"]


def test_an_invalid_namespace_is_not_taken_for_the_cluster_name(data):
    # The cluster sets a namespace, so its name is not its namespace, even while that namespace is broken.
    assert problems(cluster(data, name="default", namespace="Team_A")) == [
        f"clusters[0].namespace: 'Team_A' is not a valid name: use 1-63 {_DNS}"
    ]
    data = platform_data()
    data["clusters"].append(dict(data["clusters"][0], name="staging", namespace="Prod"))
    assert problems(data) == [f"clusters[1].namespace: 'Prod' is not a valid name: use 1-63 {_DNS}"]

# --- Hetzner checks on the parts that validated ---------------------------------------------------


def _unknown_type(path, name="cx99"):
    return f"{path}: unknown Hetzner server type '{name}'; allowed: {_SERVER_TYPES}"


def test_a_cluster_that_is_not_a_mapping_does_not_hide_the_next_one(data):
    data["clusters"].insert(0, 42)
    data["clusters"][1]["pools"][0]["serverType"] = "cx99"
    assert problems(data) == [
        "clusters[0]: must be a mapping of keys (got 42)",
        _unknown_type("clusters[1].pools[0].serverType"),
    ]


def test_broken_control_plane_and_pool_do_not_hide_the_other_pools(data):
    data["clusters"][0]["controlPlane"] = 5
    data["clusters"][0]["pools"][0] = "x"
    _p(data, 1)["serverType"] = "cx99"
    assert problems(data) == [
        "clusters[0].controlPlane: must be a mapping of keys (got 5)",
        "clusters[0].pools[0]: must be a mapping of keys (got 'x')",
        _unknown_type("clusters[0].pools[1].serverType"),
    ]


def test_a_missing_hetzner_section_does_not_hide_what_a_cluster_location_rules_out(data):
    del data["hetzner"]
    _c(data)["location"] = "ash"
    assert problems(data) == [
        "hetzner: required but missing",
        "clusters[0].pools[1].serverType: server type 'cax21' is not offered in ash (only in fsn1, nbg1, hel1);"
        f" offered in ash: {_SOLD_IN_ASH}",
    ]


def test_a_broken_management_section_does_not_hide_cluster_problems(data):
    data["management"] = 5
    _p(data)["serverType"] = "cx99"
    assert problems(data) == ["management: must be a mapping of keys (got 5)", _unknown_type("clusters[0].pools[0].serverType")]


def test_an_unknown_management_location_still_checks_its_server_type(data):
    data["management"].update(location="fra1", serverType="cx22")
    assert problems(data) == [
        f"management.location: unknown Hetzner location 'fra1'; allowed: {_LOCATIONS}",
        f"management.serverType: server type 'cx22' is deprecated by Hetzner; use 'cx23' (allowed: {_SERVER_TYPES})",
    ]


def test_management_location_overrides_the_default_location(data):
    # cax11 is sold in the EU only: fine in fsn1 although the default location is ash.
    data["hetzner"].update(location="ash", networkZone="us-east")
    data["management"].update(location="fsn1", serverType="cax11")
    assert spec_mod.parse(data).management.server_type == "cax11"


def test_long_unknown_server_type_names_are_cut_at_40_characters(data):
    _p(data)["serverType"] = "x" * 100
    assert problems(data) == [_unknown_type("clusters[0].pools[0].serverType", "x" * 40)]


def test_a_broken_pod_range_does_not_hide_a_service_range_inside_the_network(data):
    _c(data).update(podCidr="8.8.0.0/16", serviceCidr="10.0.0.0/24")
    assert problems(data) == [
        f"clusters[0].podCidr: '8.8.0.0/16' is not a private IPv4 range; {_RFC1918}, as the cluster network is IPv4-only",
        "clusters[0].serviceCidr: 10.0.0.0/24 overlaps hetzner.networkCidr 10.0.0.0/16, the servers' private"
        " network; choose a range outside it (defaults: podCidr 10.244.0.0/16, serviceCidr 10.96.0.0/12)",
    ]


def test_a_broken_hetzner_network_is_not_compared_with_cluster_ranges(data):
    data["hetzner"]["networkCidr"] = "8.8.0.0/16"
    _c(data)["podCidr"] = "10.0.0.0/8"
    assert problems(data) == [
        f"hetzner.networkCidr: '8.8.0.0/16' is not a private IPv4 range; {_RFC1918}, as Hetzner requires for private networks"
    ]


def test_each_duplicate_ssh_key_names_its_first_occurrence():
    assert problems(platform_data(hetzner={"sshKeys": ["a", "b", "a", "b", "a"]})) == [
        "hetzner.sshKeys[2]: duplicate SSH key 'a' (also sshKeys[0])",
        "hetzner.sshKeys[3]: duplicate SSH key 'b' (also sshKeys[1])",
        "hetzner.sshKeys[4]: duplicate SSH key 'a' (also sshKeys[0])",
    ]

def test_value_limit_counts_every_node_once():
    # root mapping, hetzner, {sshKeys: [ops]} (4 nodes), x, the list: 8 nodes besides the list's items.
    head = "hetzner: {sshKeys: [ops]}\nx: ["
    assert problems(text=head + ",".join(["1"] * 19992) + "]\n") == [
        "x: unknown key; allowed keys: clusters, hetzner, management"
    ]
    assert problems(text=head + ",".join(["1"] * 19993) + "]\n") == [
        "malformed YAML: line 2, column 39989: more than 20000 values (an alias counts as all it repeats)"
    ]


def test_an_alias_counts_as_all_the_values_it_repeats():
    # 6 nodes for the root and hetzner, a and b, the anchored list (1 + n) and its alias (1 + n again).
    def text(n):
        return "hetzner: {sshKeys: [ops]}\na: &a [" + ",".join(["1"] * n) + "]\nb: *a\n"

    assert problems(text=text(9995)) == [
        "a: unknown key; allowed keys: clusters, hetzner, management",
        "b: unknown key; allowed keys: clusters, hetzner, management",
    ]
    assert problems(text=text(9996)) == [
        "malformed YAML: line 3, column 4: more than 20000 values (an alias counts as all it repeats)"
    ]


def test_nesting_limit_is_32_levels_counted_along_each_path():
    # The root mapping is the first level.
    assert problems(text="hetzner: {sshKeys: [ops]}\nx: " + "[" * 31 + "]" * 31) == [
        "x: unknown key; allowed keys: clusters, hetzner, management"
    ]
    # A finished sibling does not reset the count of the path that goes on deeper.
    assert problems(text="x: " + "[" * 20 + "[], " + "[" * 20 + "]" * 20 + "]" * 20) == [
        "malformed YAML: line 1, column 39: nested deeper than 32 levels"
    ]


def test_text_over_the_size_limit_is_refused_before_parsing():
    with pytest.raises(SpecError) as info:
        spec_mod.loads("#" * (1024 * 1024 + 1), source="p.yaml")
    assert info.value.render() == "p.yaml: larger than 1024 KiB; a platform spec is a few KiB, so this is not one"


def test_yaml_errors_name_the_source():
    def render(text):
        with pytest.raises(SpecError) as info:
            spec_mod.loads(text, source="p.yaml")
        return info.value.render()

    assert render("a: 1\nb: 2\nc: d\x00") == (
        "p.yaml: malformed YAML: line 3, column 5: unacceptable character #x0000: special characters are not allowed"
    )
    # Messages that quote the input are cut at 200 characters.
    assert render("x: !!float " + "y" * 300) == "p.yaml: malformed YAML: " + (
        "could not convert string to float: '" + "y" * 300
    )[:200]


@pytest.mark.parametrize(
    "labels",
    [{"n" * 63: "x"}, {"tier": "v" * 63}, {"a" * 253 + "/x": "y"}, {"example.com/" + "n" * 63: ""}],
)
def test_longest_label_keys_and_values_are_accepted(data, labels):
    assert spec_mod.parse(pool(data, labels=labels)).clusters[0].pools[0].labels == labels


@pytest.mark.parametrize("key", ["n" * 64, "a" * 254 + "/x", "example.com/"])
def test_label_keys_over_the_limits_are_refused(data, key):
    assert problems(pool(data, labels={key: "x"})) == [
        f"clusters[0].pools[0].labels.{key}: '{key[:80]}' is not a valid Kubernetes label key"
        " ([prefix/]name, name <= 63 chars)" + (f" (got {_got(key)})" if len(key) > 80 else "")
    ]


def _got(value):
    return f"'{value[:22]}...{value[-23:]}'"

def test_a_pool_of_max_100_is_within_the_pool_limit(data):
    data["clusters"][0]["pools"] = [{"name": "p", "serverType": "cpx22", "max": 100, "placement": "none"}]
    # Only the network capacity (which counts the control plane and surge) refuses it.
    assert problems(data) == [
        "clusters[0].pools: at max scale this cluster needs 105 servers (3 control plane + 100 in pools + 2"
        " surging during a rollout), but one Hetzner private network holds at most 100; lower the pools' max or"
        " split the cluster"
    ]


def test_a_cluster_name_that_is_another_clusters_namespace(data):
    data["clusters"].insert(0, dict(data["clusters"][0], name="team", namespace="prod"))
    assert problems(data) == ["clusters[1].name: duplicate namespace 'prod' (also clusters[0])"]


def test_duplicate_pools_after_a_broken_pool_are_reported(data):
    general = data["clusters"][0]["pools"][0]
    data["clusters"][0]["pools"] = ["x", general, dict(general)]
    assert problems(data) == [
        "clusters[0].pools[0]: must be a mapping of keys (got 'x')",
        "clusters[0].pools[2].name: duplicate pool name 'general' (also pools[1])",
    ]


def test_a_reserved_cluster_name_after_a_cluster_with_a_namespace(data):
    data["clusters"].append(dict(data["clusters"][0], name="default"))
    _c(data)["namespace"] = "team-a"
    assert problems(data) == [
        "clusters[1].name: cluster 'default' sets no namespace, so its namespace would be 'default', which is"
        " reserved (Kubernetes and what clusterctl-py installs in the management cluster use default,"
        " cert-manager, kube-*, capi-*, caph-*, caaph-*; the cluster stack owns its namespace and deletes it"
        " on destroy); rename the cluster or set namespace"
    ]


def test_node_group_names_are_checked_in_every_cluster(data):
    pools = [{"name": "web", "serverType": "cpx22", "max": 25}, {"name": "web-2", "serverType": "cpx22", "max": 2}]
    broken = dict(data["clusters"][0], name="Broken")
    data["clusters"] = [broken, dict(broken, name="one", pools=pools), dict(broken, name="two", pools=pools)]
    message = (
        "pool 'web-2' renders node group 'web-2', which pool 'web' (pools[0]) also renders: with max 25 it is"
        " split into node groups web, web-2, web-3; two MachineDeployments would share that name, so rename one"
        " of the pools"
    )
    assert problems(data) == [
        f"clusters[0].name: 'Broken' is not a valid name: use 1-24 {_DNS}",
        f"clusters[1].pools[1].name: {message}",
        f"clusters[2].pools[1].name: {message}",
    ]

# --- Hetzner node groups and machine shapes ------------------------------------------------------


@pytest.mark.parametrize(
    "pool_min, pool_max, placement, expect",
    [
        # At most 9 servers per spread placement group (10 with the rollout's surge machine).
        (0, 9, "spread", [("", 0, 9, "p")]),
        (1, 10, "spread", [("", 1, 5, "p"), ("-2", 0, 5, "p-2")]),
        # Shares are near-equal, the larger ones first, for min and max alike.
        (5, 25, "spread", [("", 2, 9, "p"), ("-2", 2, 8, "p-2"), ("-3", 1, 8, "p-3")]),
        (4, 19, "spread", [("", 2, 7, "p"), ("-2", 1, 6, "p-2"), ("-3", 1, 6, "p-3")]),
        # Without placement, one MachineDeployment and no placement group.
        (2, 40, "none", [("", 2, 40, None)]),
    ],
)
def test_pools_split_into_node_groups_of_at_most_9_servers(data, pool_min, pool_max, placement, expect):
    from clusterctl_py.providers.base import NodeGroup
    from clusterctl_py.providers.hetzner import PROVIDER

    data["clusters"][0]["pools"] = [
        {"name": "p", "serverType": "cpx22", "min": pool_min, "max": pool_max, "placement": placement}
    ]
    parsed = spec_mod.parse(data).clusters[0]
    assert PROVIDER.node_groups(parsed, parsed.pools[0]) == [NodeGroup(*group) for group in expect]


@pytest.mark.parametrize(
    "server_type, shape",
    [
        # Hetzner's published sizes; the architecture as the kubelet reports kubernetes.io/arch.
        ("cax21", (4, 8, 80, "arm64", "cax21")),
        ("cpx32", (4, 8, 160, "amd64", "cpx32")),
        ("ccx13", (2, 8, 80, "amd64", "ccx13")),
    ],
)
def test_machine_shapes_come_from_the_catalog(server_type, shape):
    from clusterctl_py.providers.base import MachineShape
    from clusterctl_py.providers.hetzner import PROVIDER

    assert PROVIDER.machine_shape(server_type) == MachineShape(*shape)

# --- every problem at once ---------------------------------------------------------------------


def test_catalog_checks_run_while_other_parts_are_broken(data):
    data["hetzner"]["sshKeys"] = []  # structurally wrong
    data["management"]["serverType"] = "cpx31"
    cluster(data, kubernetesVersion="v1.99.0", location="nbg2")
    data["clusters"][0]["controlPlane"]["replicas"] = 2
    pool(data, 1, serverType="cx22", max=0)  # broken itself, and its type is checked all the same
    pool(data, 0, serverType="cx99")
    second = dict(data["clusters"][0], name="staging", location="ash", kubernetesVersion="v1.33.4")
    del second["platform"]  # a bare cluster: only its catalog problems below
    second["controlPlane"] = {"serverType": "cax11"}
    second["pools"] = [{"name": "web", "serverType": "cax21", "max": 2}]
    data["clusters"].append(second)
    found = {line.split(": ")[0]: line for line in problems(data)}
    assert set(found) == {
        "hetzner.sshKeys",
        "management.serverType",
        "clusters[0].kubernetesVersion",
        "clusters[0].location",
        "clusters[0].controlPlane.replicas",
        "clusters[0].pools[0].serverType",
        "clusters[0].pools[1].max",
        "clusters[0].pools[1].serverType",
        "clusters[1].controlPlane.serverType",
        "clusters[1].pools[0].serverType",
    }
    assert "'cpx31' is deprecated" in found["management.serverType"]
    assert "unknown Hetzner server type 'cx99'" in found["clusters[0].pools[0].serverType"]
    assert "unknown Hetzner location 'nbg2'" in found["clusters[0].location"]
    # The hetzner section is broken but its default location is known: arm is not sold in ash.
    assert "'cax11' is not offered in ash" in found["clusters[1].controlPlane.serverType"]


def test_default_location_still_applies_when_hetzner_is_otherwise_broken(data):
    data["hetzner"] = {"location": "hil", "sshKeys": "ops"}
    del data["clusters"][0]["location"]
    found = problems(data)
    assert found[0] == "hetzner.sshKeys: must be a list (got 'ops')"
    assert found[1].startswith("clusters[0].pools[1].serverType: server type 'cax21' is not offered in hil")
    assert len(found) == 2


def test_node_group_names_checked_while_another_cluster_is_broken(data):
    broken = dict(data["clusters"][0], name="Staging")
    data["clusters"][0]["pools"] = [
        {"name": "web", "serverType": "cpx22", "max": 25},
        {"name": "web-2", "serverType": "cpx22", "max": 2},
    ]
    data["clusters"].append(broken)
    assert [line.split(": ")[0] for line in problems(data)] == ["clusters[1].name", "clusters[0].pools[1].name"]
