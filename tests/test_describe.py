"""ops/describe: the tree, its grouping, health and presentation, without any I/O.

The state is built from the same objects the emulator serves (tests/support/capi_objects.py),
parsed by the client's own parser, so these tests see what the command sees.
"""

from __future__ import annotations

import collections
import json
from datetime import datetime, timedelta

import pytest

from clusterctl_py.clients import kube
from clusterctl_py.ops import describe
from tests.support import capi_objects as fx


def state_of(objs) -> describe.ClusterState:
    by = collections.defaultdict(list)
    for obj in objs:
        if obj["kind"] not in ("Secret", "MachineHealthCheck", "HCloudMachine"):
            by[obj["kind"]].append(kube.parse(obj))
    return describe.ClusterState(
        cluster=by["Cluster"][0],
        infrastructure=(by["HetznerCluster"] or [None])[0],
        control_plane=(by["KubeadmControlPlane"] or [None])[0],
        machine_deployments=tuple(by["MachineDeployment"]),
        machine_sets=tuple(by["MachineSet"]),
        machines=tuple(by["Machine"]),
        helm_release_proxies=tuple(by["HelmReleaseProxy"]),
        autoscalers=tuple(by["Deployment"]),
    )


def labels(node: describe.Node, depth: int = 0):
    yield "  " * depth + node.label
    if node.kind != "MachineGroup":
        for child in node.children:
            yield from labels(child, depth + 1)


def test_a_healthy_cluster_groups_machines_in_the_same_state():
    tree = describe.build_tree(state_of(fx.workload_cluster("prod", pools=(fx.Pool("general", 2), fx.Pool("arm", 3)))))
    assert list(labels(tree)) == [
        "Cluster/prod",
        "  ClusterInfrastructure - HetznerCluster/prod",
        "  ControlPlane - KubeadmControlPlane/prod-control-plane",
        "    3 Machines...",
        "  Workers",
        "    MachineDeployment/prod-arm",
        "      3 Machines...",
        "    MachineDeployment/prod-general",
        "      2 Machines...",
        "  Add-ons",
        "    HelmReleaseProxy/cilium-prod-85xgz",
        "    HelmReleaseProxy/hcloud-cloud-controller-manager-prod-2lz58",
        "    HelmReleaseProxy/hcloud-csi-prod-bntp5",
        "  Autoscaler - Deployment/prod-cluster-autoscaler",
    ]
    assert describe.problems(tree) == []
    cluster = tree
    assert (cluster.replicas, cluster.available, cluster.ready, cluster.up_to_date) == ("8/8", "8", "8", "8")
    assert (cluster.condition.type, cluster.condition.status) == ("Available", "True")


def test_machines_in_different_states_are_not_grouped():
    tree = describe.build_tree(state_of(fx.workload_cluster(pools=(fx.Pool("general", 5, not_ready=1, provisioning=1),))))
    md = tree.children[2].children[0]
    rows = [(r.label, r.ready, r.condition.status, r.condition.reason) for r in md.children]
    assert rows == [("2 Machines...", "0", "False", "NotReady"), ("3 Machines...", "3", "True", "Ready")]
    not_ready = md.children[0]
    assert not_ready.message.startswith("See prod-general-") and not_ready.message.count(",") == 1
    # Machines not ready for different reasons are still one group (same status and reason, as upstream).
    assert len(not_ready.items) == 2


def test_show_machines_lists_each_with_the_node_it_became():
    tree = describe.build_tree(state_of(fx.workload_cluster(pools=(fx.Pool("general", 2, provisioning=1),))), show_machines=True)
    md = tree.children[2].children[0]
    assert [r.kind for r in md.children] == ["Machine", "Machine"]
    nodes = sorted(r.node for r in md.children)
    assert nodes[0] == "" and nodes[1].startswith("prod-general-")  # the provisioning one has no node yet
    assert all(r.version == "v1.33.4" for r in md.children)


def test_problems_name_each_object_and_why():
    tree = describe.build_tree(state_of(fx.workload_cluster(pools=(fx.Pool("general", 3, not_ready=1),))))
    found = describe.problems(tree)
    assert found[0] == "Cluster/prod: Available False (NotAvailable): * WorkersAvailable: * MachineDeployment prod-general: not available"
    assert found[1] == (
        "MachineDeployment/prod-general: Available False (NotAvailable): 2 available replicas, at least 3 required "
        "(spec.strategy.rollout.maxUnavailable is 0, spec.replicas is 3)"
    )
    assert found[2].endswith(": Ready False (NotReady): * NodeHealthy: * Node.Ready: kubelet is NOT ready")
    assert found[2].startswith("Machine/prod-general-")
    assert len(found) == 3


def test_a_control_plane_mid_upgrade_shows_both_versions():
    tree = describe.build_tree(state_of(fx.workload_cluster(cp_version="v1.32.8")))
    cp = tree.children[1]
    assert (cp.version, cp.up_to_date) == ("v1.32.8 -> v1.33.4", "0")
    group = cp.children[0]
    assert (group.version, group.up_to_date) == ("v1.32.8", "0")


