"""What preflight checks is what `up` creates: the provider's footprint against the rendering and the management stack.

CAPH's names are spelled out as CAPH makes them (syself/cluster-api-provider-hetzner
v1.1.8: the network is named after the HetznerCluster, pkg/services/hcloud/network/network.go;
placement groups `<HetznerCluster>-<group>`, pkg/services/hcloud/placementgroup/placementgroup.go;
the label `caph-cluster-<HetznerCluster>: owned`, api/v1beta1/tags.go).
"""

from __future__ import annotations

import pytest
import yaml

from clusterctl_py import spec as spec_mod
from clusterctl_py.errors import SpecError
from tests.conftest import platform, platform_data
from tests.support import pulumi_mocks as pm
from tests.test_stack_management import outputs_for


def test_caph_objects_of_the_example():
    spec = platform()
    fp = spec.provider.footprint(spec, "prod")
    assert [(o.kind, o.name, o.path, dict(o.owner)) for o in fp.objects] == [
        ("network", "prod", "clusters[0].name", {"caph-cluster-prod": "owned"}),
        ("placement_group", "prod-control-plane", "clusters[0].name", {"caph-cluster-prod": "owned"}),
        ("placement_group", "prod-general", "clusters[0].pools[0].name", {"caph-cluster-prod": "owned"}),
        ("placement_group", "prod-general-2", "clusters[0].pools[0].name", {"caph-cluster-prod": "owned"}),
        ("placement_group", "prod-arm", "clusters[0].pools[1].name", {"caph-cluster-prod": "owned"}),
        ("placement_group", "prod-arm-2", "clusters[0].pools[1].name", {"caph-cluster-prod": "owned"}),
        ("placement_group", "prod-arm-3", "clusters[0].pools[1].name", {"caph-cluster-prod": "owned"}),
        # The platform's ingress: the Hetzner CCM labels its load balancer with the Service's uid only.
        ("load_balancer", "prod-ingress", "clusters[0].platform", {"hcloud-ccm/service-uid": None}),
    ]
    ingress = fp.objects[-1]
    assert (ingress.creator, ingress.attached_to, ingress.adopts) == ("the Hetzner CCM", "prod", True)


def test_the_ingress_load_balancer_is_named_as_the_platform_asks_the_ccm():
    from clusterctl_py.render.platform import knative_serving

    spec = platform()
    cluster = spec.clusters[0]
    service = knative_serving(spec, cluster)["spec"]["services"][0]
    planned = [o.name for o in spec.provider.footprint(spec, cluster.name).objects if o.kind == "load_balancer"]
    assert planned == [service["annotations"]["load-balancer.hetzner.cloud/name"]]
    bare = platform(clusters=[{k: v for k, v in platform_data()["clusters"][0].items() if k != "platform"}])
    assert not [o for o in bare.provider.footprint(bare, cluster.name).objects if o.kind == "load_balancer"]


def test_caph_objects_follow_the_rendered_hetzner_cluster():
    data = platform_data()
    data["clusters"][0]["pools"][0]["placement"] = "none"
    spec = platform(clusters=data["clusters"])
    cluster = spec.clusters[0]
    manifest = spec.provider.infra_cluster(spec, cluster)
    name = manifest["metadata"]["name"]
    expected = {("network", name)} | {("placement_group", f"{name}-{g['name']}") for g in manifest["spec"]["hcloudPlacementGroups"]}
    fp = spec.provider.footprint(spec, cluster.name)
    assert {(o.kind, o.name) for o in fp.objects if o.creator == "CAPH"} == expected
    assert not any("general" in o.name for o in fp.objects)  # a pool without placement groups plans none


def test_machines_count_the_rollout_surge():
    spec = platform()
    fp = spec.provider.footprint(spec)
    assert [(m.path, m.machine_type, m.location, m.max_count, m.image_label) for m in fp.machines] == [
        ("management.serverType", "cpx32", "fsn1", 1, None),
        # 3 replicas + 1 surging; a pool gets one surge machine per node group (CAPI maxSurge defaults to 1).
        ("clusters[0].controlPlane.serverType", "cpx22", "nbg1", 4, "caph-image-name"),
        ("clusters[0].pools[0].serverType", "cpx32", "nbg1", 12, "caph-image-name"),
        ("clusters[0].pools[1].serverType", "cax21", "nbg1", 23, "caph-image-name"),
    ]


def test_management_objects_are_what_the_management_stack_creates(tmp_path):
    platform_file = tmp_path / "platform.yaml"
    data = platform_data()
    data["management"]["servers"] = 3
    platform_file.write_text(yaml.safe_dump(data))
    pm.set_config({"clusterctl:platformFile": str(platform_file), "hcloud:token": "h" * 64}, secret_keys=["hcloud:token"])
    mocks = pm.RecordingMocks(outputs_for=outputs_for)
    pm.run_recorded("management", mocks, preview=True)
    kinds = {
        "hcloud:index/network:Network": "network",
        "hcloud:index/firewall:Firewall": "firewall",
        "hcloud:index/placementGroup:PlacementGroup": "placement_group",
        "hcloud:index/primaryIp:PrimaryIp": "primary_ip",
        "hcloud:index/server:Server": "server",
    }
    created = [(kinds[r.type], r.inputs["name"], r.inputs["labels"]) for r in mocks.resources if r.type in kinds]
    spec = platform(management=data["management"])
    planned = [o for o in spec.provider.footprint(spec).objects if o.creator == "the management stack"]
    assert sorted((k, n) for k, n, _ in created) == sorted((o.kind, o.name) for o in planned)
    assert ("server", "mgmt-2") in {(o.kind, o.name) for o in planned}
    for kind, name, labels in created:
        assert labels["clusterctl-py.dev/management"] == "mgmt", (kind, name)
    assert {dict(o.owner)["clusterctl-py.dev/management"] for o in planned} == {"mgmt"}


def test_validate_refuses_a_network_name_the_management_stack_and_caph_would_both_take():
    # Before: accepted, and CAPH's create of network 'prod' failed (uniqueness_error) after the management cluster was up.
    data = platform_data()
    data["management"]["name"] = "prod"
    with pytest.raises(SpecError) as caught:
        spec_mod.parse(data)
    assert [str(p) for p in caught.value.problems] == [
        "clusters[0].name: network 'prod' would be created twice, by the management stack for management.name and by"
        " CAPH for clusters[0].name; Hetzner names are unique in a project, so rename one"
    ]


def test_validate_refuses_placement_group_names_two_clusters_would_both_take():
    # CAPH names placement groups <cluster>-<group>: cluster a's pool b-c and cluster a-b's pool c are both 'a-b-c'.
    data = platform_data()
    template = data["clusters"][0]
    data["clusters"] = [
        {**template, "name": "a", "pools": [{"name": "b-c", "serverType": "cpx32", "min": 1, "max": 3}]},
        {**template, "name": "a-b", "pools": [{"name": "c", "serverType": "cpx32", "min": 1, "max": 3}]},
    ]
    with pytest.raises(SpecError) as caught:
        spec_mod.parse(data)
    assert [str(p) for p in caught.value.problems] == [
        "clusters[1].pools[0].name: placement group 'a-b-c' would be created twice, by CAPH for clusters[0].pools[0].name"
        " and by CAPH for clusters[1].pools[0].name; Hetzner names are unique in a project, so rename one"
    ]
