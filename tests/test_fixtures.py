"""Platforms that take the code paths a default platform never takes.

The example platform has one SSH key, the default load balancer, and clusters
in the zone of `hetzner.location`: a renderer that read the wrong setting
would pass every test written against it. Each fixture here differs where
the code branches, and the assertions name the fields CAPH and the Hetzner
charts read (spelled as upstream spells them).
"""

from __future__ import annotations

import pytest
import yaml

from clusterctl_py import spec as spec_mod
from clusterctl_py.errors import SpecError
from clusterctl_py.render import render_cluster

# hetzner.location is in eu-central; the cluster runs in Ashburn (us-east).
APART = {
    "hetzner": {"location": "fsn1", "sshKeys": ["ops", "ci", "break-glass"], "loadBalancerType": "lb21"},
    "clusters": [
        {
            "name": "east",
            "kubernetesVersion": "v1.34.2",
            "location": "ash",
            "controlPlane": {"replicas": 3, "serverType": "cpx22"},
            "pools": [{"name": "web", "serverType": "cpx32", "min": 1, "max": 4}],
        },
        {"name": "home", "kubernetesVersion": "v1.34.2", "pools": [{"name": "web", "serverType": "cax21", "max": 2}]},
    ],
}


@pytest.fixture(scope="module")
def platform() -> spec_mod.PlatformSpec:
    return spec_mod.parse(APART)


def objects(platform: spec_mod.PlatformSpec, name: str) -> list[dict]:
    return render_cluster(platform, platform.cluster(name))


def one(objs: list[dict], kind: str) -> dict:
    (obj,) = [o for o in objs if o["kind"] == kind]
    return obj


def test_hetzner_cluster_lives_in_the_cluster_location_and_its_zone(platform):
    spec = one(objects(platform, "east"), "HetznerCluster")["spec"]
    assert spec["controlPlaneRegions"] == ["ash"]
    assert spec["hcloudNetwork"]["networkZone"] == "us-east"  # not hetzner.location's eu-central
    assert spec["controlPlaneLoadBalancer"]["region"] == "ash"


def test_a_cluster_without_a_location_uses_hetzner_location(platform):
    spec = one(objects(platform, "home"), "HetznerCluster")["spec"]
    assert spec["controlPlaneRegions"] == ["fsn1"]
    assert spec["hcloudNetwork"]["networkZone"] == "eu-central"
    assert spec["controlPlaneLoadBalancer"]["region"] == "fsn1"


def test_every_ssh_key_in_order(platform):
    for name in ("east", "home"):
        spec = one(objects(platform, name), "HetznerCluster")["spec"]
        assert spec["sshKeys"] == {"hcloud": [{"name": "ops"}, {"name": "ci"}, {"name": "break-glass"}]}


def test_the_configured_load_balancer_type(platform):
    for name in ("east", "home"):
        balancer = one(objects(platform, name), "HetznerCluster")["spec"]["controlPlaneLoadBalancer"]
        assert balancer["type"] == "lb21" and balancer["enabled"] is True


def test_machines_autoscaler_and_addons_follow_the_cluster_location(platform):
    objs = objects(platform, "east")
    md = one(objs, "MachineDeployment")
    assert md["spec"]["template"]["spec"]["failureDomain"] == "ash"
    capacity = md["metadata"]["annotations"]["capacity.cluster-autoscaler.kubernetes.io/labels"].split(",")
    assert "topology.kubernetes.io/region=ash" in capacity
    charts = {p["spec"]["chartName"]: yaml.safe_load(p["spec"]["valuesTemplate"]) for p in objs if p["kind"] == "HelmChartProxy"}
    # The CCM creates no load balancer without a location; CSI volumes must be where the servers are.
    assert charts["hcloud-cloud-controller-manager"]["env"]["HCLOUD_LOAD_BALANCERS_LOCATION"] == {"value": "ash"}
    assert charts["hcloud-csi"]["controller"]["hcloudVolumeDefaultLocation"] == "ash"


def test_a_type_not_sold_in_the_cluster_location_is_refused():
    # cax (arm) types are sold in the EU only: fine at home (fsn1), refused in Ashburn.
    data = {**APART, "clusters": [{**APART["clusters"][0], "pools": [{"name": "arm", "serverType": "cax21", "max": 2}]}]}
    with pytest.raises(SpecError) as info:
        spec_mod.parse(data)
    (problem,) = info.value.problems
    assert problem.path == "clusters[0].pools[0].serverType"
    assert problem.message.startswith("server type 'cax21' is not offered in ash")
