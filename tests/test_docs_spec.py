"""The documentation as a test fixture: the README's spec tables and docs/spec.md.

Every key the README documents must be accepted with a valid value, and every
key the spec accepts must be documented, so the two cannot drift apart.
"""

from __future__ import annotations

import copy
import re
import typing

import pytest
from pydantic import BaseModel

from clusterctl_py import spec as spec_mod
from clusterctl_py.render.cluster import render_cluster
from tests.conftest import REPO, platform_data

README = (REPO / "README.md").read_text()
SPEC_DOC = (REPO / "docs" / "spec.md").read_text()

# README section -> the model its table documents.
SECTIONS: dict[str, type[BaseModel]] = {
    "hetzner": spec_mod.HetznerSettings,
    "management": spec_mod.ManagementSpec,
    "clusters[]": spec_mod.ClusterSpec,
    "clusters[].pools[]": spec_mod.PoolSpec,
    "clusters[].platform": spec_mod.PlatformSettings,
}

# A valid value for every documented key (a row may document several keys at once).
VALID: dict[str, dict[str, object]] = {
    "hetzner": {
        "location": "hel1",
        "networkZone": "eu-central",
        "sshKeys": ["ops", "ci"],
        "image": "ubuntu-22.04",
        "loadBalancerType": "lb21",
        "networkCidr": "10.8.0.0/16",
        "subnetCidr": "10.8.1.0/24",
    },
    "management": {
        "name": "hub",
        "servers": 3,
        "serverType": "cpx42",
        "location": "hel1",
        "k3sVersion": "v1.34.1+k3s1",
        "apiPort": 16443,
        "apiAllowedCidrs": ["198.51.100.7/32"],
        "sshAllowedCidrs": ["198.51.100.7/32"],
    },
    "clusters[]": {
        "name": "edge",
        "kubernetesVersion": "v1.34.2",
        "location": "fsn1",
        "namespace": "team-edge",
        "controlPlane.replicas": 5,
        "controlPlane.serverType": "cpx32",
        "podCidr": "172.20.0.0/16",
        "serviceCidr": "172.21.0.0/16",
        "pools": [{"name": "web", "serverType": "cpx22", "max": 3}],
        "platform": {"domain": "apps.example.org"},
    },
    "clusters[].pools[]": {
        "name": "batch",
        "serverType": "cax31",
        "min": 2,
        "max": 30,
        "labels": {"node.kubernetes.io/disk": "ssd", "team": "data"},
        "taints": [{"key": "dedicated", "value": "batch", "effect": "NoExecute"}],
        "placement": "none",
    },
    "clusters[].platform": {
        "domain": "apps.example.net",
        "email": "ops@example.net",
        "tls": "production",
        "challenge": "dns01",
        "scaleToZero": False,
        "ingress": "kourier",
        "gitops": {"url": "https://git.example.net/ops/apps.git", "branch": "live", "path": "./clusters/edge"},
        "postgres": True,
        "metricsServer": True,
    },
}


def _tables(text: str) -> dict[str, list[tuple[list[str], str]]]:
    """Section title -> rows as (backticked keys of the first column, whole row)."""
    tables: dict[str, list[tuple[list[str], str]]] = {}
    section = None
    for line in text.splitlines():
        heading = re.match(r"^### `([^`]+)`\s*$", line)
        if heading:
            section = heading[1]
            tables[section] = []
        elif section is not None and line.startswith("| `"):
            first = line.split("|")[1]
            tables[section].append((re.findall(r"`([^`]+)`", first), line))
        elif section is not None and line.startswith("## "):
            section = None
    return tables


TABLES = _tables(README)


def _set(target: dict, dotted: str, value: object) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = copy.deepcopy(value)


def _get(target: dict, dotted: str) -> object:
    for part in dotted.split("."):
        target = target[part]
    return target


def _where(data: dict, section: str) -> dict:
    return {
        "hetzner": lambda: data["hetzner"],
        "management": lambda: data["management"],
        "clusters[]": lambda: data["clusters"][0],
        "clusters[].pools[]": lambda: data["clusters"][0]["pools"][0],
        "clusters[].platform": lambda: _platform_of(data["clusters"][0]),
    }[section]()


def _parsed(spec: spec_mod.PlatformSpec, section: str) -> BaseModel:
    return {
        "hetzner": lambda: spec.hetzner,
        "management": lambda: spec.management,
        "clusters[]": lambda: spec.clusters[0],
        "clusters[].pools[]": lambda: spec.clusters[0].pools[0],
        "clusters[].platform": lambda: spec.clusters[0].platform,
    }[section]()


def _platform_of(cluster: dict) -> dict:
    """The cluster's platform section, with what every key may need: Kubernetes
    v1.34 or newer (Knative Serving v1.23) and a domain (production TLS, dns01)."""
    cluster["kubernetesVersion"] = "v1.34.2"
    return cluster.setdefault("platform", {"domain": "apps.example.com"})


def test_every_spec_section_has_a_table():
    assert set(TABLES) == set(SECTIONS)
    top = {f.alias or n for n, f in spec_mod.PlatformSpec.model_fields.items()}
    assert {s.split("[")[0] for s in SECTIONS} == top
    assert all(TABLES[s] for s in SECTIONS)


ROWS = [(section, keys) for section in SECTIONS for keys, _ in TABLES.get(section, [])]


