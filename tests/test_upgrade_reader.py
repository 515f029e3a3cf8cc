"""What `upgrade` reads of the management cluster: the real client against the emulator, request by request."""

from __future__ import annotations

import pytest
import yaml

from clusterctl_py.clients import errors
from clusterctl_py.clients.kube import KubeClient, Kubeconfig
from clusterctl_py.ops import upgrade
from tests.conftest import platform
from tests.support import capi_objects as fx
from tests.support import suc
from tests.support.crds import PINNED, CrdCatalog, require_reference
from tests.support.kube_api import serve


def reader_for(server) -> tuple[upgrade.ApiReader, KubeClient]:
    api = KubeClient(Kubeconfig("emulator", text=yaml.safe_dump(server.kubeconfig())), sleep=lambda s: None)
    return upgrade.default_reader(platform(), api), api


def cluster_of(machines: int) -> list[dict]:
    workers = machines - 3
    return fx.workload_cluster("prod", control_plane=3, pools=(fx.Pool("general", workers - workers // 2), fx.Pool("arm", workers // 2)))


@pytest.mark.parametrize("machines", [5, 200])
def test_a_cluster_costs_three_requests_whatever_its_size(machines):
    with serve(cluster_of(machines)) as server:
        reader, api = reader_for(server)
        with api:
            state = reader.cluster("prod", "prod")
        assert len(state.machines) == machines
        requests = [(e.verb, e.plural, e.params.get("labelSelector")) for e in server.api.log]
    assert requests == [
        ("get", "kubeadmcontrolplanes", None),
        ("list", "machinedeployments", "cluster.x-k8s.io/cluster-name=prod"),
        ("list", "machines", "cluster.x-k8s.io/cluster-name=prod"),
    ]


def test_what_the_rules_read_comes_from_the_objects_as_capi_writes_them():
    objs = fx.workload_cluster(
        "prod", version="v1.34.11", cp_version="v1.33.4",
        pools=(fx.Pool("general", 2, version="v1.33.4"), fx.Pool("arm", 1, provisioning=1, version="v1.33.4")),
    )
    with serve(objs) as server:
        reader, api = reader_for(server)
        with api:
            state = reader.cluster("prod", "prod")
    cp = state.control_plane
    assert (cp.name, cp.version, cp.status_version, cp.replicas.desired) == ("prod-control-plane", "v1.34.11", "v1.33.4", 3)
    assert sorted((md.name, md.version, md.replicas.desired, md.replicas.up_to_date) for md in state.deployments) == [
        ("prod-arm", "v1.34.11", 1, 0), ("prod-general", "v1.34.11", 2, 0),
    ]
    groups = sorted((upgrade._group(m), m.kubelet_version) for m in state.machines)
    assert groups == [
        ("control-plane", "v1.33.4"), ("control-plane", "v1.33.4"), ("control-plane", "v1.33.4"),
        ("prod-arm", None), ("prod-general", "v1.33.4"), ("prod-general", "v1.33.4"),
    ]
    assert upgrade.rollout(state) == upgrade.Rollout(
        True, "the control plane is moving from v1.33.4 to v1.34.11 (0 of 3 machines on v1.34.11)"
    )


def test_a_cluster_without_its_control_plane_is_not_created_yet():
    with serve(fx.providers()) as server:
        reader, api = reader_for(server)
        with api:
            assert reader.cluster("prod", "prod") == upgrade.ClusterState("prod", None)
        assert [(e.verb, e.answer) for e in server.api.log] == [("get", 404)]


def test_the_management_cluster_costs_four_requests():
    objs = (
        fx.providers(caph="v1.1.7") + fx.cert_manager("v1.21.1")
        + [fx.k3s_server(f"mgmt-control-plane-{i}", "v1.33.4+k3s1") for i in (1, 2, 3)]
        + [fx.node("mgmt-agent-1", "v1.33.4+k3s1")]  # not a server: the k3s server Plan does not select it
        + fx.workload_cluster("prod")  # its autoscaler Deployment is in another namespace
        + [suc.plan_object("v1.33.4+k3s1")]
    )
    with serve(objs) as server:
        reader, api = reader_for(server)
        with api:
            state = reader.management()
        requests = [(e.verb, e.path, e.params.get("labelSelector")) for e in server.api.log]
    assert requests == [
        ("list", "/apis/clusterctl.cluster.x-k8s.io/v1alpha3/providers", None),
        ("list", "/apis/apps/v1/namespaces/cert-manager/deployments", None),
        ("list", "/api/v1/nodes", "node-role.kubernetes.io/control-plane=true"),
        ("get", "/apis/upgrade.cattle.io/v1/namespaces/system-upgrade/plans/k3s-server", None),
    ]
    assert sorted((p.provider_name, p.type, p.version) for p in state.providers)[2] == ("hetzner", "InfrastructureProvider", "v1.1.7")
    assert sorted((d.name, d.version) for d in state.cert_manager) == [
        ("cert-manager", "v1.21.1"), ("cert-manager-cainjector", "v1.21.1"), ("cert-manager-webhook", "v1.21.1"),
    ]
    assert sorted(n.name for n in state.k3s.servers) == ["mgmt-control-plane-1", "mgmt-control-plane-2", "mgmt-control-plane-3"]
    assert (state.k3s.plan.version, state.k3s.plan.latest_version) == ("v1.33.4+k3s1", "v1.33.4-k3s1")


def test_without_system_upgrade_controller_there_is_no_plan_to_read():
    with serve([fx.k3s_server("mgmt-control-plane-1", "v1.33.4+k3s1")]) as server:
        reader, api = reader_for(server)
        with api:
            assert reader.k3s().plan is None


def test_the_management_objects_are_valid_for_their_schemas():
    catalog = CrdCatalog.load(suc.CRDS, [suc.PLAN_CRD_DIR])
    catalog.assert_valid(
        [suc.plan_object("v1.34.1+k3s1", state=s, applying=("mgmt-control-plane-2",), failed_node="mgmt-control-plane-2")
         for s in ("resolved", "applying", "failed", "complete")]
    )
    pinned = CrdCatalog.load(require_reference(*PINNED), PINNED)
    pinned.assert_valid({**d, "metadata": {k: v for k, v in d["metadata"].items() if k not in ("creationTimestamp", "generation")}}
                        for d in fx.cert_manager())


def test_the_k3s_server_plan_is_read_with_its_status():
    with serve([suc.plan_object("v1.34.1+k3s1", state="applying", applying=("mgmt-control-plane-2",))]) as server:
        with KubeClient(Kubeconfig("emulator", text=yaml.safe_dump(server.kubeconfig()))) as api:
            plan = api.upgrade_plan("system-upgrade", "k3s-server")
            with pytest.raises(errors.NotFound) as gone:
                api.upgrade_plan("system-upgrade", "k3s-agent")
    assert (plan.version, plan.latest_version, plan.applying) == ("v1.34.1+k3s1", "v1.34.1-k3s1", ("mgmt-control-plane-2",))
    assert [(c.type, c.status, c.reason) for c in plan.conditions] == [
        ("Validated", "True", "PlanIsValid"), ("LatestResolved", "True", "Version"), ("Complete", "False", "SyncJob"),
    ]
    assert 'plans.upgrade.cattle.io "k3s-agent" not found' in str(gone.value)