def test_machines_nobody_owns_go_under_other():
    objs = fx.workload_cluster(pools=(fx.Pool("general", 2),))
    stray = next(o for o in objs if o["kind"] == "Machine" and "cluster.x-k8s.io/deployment-name" in o["metadata"]["labels"])
    stray["metadata"]["ownerReferences"] = []
    tree = describe.build_tree(state_of(objs), show_machines=True)
    workers = tree.children[2]
    assert [c.label for c in workers.children] == ["MachineDeployment/prod-general", "Other"]
    assert [m.name for m in workers.children[1].children] == [stray["metadata"]["name"]]


def test_a_missing_control_plane_object_still_places_its_machines():
    state = state_of(fx.workload_cluster(control_plane=1, pools=(fx.Pool("general", 1),)))
    tree = describe.build_tree(describe.ClusterState(**{**state.__dict__, "control_plane": None}))
    assert [c.label for c in tree.children] == [
        "ClusterInfrastructure - HetznerCluster/prod", "Workers", "Add-ons", "Autoscaler - Deployment/prod-cluster-autoscaler"
    ]
    assert [c.label for c in tree.children[1].children] == ["MachineDeployment/prod-general", "Other"]


def test_text_is_the_upstream_style_table():
    tree = describe.build_tree(state_of(fx.workload_cluster("dev", control_plane=1, pools=(fx.Pool("general", 3, not_ready=1),), addons=False)))
    assert describe.render_text(tree, fx.NOW) == (
        "NAME                                                    REPLICAS  AVAILABLE  READY  UP TO DATE  VERSION  STATUS  REASON                    SINCE  NODE                     MESSAGE\n"
        "Cluster/dev                                             4/4       3          3      4                    False   NotAvailable              5m                              * WorkersAvailable:\n"
        "│                                                                                                                                                                            * MachineDeployment dev-general: not available\n"
        "├─ClusterInfrastructure - HetznerCluster/dev                                                             True    Ready                     11d\n"
        "├─ControlPlane - KubeadmControlPlane/dev-control-plane  1/1       1          1      1           v1.33.4  True    Available                 11d\n"
        "│ └─Machine/dev-control-plane-ds4lc                     1         1          1      1           v1.33.4  True    Ready                     11d    dev-control-plane-9qgpl\n"
        "├─Workers\n"
        "│ └─MachineDeployment/dev-general                       3/3       2          2      3           v1.33.4  False   NotAvailable              7m                              2 available replicas, at least 3 required (spec.strategy.rollout.maxUnavailable is 0, spec.replicas is 3)\n"
        "│   ├─2 Machines...                                     2         2          2      2           v1.33.4  True    Ready                     11d                             See dev-general-dqcctsd24r-85wlk, dev-general-dqcctsd24r-tp9t2\n"
        "│   └─Machine/dev-general-dqcctsd24r-7cr65              1         0          0      1           v1.33.4  False   NotReady                  8m     dev-general-lxl7qnj9     * NodeHealthy:\n"
        "│                                                                                                                                                                            * Node.Ready: kubelet is NOT ready\n"
        "└─Autoscaler - Deployment/dev-cluster-autoscaler        1/1       1          1      1           v1.33.6  True    MinimumReplicasAvailable  11d                             Deployment has minimum availability.\n"
    )


def test_json_lists_every_machine_with_its_node_and_conditions():
    tree = describe.build_tree(state_of(fx.workload_cluster(pools=(fx.Pool("general", 4, not_ready=1, min_size=1, max_size=9),))))
    out = json.loads(json.dumps(describe.to_json(tree)))
    assert (out["cluster"], out["namespace"], out["healthy"]) == ("prod", "prod", False)
    assert len(out["problems"]) == 3
    workers = next(c for c in out["tree"]["children"] if c["kind"] == "WorkerGroup")
    md = workers["children"][0]
    assert md["autoscaler"] == {"min": 1, "max": 9}
    assert [m["kind"] for m in md["children"]] == ["Machine"] * 4
    sick = [m for m in md["children"] if not m["healthy"]]
    assert len(sick) == 1 and sick[0]["node"].startswith("prod-general-")
    assert sick[0]["status"]["reason"] == "NotReady"
    assert {c["type"] for c in sick[0]["conditions"]} >= {"Available", "Ready", "UpToDate", "NodeHealthy"}


@pytest.mark.parametrize(
    "seconds, shown",
    [(-5, "<invalid>"), (-1, "0s"), (0, "0s"), (119, "119s"), (120, "2m"), (150, "2m30s"), (600, "10m"), (179 * 60, "179m"),
     (3 * 3600, "3h"), (3 * 3600 + 60, "3h1m"), (8 * 3600, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"), (50 * 3600, "2d2h"),
     (8 * 86400, "8d"), (730 * 86400, "2y"), (731 * 86400, "2y1d"), (8 * 365 * 86400, "8y")],
)
def test_ages_as_kubectl_prints_them(seconds, shown):
    assert describe.human_duration(seconds) == shown


def test_group_since_is_the_earliest_ready_transition():
    objs = fx.workload_cluster(control_plane=3)
    cps = [o for o in objs if o["kind"] == "Machine" and "cluster.x-k8s.io/control-plane" in o["metadata"]["labels"]]
    earliest = min(next(c for c in m["status"]["conditions"] if c["type"] == "Ready")["lastTransitionTime"] for m in cps)
    group = describe.build_tree(state_of(objs)).children[1].children[0]
    assert group.condition.since == datetime.fromisoformat(earliest.replace("Z", "+00:00"))
    assert fx.NOW - group.condition.since > timedelta(days=11)