@pytest.mark.parametrize("section, keys", ROWS, ids=[f"{s}:{'/'.join(k)}" for s, k in ROWS])
def test_every_documented_key_is_accepted(section, keys):
    missing = [k for k in keys if k not in VALID[section]]
    assert not missing, f"README documents {missing} in {section}: add a valid value to VALID"
    data = platform_data()
    if section == "clusters[]" and "platform" in keys:
        _platform_of(data["clusters"][0])
    for key in keys:
        _set(_where(data, section), key, VALID[section][key])
    parsed = _parsed(spec_mod.parse(data), section).model_dump(by_alias=True)
    for key in keys:
        assert _trim(_get(parsed, key), VALID[section][key]) == VALID[section][key], key


def _trim(got: object, like: object) -> object:
    """`got` cut down to the keys of `like` (a dump also holds the defaults)."""
    if isinstance(like, dict) and isinstance(got, dict):
        return {k: _trim(got.get(k), v) for k, v in like.items()}
    if isinstance(like, list) and isinstance(got, list) and len(like) == len(got):
        return [_trim(g, v) for g, v in zip(got, like)]
    return got


def _accepted_keys(model: type[BaseModel], prefix: str = "") -> dict[str, object]:
    """Every key the model accepts (dotted for nested models) -> its annotation."""
    keys: dict[str, object] = {}
    for name, f in model.model_fields.items():
        key = prefix + (f.alias or name)
        if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel):
            keys.update(_accepted_keys(f.annotation, key + "."))
        else:
            keys[key] = f.annotation
    return keys


@pytest.mark.parametrize("section", SECTIONS)
def test_every_accepted_key_is_documented(section):
    documented = {k for keys, _ in TABLES[section] for k in keys}
    accepted = _accepted_keys(SECTIONS[section])
    assert set(accepted) - documented == set(), f"keys the spec accepts but README's {section} table omits"
    # Lists of models without a table of their own (taints) name their keys in their row.
    for key, annotation in accepted.items():
        if typing.get_origin(annotation) is list:
            (item,) = typing.get_args(annotation)
            if isinstance(item, type) and issubclass(item, BaseModel) and f"{section}.{key}[]" not in SECTIONS:
                row = next(line for keys, line in TABLES[section] if key in keys)
                for sub in _accepted_keys(item):
                    assert re.search(rf"\b{sub}\b", row), f"{section}.{key}: '{sub}' is not described"


# --- docs/spec.md: what CAPH refuses to change ------------------------------------------

# Fields CAPH v1.1.8's HetznerCluster webhook refuses to change on update
# (syself/cluster-api-provider-hetzner api/v1beta1/hetznercluster_webhook.go,
# ValidateUpdate): the whole spec.hcloudNetwork, the load balancer's enabled,
# port and region, and controlPlaneRegions across network zones.
CAPH_IMMUTABLE = [
    "spec.hcloudNetwork",
    "spec.controlPlaneLoadBalancer.enabled",
    "spec.controlPlaneLoadBalancer.port",
    "spec.controlPlaneLoadBalancer.region",
    "spec.controlPlaneRegions",
]
CAPH_MESSAGES = ["field is immutable", "regions are not in one network zone"]


def _leaves(value: object, path: str) -> list[str]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{path}.{k}")]
    return [path]


def _hetzner_cluster(data: dict) -> dict:
    spec = spec_mod.parse(data)
    return next(o for o in render_cluster(spec, spec.clusters[0]) if o["kind"] == "HetznerCluster")


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


IMMUTABLE_DOC = _section(SPEC_DOC, "What cannot change after creation")


def test_every_immutable_field_we_render_is_documented():
    rendered = {"spec": _hetzner_cluster(platform_data())["spec"]}
    named = []
    for field in CAPH_IMMUTABLE:
        try:
            value = _get(rendered, field)
        except KeyError:
            # Not rendered (CAPH's default applies); still say so.
            value = None
        for leaf in _leaves(value, field):
            assert f"`{leaf}`" in IMMUTABLE_DOC, f"{leaf} is immutable in CAPH and not in docs/spec.md"
            named.append(leaf)
    assert "spec.hcloudNetwork.cidrBlock" in named  # the walk really reached the rendered network
    for message in CAPH_MESSAGES:
        assert f"`{message}`" in IMMUTABLE_DOC


# The spec key each documented row names really decides the rendered field.
CHANGES = {
    "hetzner.networkCidr": (
        lambda d: d["hetzner"].update(networkCidr="10.8.0.0/16", subnetCidr="10.8.0.0/24"),
        "spec.hcloudNetwork.cidrBlock",
    ),
    "hetzner.subnetCidr": (lambda d: d["hetzner"].update(subnetCidr="10.0.1.0/24"), "spec.hcloudNetwork.subnetCidrBlock"),
    "clusters[].location": (lambda d: d["clusters"][0].update(location="fsn1"), "spec.controlPlaneLoadBalancer.region"),
    "hetzner.location": (
        lambda d: (d["clusters"][0].pop("location"), d["hetzner"].update(location="hel1")),
        "spec.controlPlaneLoadBalancer.region",
    ),
}


@pytest.mark.parametrize("key", CHANGES)
def test_documented_keys_decide_the_immutable_fields(key):
    change, field = CHANGES[key]
    row = next(line for line in IMMUTABLE_DOC.splitlines() if f"`{key}`" in line)
    base = platform_data()
    changed = platform_data()
    change(changed)
    assert f"`{field}`" in row
    # The field the row names really changes with the key.
    assert _get(_hetzner_cluster(base), field) != _get(_hetzner_cluster(changed), field)
