"""Template names follow their content: a changed template rolls machines, nothing else does.

CAPH refuses in-place edits of an HCloudMachineTemplate's spec (webhook in
syself/cluster-api-provider-hetzner api/v1beta1/hcloudmachinetemplate_webhook.go),
and CAPI rolls machines only when a MachineDeployment or KubeadmControlPlane
points at a template of another name. So a template's name must change exactly
when its content does. These properties are checked on the rendered objects,
through the references CAPI follows, for random platforms (hypothesis).
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clusterctl_py import spec as spec_mod
from clusterctl_py.render import render_cluster
from tests.conftest import EXAMPLE

# No example database: it would be written into the checkout.
SETTINGS = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# All sold in every EU location, so any location below accepts them.
SERVER_TYPES = ["cpx22", "cpx32", "cx23", "cax11", "ccx13"]
LABEL_KEYS = ["tier", "example.com/team", "gpu"]
TAINT_KEYS = ["batch", "example.com/dedicated"]
POOL_NAMES = ["web", "db", "batch", "arm", "general"]

Refs = dict[tuple[str, str, str], str]  # (owner kind, owner name, template kind) -> template name


@st.composite
def pools(draw, names):
    out = []
    for name in names:
        low = draw(st.integers(0, 3))
        pool: dict[str, Any] = {
            "name": name,
            "serverType": draw(st.sampled_from(SERVER_TYPES)),
            "min": low,
            "max": draw(st.integers(max(low, 1), 15)),
            "placement": draw(st.sampled_from(["spread", "none"])),
        }
        labels = draw(st.dictionaries(st.sampled_from(LABEL_KEYS), st.sampled_from(["a", "b", "batch"]), max_size=2))
        if labels:
            pool["labels"] = labels
        taints = draw(
            st.lists(
                st.fixed_dictionaries(
                    {"key": st.sampled_from(TAINT_KEYS), "effect": st.sampled_from(["NoSchedule", "PreferNoSchedule", "NoExecute"])},
                    optional={"value": st.sampled_from(["true", "x"])},
                ),
                max_size=2,
                unique_by=lambda t: t["key"],
            )
        )
        if taints:
            pool["taints"] = taints
        out.append(pool)
    return out


@st.composite
def platforms(draw) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(POOL_NAMES), min_size=1, max_size=3, unique=True))
    return {
        "hetzner": {
            "location": draw(st.sampled_from(["fsn1", "nbg1", "hel1"])),
            "sshKeys": draw(st.lists(st.sampled_from(["ops", "ci", "alice"]), min_size=1, max_size=3, unique=True)),
            "image": draw(st.sampled_from(["ubuntu-24.04", "ubuntu-22.04", "debian-12"])),
        },
        "clusters": [
            {
                "name": "shop",
                "kubernetesVersion": f"v1.{draw(st.integers(32, 36))}.{draw(st.integers(0, 5))}",
                "controlPlane": {"replicas": draw(st.sampled_from([1, 3, 5])), "serverType": draw(st.sampled_from(SERVER_TYPES))},
                "pools": draw(pools(names)),
            }
        ],
    }


def render(data: dict[str, Any]) -> list[dict[str, Any]]:
    spec = spec_mod.parse(copy.deepcopy(data))
    return render_cluster(spec, spec.cluster("shop"))


def references(objs: list[dict[str, Any]]) -> Refs:
    """The template names CAPI follows: what a rollout is decided on."""
    refs: Refs = {}
    for o in objs:
        name = o["metadata"]["name"]
        if o["kind"] == "KubeadmControlPlane":
            ref = o["spec"]["machineTemplate"]["spec"]["infrastructureRef"]
            refs[(o["kind"], name, ref["kind"])] = ref["name"]
        elif o["kind"] == "MachineDeployment":
            machine = o["spec"]["template"]["spec"]
            refs[(o["kind"], name, machine["infrastructureRef"]["kind"])] = machine["infrastructureRef"]["name"]
            refs[(o["kind"], name, machine["bootstrap"]["configRef"]["kind"])] = machine["bootstrap"]["configRef"]["name"]
    return refs


def templates(objs: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    return {(o["kind"], o["metadata"]["name"]): o["spec"] for o in objs if o["kind"] in ("HCloudMachineTemplate", "KubeadmConfigTemplate")}


def changed(before: Refs, after: Refs) -> set[tuple[str, str, str]]:
    """References present before and after whose template name differs."""
    return {key for key in before.keys() & after.keys() if before[key] != after[key]}


def pool_deployments(refs: Refs, pool: str) -> set[str]:
    """MachineDeployments of one pool (`shop-<pool>` and its split groups `shop-<pool>-<n>`)."""
    out = set()
    for _, owner, _ in refs:
        rest = owner.removeprefix(f"shop-{pool}")
        if owner.startswith(f"shop-{pool}") and (rest == "" or (rest[0] == "-" and rest[1:].isdigit())):
            out.add(owner)
    return out


def keys(refs: Refs, owners: set[str], kind: str) -> set[tuple[str, str, str]]:
    return {key for key in refs if key[1] in owners and key[2] == kind}


# --------------------------------------------------------------------------- one name, one content


@SETTINGS
@given(platforms(), platforms())
def test_a_template_name_always_means_the_same_content(a, b):
    # Two platforms of one cluster: a name they share must carry the same spec (CAPH would refuse the
    # in-place edit, and CAPI would not roll), and two specs of one template role never share a name.
    first, second = templates(render(a)), templates(render(b))
    for key in first.keys() & second.keys():
        assert first[key] == second[key], key
    for (kind, name), body in first.items():
        role = name.rsplit("-", 1)[0]
        for (kind2, name2), body2 in second.items():
            if kind2 == kind and name2.rsplit("-", 1)[0] == role and body2 != body:
                assert name2 != name


@SETTINGS
@given(platforms())
def test_every_reference_names_a_rendered_template(data):
    objs = render(data)
    rendered = templates(objs)
    refs = references(objs)
    assert refs and all((kind, name) in rendered for (_, _, kind), name in refs.items())


# --------------------------------------------------------------------------- a change of content rolls exactly its users

HCLOUD, KUBEADM = "HCloudMachineTemplate", "KubeadmConfigTemplate"
Objs = list[dict[str, Any]]
Expectation = tuple[Callable[[Refs], set], Callable[[Objs], None]]  # (references that must change, check of the new content)


def _other(choices: list[str], current: str | None) -> str:
    return next(c for c in choices if c != current)


def _referenced(objs: Objs, owners: set[str], kind: str) -> list[Any]:
    """Specs of the templates these MachineDeployments (or the KubeadmControlPlane) now point at."""
    refs, specs = references(objs), templates(objs)
    return [specs[(kind, name)] for (_, owner, k), name in refs.items() if k == kind and (owner in owners or not owners)]


def _pool(data: dict, i: int) -> dict:
    pools_ = data["clusters"][0]["pools"]
    return pools_[i % len(pools_)]


def image(data: dict, i: int) -> Expectation:
    new = data["hetzner"]["image"] = _other(["ubuntu-24.04", "ubuntu-22.04", "debian-12"], data["hetzner"].get("image"))

    def check(objs: Objs) -> None:  # CAPH: spec.template.spec.imageName
        assert {s["template"]["spec"]["imageName"] for s in _referenced(objs, set(), HCLOUD)} == {new}

    return (lambda refs: {k for k in refs if k[2] == HCLOUD}), check


def server_type(data: dict, i: int) -> Expectation:
    pool = _pool(data, i)
    new = pool["serverType"] = _other(SERVER_TYPES, pool["serverType"])

    def check(objs: Objs) -> None:  # CAPH: spec.template.spec.type
        owners = pool_deployments(references(objs), pool["name"])
        assert {s["template"]["spec"]["type"] for s in _referenced(objs, owners, HCLOUD)} == {new}

    return (lambda refs: keys(refs, pool_deployments(refs, pool["name"]), HCLOUD)), check


def control_plane_type(data: dict, i: int) -> Expectation:
    cp = data["clusters"][0]["controlPlane"]
    new = cp["serverType"] = _other(SERVER_TYPES, cp["serverType"])

    def check(objs: Objs) -> None:
        kcp = next(o for o in objs if o["kind"] == "KubeadmControlPlane")
        name = kcp["spec"]["machineTemplate"]["spec"]["infrastructureRef"]["name"]
        assert templates(objs)[(HCLOUD, name)]["template"]["spec"]["type"] == new

    return (lambda refs: {k for k in refs if k[0] == "KubeadmControlPlane"}), check


def placement(data: dict, i: int) -> Expectation:
    pool = _pool(data, i)
    new = pool["placement"] = _other(["spread", "none"], pool.get("placement", "spread"))

    def check(objs: Objs) -> None:  # CAPH: spec.template.spec.placementGroupName, only in a spread group
        owners = pool_deployments(references(objs), pool["name"])
        assert {"placementGroupName" in s["template"]["spec"] for s in _referenced(objs, owners, HCLOUD)} == {new == "spread"}

    return (lambda refs: keys(refs, pool_deployments(refs, pool["name"]), HCLOUD)), check


def _registrations(objs: Objs, pool: str) -> list[dict]:
    owners = pool_deployments(references(objs), pool)
    return [s["template"]["spec"]["joinConfiguration"]["nodeRegistration"] for s in _referenced(objs, owners, KUBEADM)]


def label(data: dict, i: int) -> Expectation:
    pool = _pool(data, i)
    labels = pool.setdefault("labels", {})
    new = labels["tier"] = _other(["a", "b"], labels.get("tier"))

    def check(objs: Objs) -> None:  # kubeadm v1beta2: kubeletExtraArgs [{name: node-labels, value}]
        for registration in _registrations(objs, pool["name"]):
            (value,) = [a["value"] for a in registration["kubeletExtraArgs"] if a["name"] == "node-labels"]
            assert f"tier={new}" in value.split(",")

    return (lambda refs: keys(refs, pool_deployments(refs, pool["name"]), KUBEADM)), check


def taint(data: dict, i: int) -> Expectation:
    pool = _pool(data, i)
    taints = pool.setdefault("taints", [])
    if taints:
        taints[0]["effect"] = _other(["NoSchedule", "PreferNoSchedule", "NoExecute"], taints[0]["effect"])
    else:
        taints.append({"key": "batch", "effect": "NoSchedule"})
    wanted = {(t["key"], t.get("value"), t["effect"]) for t in taints}

    def check(objs: Objs) -> None:  # kubeadm: nodeRegistration.taints
        for registration in _registrations(objs, pool["name"]):
            assert {(t["key"], t.get("value"), t["effect"]) for t in registration["taints"]} == wanted

    return (lambda refs: keys(refs, pool_deployments(refs, pool["name"]), KUBEADM)), check


def version(data: dict, i: int) -> Expectation:
    cluster = data["clusters"][0]
    major, minor, patch = cluster["kubernetesVersion"].lstrip("v").split(".")
    new = f"{major}.{minor}.{int(patch) + 1}"
    cluster["kubernetesVersion"] = f"v{new}"

    def check(objs: Objs) -> None:  # stock images install the kubelet in preKubeadmCommands (CAPH #591)
        for spec in _referenced(objs, {o["metadata"]["name"] for o in objs if o["kind"] == "MachineDeployment"}, KUBEADM):
            assert any(f"kubelet={new}-*" in c for c in spec["template"]["spec"]["preKubeadmCommands"])

    # Machine templates hold no version; the KubeadmControlPlane rolls on its own spec.version.
    return (lambda refs: {k for k in refs if k[2] == KUBEADM}), check


FIELD_CHANGES = [image, server_type, control_plane_type, placement, label, taint, version]


@SETTINGS
@given(platforms(), st.sampled_from(FIELD_CHANGES), st.integers(0, 2))
def test_changing_a_template_field_renames_exactly_the_templates_that_hold_it(data, mutation, index):
    before = references(render(data))
    after_data = copy.deepcopy(data)
    must_change, check = mutation(after_data, index)
    after_objs = render(after_data)
    after = references(after_objs)
    # References that exist on both sides (a placement change can merge or split node groups).
    expected = must_change(before) & after.keys()
    assert expected and changed(before, after) == expected
    check(after_objs)


# --------------------------------------------------------------------------- nothing else renames a template


def pool_size(data: dict, i: int) -> None:
    pool = _pool(data, i)
    pool["min"], pool["max"] = pool["max"] // 2, pool["max"] + 7


def other_pool_added(data: dict, i: int) -> None:
    taken = {p["name"] for p in data["clusters"][0]["pools"]}
    data["clusters"][0]["pools"].insert(0, {"name": next(n for n in [*POOL_NAMES, "extra"] if n not in taken), "serverType": "cpx22", "max": 2})


def other_pool_removed(data: dict, i: int) -> None:
    pools_ = data["clusters"][0]["pools"]
    if len(pools_) > 1:
        del pools_[i % len(pools_)]


def pools_reordered(data: dict, i: int) -> None:
    data["clusters"][0]["pools"].reverse()


def control_plane_replicas(data: dict, i: int) -> None:
    cp = data["clusters"][0]["controlPlane"]
    cp["replicas"] = {1: 3, 3: 5, 5: 1}[cp["replicas"]]


def node_role_label(data: dict, i: int) -> None:
    # node-role.kubernetes.io/* reaches the Node through the Machine's labels, which CAPI
    # propagates in place from the MachineDeployment's template metadata: no new template.
    _pool(data, i).setdefault("labels", {})["node-role.kubernetes.io/web"] = ""


def another_cluster(data: dict, i: int) -> None:
    data["clusters"].append({"name": "other", "kubernetesVersion": "v1.34.1", "pools": [{"name": "web", "serverType": "cx23", "max": 3, "labels": {"tier": "z"}}]})


def key_order(data: dict, i: int) -> None:
    def reverse(value: Any) -> Any:  # every mapping's keys in reverse order; lists keep theirs
        if isinstance(value, dict):
            return {k: reverse(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [reverse(v) for v in value]
        return value

    reversed_data = reverse(data)
    data.clear()
    data.update(reversed_data)


NEUTRAL_CHANGES = [pool_size, other_pool_added, other_pool_removed, pools_reordered, control_plane_replicas, node_role_label, another_cluster, key_order]


@SETTINGS
@given(platforms(), st.sampled_from(NEUTRAL_CHANGES), st.integers(0, 2))
def test_nothing_else_renames_a_template(data, mutation, index):
    before = references(render(data))
    after_data = copy.deepcopy(data)
    mutation(after_data, index)
    after = references(render(after_data))
    assert changed(before, after) == set()
    assert before.keys() & after.keys()  # the comparison is not vacuous


@SETTINGS
@given(platforms(), st.booleans(), st.integers(1, 4))
def test_reformatting_the_yaml_renames_nothing(data, flow, indent):
    plain = yaml.safe_dump(data, sort_keys=False)
    other = "# reformatted\n" + yaml.safe_dump(data, sort_keys=True, default_flow_style=flow, indent=indent + 1, width=60)
    first, second = spec_mod.loads(plain), spec_mod.loads(other)
    assert references(render_cluster(first, first.cluster("shop"))) == references(render_cluster(second, second.cluster("shop")))


# --------------------------------------------------------------------------- SSH keys and taint order


# CAPH v1.1.8 (pkg/services/hcloud/server/server.go getSSHKeys) takes the HCloudMachine's sshKeys and falls
# back to the HetznerCluster's only when they are empty, at server creation: keys must be in the template
# for a rotation to reach the running machines.
def test_changing_ssh_keys_renames_the_machine_templates():
    data = {
        "hetzner": {"sshKeys": ["ops", "alice"]},
        "clusters": [{"name": "shop", "kubernetesVersion": "v1.33.4", "pools": [{"name": "web", "serverType": "cpx22", "max": 3}]}],
    }
    rotated = copy.deepcopy(data)
    rotated["hetzner"]["sshKeys"] = ["ops", "bob"]
    before, after = references(render(data)), references(render(rotated))
    assert changed(before, after) == {k for k in before if k[2] == HCLOUD}


def _shop(**pool: Any) -> dict:
    """One cluster with one pool `web`, plus `pool`'s fields."""
    web = {"name": "web", "serverType": "cpx22", "max": 3, **pool}
    return {"hetzner": {"sshKeys": ["ops"]}, "clusters": [{"name": "shop", "kubernetesVersion": "v1.33.4", "pools": [web]}]}


