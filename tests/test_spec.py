"""Every validation rule of the platform spec, as a user meets it: one line naming the field."""

from __future__ import annotations

import pytest

from clusterctl_py import spec as spec_mod
from clusterctl_py.errors import SpecError
from tests.conftest import platform_data


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


def test_valid_example_parses_with_defaults(example_spec):
    prod = example_spec.cluster("prod")
    assert prod.ns == "prod"
    assert example_spec.location_of(prod) == "nbg1"
    assert example_spec.hetzner.network_zone == "eu-central"
    assert prod.pools[0].placement == "spread"


@pytest.mark.parametrize(
    "server_type, expect",
    [("cx99", "unknown Hetzner server type 'cx99'"), ("cpx31", "deprecated by Hetzner; use 'cpx32'"), ("cx22", "use 'cx23'")],
)
def test_bad_pool_server_type(data, server_type, expect):
    line = only(problems(pool(data, serverType=server_type)), "clusters[0].pools[0].serverType")
    assert expect in line
    assert "allowed: cx23" in line


def test_control_plane_server_type_checked(data):
    data["clusters"][0]["controlPlane"]["serverType"] = "cpx21"
    only(problems(data), "clusters[0].controlPlane.serverType")


def test_server_type_not_sold_in_location(data):
    # Arm servers are sold in the EU only.
    line = only(problems(cluster(data, location="ash", pools=[data["clusters"][0]["pools"][1]])), "clusters[0].pools[0].serverType")
    assert "not offered in ash" in line and "cpx32" in line


def test_unknown_locations(data):
    assert "allowed: fsn1" in only(problems(cluster(data, location="nbg2")), "clusters[0].location")
    bad = platform_data(hetzner={"location": "xx1", "sshKeys": ["ops"]})
    assert "'xx1'" in only(problems(bad), "hetzner.location")


def test_network_zone_must_contain_location():
    line = only(problems(platform_data(hetzner={"location": "ash", "sshKeys": ["ops"], "networkZone": "eu-central"})), "hetzner")
    assert "networkZone 'eu-central'" in line and "us-east" in line


@pytest.mark.parametrize("replicas", [0, 2, 4, 7])
def test_control_plane_replicas_must_be_odd(data, replicas):
    data["clusters"][0]["controlPlane"]["replicas"] = replicas
    line = only(problems(data), "clusters[0].controlPlane.replicas")
    assert "1, 3 or 5" in line and str(replicas) in line


def test_min_above_max(data):
    assert "max (2) must be >= min (3)" in only(problems(pool(data, min=3, max=2)), "clusters[0].pools[0].max")


def test_negative_min(data):
    only(problems(pool(data, min=-1)), "clusters[0].pools[0].min")


def test_network_capacity(data):
    pool(data, 0, max=60)
    pool(data, 1, max=40)
    line = only(problems(data), "clusters[0].pools")
    # 3 control plane + 100 pool servers + 10 node groups (6 + 4 spread groups) and the KCP surging.
    assert "needs 114 servers" in line and "holds at most 100" in line


def test_network_capacity_just_fits(data):
    # 3 + 85 + (1 + 5 groups + 1) surge = 95 -> fine; the arm pool (max 75) is 8 groups.
    pool(data, 0, max=10)
    pool(data, 1, max=75)
    spec_mod.parse(data)


def test_duplicate_cluster_names(data):
    data["clusters"].append(dict(data["clusters"][0]))
    lines = problems(data)
    assert lines == ["clusters[1]: duplicate cluster 'prod' (also clusters[0])"]


def test_duplicate_namespaces(data):
    second = dict(data["clusters"][0], name="staging", namespace="prod")
    data["clusters"].append(second)
    assert "duplicate namespace 'prod'" in only(problems(data), "clusters[1]")


def test_duplicate_pool_names(data):
    pool(data, 1, name="general")
    assert "duplicate pool name 'general'" in only(problems(data), "clusters[0].pools[1].name")


@pytest.mark.parametrize("name", ["Prod", "-prod", "prod-", "pr_od", "a" * 25, ""])
def test_cluster_names_are_dns_labels(data, name):
    assert "DNS-1123" in only(problems(cluster(data, name=name)), "clusters[0].name")


def test_pool_name_rules(data):
    assert "DNS-1123" in only(problems(pool(data, name="a" * 21)), "clusters[0].pools[0].name")
    assert "reserved" in only(problems(platform_data() | {"clusters": [dict(platform_data()["clusters"][0], pools=[{"name": "control-plane", "serverType": "cpx32", "max": 1}])]}), "clusters[0].pools[0].name")


