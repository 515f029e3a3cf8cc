"""Every rendered object validates against the pinned upstream CRDs (strict: unknown fields fail)."""

from __future__ import annotations

import copy

import pytest

from clusterctl_py import spec as spec_mod
from clusterctl_py.render import render_cluster
from tests.conftest import platform_data
from tests.support.crds import PINNED, CrdCatalog, require_reference


@pytest.fixture(scope="module")
def catalog() -> CrdCatalog:
    return CrdCatalog.load(require_reference(*PINNED), PINNED)


def _cluster(name, version="v1.33.4", location=None, cp=(3, "cpx22"), pools=()):
    c = {"name": name, "kubernetesVersion": version, "controlPlane": {"replicas": cp[0], "serverType": cp[1]}, "pools": list(pools)}
    if location:
        c["location"] = location
    return c


CONFIGS = {
    "example": platform_data(),
    "minimal": platform_data(clusters=[_cluster("dev", cp=(1, "cx23"), pools=[{"name": "w", "serverType": "cx23", "max": 2}])]),
    "large": platform_data(
        clusters=[
            _cluster(
                "big",
                version="v1.36.0",
                cp=(5, "ccx23"),
                pools=[
                    {
                        "name": "web",
                        "serverType": "cpx42",
                        "min": 2,
                        "max": 12,
                        "labels": {"role": "web", "example.com/team": "shop", "node-role.kubernetes.io/web": ""},
                    },
                    {"name": "arm", "serverType": "cax31", "max": 20, "taints": [{"key": "arch", "value": "arm", "effect": "NoSchedule"}]},
                    {"name": "batch", "serverType": "cx53", "max": 40, "placement": "none", "taints": [{"key": "batch", "effect": "NoExecute"}]},
                    {"name": "db", "serverType": "ccx33", "min": 3, "max": 3},
                    {"name": "gpu-less", "serverType": "cpx62", "max": 5},
                ],
            )
        ]
    ),
    "us-east": platform_data(
        hetzner={"location": "ash", "sshKeys": ["ops", "ci"], "loadBalancerType": "lb21"},
        clusters=[_cluster("east", pools=[{"name": "general", "serverType": "cpx32", "min": 1, "max": 6}])],
    ),
    # A cluster in another network zone than hetzner.location, several keys, a larger load balancer.
    "zone-apart": platform_data(
        hetzner={"location": "fsn1", "sshKeys": ["ops", "ci", "break-glass"], "loadBalancerType": "lb31"},
        clusters=[_cluster("west", location="hil", pools=[{"name": "general", "serverType": "ccx23", "max": 3}])],
    ),
    **{
        f"k8s-{minor}": platform_data(
            clusters=[_cluster(f"v{minor}", version=f"v1.{minor}.1", pools=[{"name": "w", "serverType": "cpx22", "max": 3}])]
        )
        for minor in range(32, 37)
    },
}


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_rendered_objects_validate_against_upstream_crds(catalog, config):
    spec = spec_mod.parse(CONFIGS[config])
    for cluster in spec.clusters:
        objs = render_cluster(spec, cluster)
        assert {"Cluster", "HetznerCluster", "KubeadmControlPlane", "MachineDeployment", "HelmChartProxy"} <= {o["kind"] for o in objs}
        catalog.assert_valid(objs)
        # Served but deprecated versions would warn on every apply and vanish in a later release.
        assert not [o["kind"] for o in objs if (o["apiVersion"], o["kind"]) in catalog.deprecated]


def test_configs_cover_what_users_combine():
    # The large config really exercises arm, taints, labels, placement none and max 40.
    big = spec_mod.parse(CONFIGS["large"]).clusters[0]
    assert len(big.pools) == 5 and max(p.max for p in big.pools) == 40
    assert any(p.server_type.startswith("cax") for p in big.pools) and any(p.placement == "none" for p in big.pools)
    assert any(p.taints for p in big.pools) and any(p.labels for p in big.pools)
    assert spec_mod.parse(CONFIGS["us-east"]).location_of(spec_mod.parse(CONFIGS["us-east"]).clusters[0]) == "ash"


@pytest.mark.parametrize(
    "kind, mutate, field",
    [
        ("HCloudMachineTemplate", lambda o: o["spec"]["template"]["spec"].update(image=o["spec"]["template"]["spec"].pop("imageName")), "spec.template.spec.image"),
        ("MachineDeployment", lambda o: o["spec"].update(cluster=o["spec"].pop("clusterName")), "spec.cluster"),
        ("KubeadmControlPlane", lambda o: o["spec"]["kubeadmConfigSpec"].update(preKubeadmCommand=[]), "spec.kubeadmConfigSpec.preKubeadmCommand"),
        ("HetznerCluster", lambda o: o["spec"]["hcloudNetwork"].update(cidr="10.0.0.0/16"), "spec.hcloudNetwork.cidr"),
        # v1beta1's map form of extraArgs is not v1beta2's list of {name, value}.
        (
            "KubeadmControlPlane",
            lambda o: o["spec"]["kubeadmConfigSpec"]["clusterConfiguration"]["controllerManager"].update(extraArgs={"cloud-provider": "external"}),
            "spec.kubeadmConfigSpec.clusterConfiguration.controllerManager.extraArgs",
        ),
        ("MachineDeployment", lambda o: o["spec"].update(replicas="3"), "spec.replicas"),
    ],
)
def test_a_wrong_field_name_would_fail_conformance(catalog, kind, mutate, field):
    spec = spec_mod.parse(platform_data())
    obj = copy.deepcopy(next(o for o in render_cluster(spec, spec.cluster("prod")) if o["kind"] == kind))
    assert catalog.validate(obj) == []
    mutate(obj)
    problems = catalog.validate(obj)
    assert any(field in p for p in problems), problems


def test_caph_objects_must_use_the_served_version(catalog):
    spec = spec_mod.parse(platform_data())
    obj = copy.deepcopy(next(o for o in render_cluster(spec, spec.cluster("prod")) if o["kind"] == "HetznerCluster"))
    obj["apiVersion"] = "infrastructure.cluster.x-k8s.io/v1beta2"
    assert any("not served" in p for p in catalog.validate(obj))