def test_reordering_taints_renames_nothing():
    taints = [{"key": "a", "effect": "NoSchedule"}, {"key": "b", "effect": "NoExecute"}]
    data, reordered = _shop(taints=taints), _shop(taints=taints[::-1])
    assert changed(references(render(data)), references(render(reordered))) == set()


def test_reordering_labels_renames_nothing():
    data, reordered = _shop(labels={"tier": "web", "example.com/team": "shop"}), _shop(labels={"example.com/team": "shop", "tier": "web"})
    assert changed(references(render(data)), references(render(reordered))) == set()


# --------------------------------------------------------------------------- names across releases


# The example as it was before it carried the platform (v1.33.4, no platform:
# section): clusters made from it run machines with these names.
_EXAMPLE_V1_33_4_NAMES = {
    "prod-control-plane-b5cf47e4",
    "prod-general-38885abe",
    "prod-general-9f1ed191",
    "prod-general-2-35b88d67",
    "prod-arm-ec072b15",
    "prod-arm-7f5d2823",
    "prod-arm-2-102fafe9",
    "prod-arm-3-5fdd08b0",
}
# The example today (v1.34.11 with a platform: section). Only the
# KubeadmConfigTemplates differ from above: they carry the Kubernetes version
# in the node install commands; the platform is its own stack and renames nothing.
_EXAMPLE_NAMES = {
    "prod-control-plane-b5cf47e4",
    "prod-general-ab10683f",
    "prod-general-9f1ed191",
    "prod-general-2-35b88d67",
    "prod-arm-99fe7e73",
    "prod-arm-7f5d2823",
    "prod-arm-2-102fafe9",
    "prod-arm-3-5fdd08b0",
}


def _example_at_v1_33_4() -> dict:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["clusters"][0]["kubernetesVersion"] = "v1.33.4"
    del data["clusters"][0]["platform"]
    return data


@pytest.mark.parametrize(
    "load, expected",
    [
        (lambda: spec_mod.load(EXAMPLE), _EXAMPLE_NAMES),
        (lambda: spec_mod.parse(_example_at_v1_33_4()), _EXAMPLE_V1_33_4_NAMES),
    ],
    ids=["example", "example at v1.33.4"],
)
def test_template_names_of_the_example_stay_the_same_across_releases(load, expected):
    # A new clusterctl-py that named the same content differently would roll
    # every machine of every cluster on the next `up`. Update these lists only
    # with a change that means to roll machines, and say so in the release notes.
    spec = load()
    names = {o["metadata"]["name"] for o in render_cluster(spec, spec.cluster("prod")) if o["kind"] in (HCLOUD, KUBEADM)}
    assert names == expected