@pytest.mark.parametrize("version", ["v1.31.9", "v1.37.0", "1.30.0", "latest", "v1.33", "v1.33.4-rc.1"])
def test_unsupported_kubernetes_versions(data, version):
    line = only(problems(cluster(data, kubernetesVersion=version)), "clusters[0].kubernetesVersion")
    assert version in line


@pytest.mark.parametrize("version", ["v1.32.0", "v1.34.2", "1.36.1"])
def test_supported_kubernetes_versions_are_normalised(data, version):
    parsed = spec_mod.parse(cluster(data, kubernetesVersion=version))
    assert parsed.clusters[0].kubernetes_version == "v" + version.lstrip("v")


@pytest.mark.parametrize(
    "where, key",
    [
        (lambda d: d, "cluster"),
        (lambda d: d["hetzner"], "sshKey"),
        (lambda d: d["clusters"][0], "kubernetesVersoin"),
        (lambda d: d["clusters"][0]["controlPlane"], "serverTyp"),
        (lambda d: d["clusters"][0]["pools"][0], "maxx"),
    ],
)
def test_unknown_keys_are_errors(data, where, key):
    where(data)[key] = 1
    lines = problems(data)
    assert len(lines) == 1 and f"{key}: unknown key" in lines[0], lines
    assert "allowed keys:" in lines[0]


def test_typo_gets_a_suggestion(data):
    data["clusters"][0]["controlPlane"]["serverTyp"] = "cpx22"
    assert "did you mean 'serverType'?" in problems(data)[0]


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


def test_malformed_yaml():
    lines = problems(text="hetzner: {sshKeys: [ops]\nclusters: [")
    assert len(lines) == 1 and lines[0].startswith("malformed YAML: line 2, column 1:"), lines


def test_duplicate_yaml_keys_are_refused():
    lines = problems(text="hetzner: {sshKeys: [a]}\nhetzner: {sshKeys: [b]}\n")
    assert "duplicate key 'hetzner'" in lines[0]


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string"])
def test_top_level_must_be_a_mapping(text):
    lines = problems(text=text)
    assert len(lines) == 1
    assert "hetzner" in lines[0] or "mapping" in lines[0]


def test_missing_required_keys(data):
    del data["hetzner"]["sshKeys"]
    del data["clusters"][0]["pools"][0]["max"]
    assert sorted(problems(data)) == [
        "clusters[0].pools[0].max: required but missing",
        "hetzner.sshKeys: required but missing",
    ]


def test_empty_ssh_keys():
    only(problems(platform_data(hetzner={"sshKeys": []})), "hetzner.sshKeys")


@pytest.mark.parametrize(
    "labels, path",
    [({"tier": "has space"}, "labels.tier"), ({"bad key!": "x"}, "labels.bad key!"), ({"kubernetes.io/role": "x"}, "labels")],
)
def test_bad_labels(data, labels, path):
    line = problems(pool(data, labels=labels))[0]
    assert line.startswith(f"clusters[0].pools[0].{path}"), line


def test_bad_taint_effect(data):
    pool(data, 1, taints=[{"key": "batch", "value": "true", "effect": "NoScheduel"}])
    line = only(problems(data), "clusters[0].pools[1].taints[0].effect")
    assert "NoSchedule" in line and "NoScheduel" in line


@pytest.mark.parametrize("field, value", [("podCidr", "10.244.0.0/33"), ("serviceCidr", "not-a-cidr"), ("podCidr", "10.244.0.1/16")])
def test_bad_cluster_cidrs(data, field, value):
    only(problems(cluster(data, **{field: value})), f"clusters[0].{field}")


def test_hetzner_network_must_be_private():
    only(problems(platform_data(hetzner={"sshKeys": ["a"], "networkCidr": "8.8.0.0/16"})), "hetzner.networkCidr")


def test_management_checks():
    bad = platform_data(management={"serverType": "cx22", "servers": 3})
    assert "use 'cx23'" in only(problems(bad), "management.serverType")
    only(problems(platform_data(management={"servers": 2})), "management.servers")
    only(problems(platform_data(management={"k3sVersion": "v1.28.1+k3s1"})), "management.k3sVersion")
    only(problems(platform_data(management={"apiAllowedCidrs": ["1.2.3.4/40"]})), "management.apiAllowedCidrs[0]")
    only(problems(platform_data(management={"apiPort": 70000})), "management.apiPort")


def test_unknown_cluster_lookup(example_spec):
    with pytest.raises(SpecError) as info:
        example_spec.cluster("nope")
    assert "defined: prod" in str(info.value)


def test_file_errors(tmp_path):
    with pytest.raises(SpecError, match="file not found"):
        spec_mod.load(tmp_path / "missing.yaml")
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SpecError, match="cannot read"):
        spec_mod.load(tmp_path / "bin.yaml")
