"""clusterctl_py.clients.kube: the real `kubernetes` client against the emulator (tests/support/kube_api.py).

What a command gets (our dataclasses), how many requests it costs, what it
does when the API is slow, failing or gone, and what it says then.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from clusterctl_py.clients import errors
from clusterctl_py.clients.kube import KubeClient, Kubeconfig, ObjectRef
from tests.support import capi_objects as fx
from tests.support.kube_api import serve


class Sleeps:
    """Stands in for time.sleep and time.monotonic: records each wait and moves the clock on."""

    def __init__(self, on_sleep=None):
        self.waits: list[float] = []
        self.now = 0.0
        self.on_sleep = on_sleep

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(len(self.waits))

    def clock(self) -> float:
        return self.now


def objects():
    return (
        fx.workload_cluster("prod", pools=(fx.Pool("general", 2, min_size=1, max_size=10), fx.Pool("arm", 1, provisioning=1)))
        + fx.workload_cluster("other", namespace="prod", control_plane=1, pools=(fx.Pool("general", 1),))
        + fx.providers()
        + [fx.node("prod-general-a", "v1.33.4"), fx.node("prod-cp-a", "v1.32.8", control_plane=True, ready=False)]
    )


@pytest.fixture
def server():
    with serve(objects()) as s:
        yield s


def client(server, **options) -> KubeClient:
    sleeps = options.pop("sleeps", None) or Sleeps()
    return KubeClient(
        Kubeconfig("test", text=yaml.safe_dump(server.kubeconfig())), sleep=sleeps.sleep, clock=sleeps.clock, **options
    )


# --------------------------------------------------------------------------- what the reads give


def test_reads_the_cluster_and_its_control_plane(server):
    with client(server) as api:
        cluster = api.get_cluster("prod", "prod")
        assert cluster.control_plane_ref == ObjectRef("controlplane.cluster.x-k8s.io", "KubeadmControlPlane", "prod-control-plane")
        assert (cluster.workers.desired, cluster.workers.ready) == (3, 2)
        assert [c.type for c in cluster.conditions][:3] == ["Available", "InfrastructureReady", "ControlPlaneInitialized"]
        kcp = api.kubeadm_control_plane("prod", "prod-control-plane")
        assert (kcp.version, kcp.status_version, kcp.replicas.desired, kcp.replicas.up_to_date) == ("v1.33.4", "v1.33.4", 3, 3)
        assert kcp.initialized is True
        infra = api.infrastructure_cluster("prod", cluster.infrastructure_ref)
        assert (infra.kind, infra.ready) == ("HetznerCluster", True)
        # CAPH keeps v1beta2 conditions under status.v1beta2; those are the ones read.
        assert [c.type for c in infra.conditions] == ["Ready", "HCloudTokenAvailable"]


def test_machines_name_the_node_each_became(server):
    with client(server) as api:
        machines = {m.name: m for m in api.machines("prod", "prod")}
    assert len(machines) == 6  # 3 control plane, 2 general, 1 arm; not the other cluster's
    workers = [m for m in machines.values() if not m.control_plane]
    assert {m.deployment for m in workers} == {"prod-general", "prod-arm"}
    pending = [m for m in workers if m.node_name is None]
    assert [m.deployment for m in pending] == ["prod-arm"]
    running = [m for m in workers if m.node_name]
    assert all(m.kubelet_version == "v1.33.4" and m.node_name.startswith(m.deployment) for m in running)
    assert all(m.owner.kind == "MachineSet" for m in workers)


def test_pools_sets_add_ons_and_the_autoscaler(server):
    with client(server) as api:
        mds = {md.name: md for md in api.machine_deployments("prod", "prod")}
        assert (mds["prod-general"].autoscaler_min, mds["prod-general"].autoscaler_max) == (1, 10)
        assert mds["prod-general"].version == "v1.33.4"
        sets = api.machine_sets("prod", "prod")
        assert {s.owner.name for s in sets} == {"prod-general", "prod-arm"}
        proxies = api.helm_release_proxies("prod", "prod")
        assert sorted((p.chart, p.status) for p in proxies) == [
            ("cilium", "deployed"), ("hcloud-cloud-controller-manager", "deployed"), ("hcloud-csi", "deployed")
        ]
        (autoscaler,) = api.deployments("prod", "app.kubernetes.io/name=cluster-autoscaler,app.kubernetes.io/instance=prod")
        assert autoscaler.images == ("registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.6",)


def test_reads_other_commands_need(server):
    with client(server) as api:
        inventory = {(p.provider_name, p.type): p.version for p in api.providers()}
        assert inventory[("cluster-api", "CoreProvider")] == "v1.13.5"
        assert inventory[("hetzner", "InfrastructureProvider")] == "v1.1.8"
        assert {n.name: (n.kubelet_version, n.ready) for n in api.nodes()} == {
            "prod-general-a": ("v1.33.4", True), "prod-cp-a": ("v1.32.8", False)
        }
        assert api.secret_value("prod", "prod-kubeconfig", "value") == fx.workload_kubeconfig("prod")


def test_generations_say_whether_a_controller_has_seen_the_last_change():
    objs = fx.workload_cluster(control_plane=1, pools=(fx.Pool("general", 1),))
    for obj in objs:
        if obj["kind"] in ("KubeadmControlPlane", "MachineDeployment"):
            obj["metadata"]["generation"] = 3
            obj["status"]["observedGeneration"] = 2
    with serve(objs) as server, client(server) as api:
        kcp = api.kubeadm_control_plane("prod", "prod-control-plane")
        (md,) = api.machine_deployments("prod", "prod")
    assert (kcp.generation, kcp.observed_generation) == (3, 2)
    assert (md.generation, md.observed_generation) == (3, 2)


def test_deployment_version_label(server):
    server.add({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "cert-manager", "namespace": "cert-manager",
                     "labels": {"app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/version": "v1.21.1"}},
        "spec": {"selector": {"matchLabels": {"app": "cm"}}, "template": {"spec": {"containers": []}}},
    })
    with client(server) as api:
        assert [d.version for d in api.deployments("cert-manager")] == ["v1.21.1"]


def test_each_kind_is_listed_once_with_the_cluster_label_selector(server):
    with client(server) as api:
        api.machines("prod", "prod")
        api.machine_deployments("prod", "prod")
        api.machine_sets("prod", "prod")
        api.helm_release_proxies("prod", "prod")
    log = server.api.log
    assert [(e.verb, e.plural) for e in log] == [
        ("list", "machines"), ("list", "machinedeployments"), ("list", "machinesets"), ("list", "helmreleaseproxies")
    ]
    assert {e.params["labelSelector"] for e in log} == {"cluster.x-k8s.io/cluster-name=prod"}


def test_a_provider_kind_is_found_through_discovery_once(server):
    with client(server) as api:
        cluster = api.get_cluster("prod", "prod")
        api.infrastructure_cluster("prod", cluster.infrastructure_ref)
        api.infrastructure_cluster("prod", cluster.infrastructure_ref)
    assert [e.path for e in server.api.log] == [
        "/apis/cluster.x-k8s.io/v1beta2/namespaces/prod/clusters/prod",
        "/apis/",
        "/apis/infrastructure.cluster.x-k8s.io/v1beta1",
        "/apis/infrastructure.cluster.x-k8s.io/v1beta1/namespaces/prod/hetznerclusters/prod",
        "/apis/infrastructure.cluster.x-k8s.io/v1beta1/namespaces/prod/hetznerclusters/prod",
    ]


def test_clusters_named_looks_in_every_namespace(server):
    with client(server) as api:
        assert [(c.namespace, c.name) for c in api.clusters_named("other")] == [("prod", "other")]
        assert api.clusters_named("nope") == []


# --------------------------------------------------------------------------- one retry policy


def test_429_waits_as_retry_after_says(server):
    server.api.fail(429, retry_after=3, times=2)
    sleeps = Sleeps()
    with client(server, sleeps=sleeps) as api:
        assert len(api.machines("prod", "prod")) == 6
    assert sleeps.waits == [3.0, 3.0]
    assert server.api.count("list", "machines") == 3


def test_5xx_and_dropped_connections_are_retried_with_jittered_backoff(server):
    server.api.fail(503, times=1)
    server.api.drop(times=1)
    server.api.fail(500, times=1)
    sleeps = Sleeps()
    with client(server, sleeps=sleeps) as api:
        assert api.get_cluster("prod", "prod").name == "prod"
    assert len(sleeps.waits) == 3
    # Full jitter under a doubling cap: 0.5, 1, 2 seconds.
    assert all(0 <= w <= cap for w, cap in zip(sleeps.waits, (0.5, 1.0, 2.0)))


def test_a_refused_connection_is_retried_until_the_api_is_back(server):
    server.down()
    sleeps = Sleeps(on_sleep=lambda n: server.up() if n == 2 else None)
    with client(server, sleeps=sleeps) as api:
        assert len(api.nodes()) == 2
    assert len(sleeps.waits) == 2


def test_urllib3_does_not_retry_behind_our_back(server):
    # With urllib3's default Retry(3) a dropped connection would be retried inside the
    # request; with Configuration.retries = False only our policy retries.
    server.api.drop(times=1)
    with client(server, attempts=1) as api, pytest.raises(errors.Unavailable) as caught:
        api.nodes()
    assert "list Nodes: the connection was dropped" in str(caught.value)
    assert server.api.count() == 1


def test_gives_up_after_its_attempts_with_one_clear_line(server):
    server.api.fail(503, times=None, message="etcdserver: leader changed")
    with client(server, attempts=4) as api, pytest.raises(errors.Unavailable) as caught:
        api.machines("prod", "prod")
    assert str(caught.value) == (
        f"Kubernetes API {server.url}: list Machines of prod/prod: 503 Service Unavailable: "
        "etcdserver: leader changed (gave up after 4 attempts)"
    )
    assert server.api.count() == 4


def test_a_retry_after_beyond_the_time_budget_is_not_waited_for(server):
    server.api.fail(429, retry_after=120, times=None)
    sleeps = Sleeps()
    with client(server, sleeps=sleeps, retry_for=60) as api, pytest.raises(errors.Unavailable) as caught:
        api.nodes()
    assert sleeps.waits == []
    assert "429 Too Many Requests" in str(caught.value)


def test_time_budget_bounds_the_retries(server):
    server.api.fail(503, times=None)
    sleeps = Sleeps()
    with client(server, sleeps=sleeps, retry_for=5, attempts=100) as api, pytest.raises(errors.Unavailable):
        api.nodes()
    assert sum(sleeps.waits) <= 5


def test_the_api_gone_for_good_is_one_clear_error(server):
    server.down()
    sleeps = Sleeps()
    with client(server, sleeps=sleeps, attempts=3) as api, pytest.raises(errors.Unavailable) as caught:
        api.nodes()
    assert str(caught.value) == f"Kubernetes API {server.url}: list Nodes: connection refused or unreachable (gave up after 3 attempts)"


@pytest.mark.parametrize(
    "status, error, expected",
    [
        (401, errors.Unauthorized, "401 Unauthorized: injected 401; the kubeconfig's credentials are not accepted (expired or revoked?)"),
        (403, errors.Forbidden, '403 Forbidden: machines.cluster.x-k8s.io is forbidden: User "ops" cannot list resource "machines"'),
    ],
)
def test_refusals_are_not_retried_and_name_status_and_message(server, status, error, expected):
    message = 'machines.cluster.x-k8s.io is forbidden: User "ops" cannot list resource "machines"' if status == 403 else None
    server.api.fail(status, times=None, message=message)
    with client(server) as api, pytest.raises(error) as caught:
        api.machines("prod", "prod")
    assert str(caught.value) == f"Kubernetes API {server.url}: list Machines of prod/prod: {expected}"
    assert caught.value.exit_code == 1
    assert server.api.count() == 1


def test_a_conflict_is_a_conflict(server):
    server.api.fail(409, message='Operation cannot be fulfilled on clusters.cluster.x-k8s.io "prod": the object has been modified')
    with client(server) as api, pytest.raises(errors.Conflict) as caught:
        api.get_cluster("prod", "prod")
    assert str(caught.value).endswith('409 Conflict: Operation cannot be fulfilled on clusters.cluster.x-k8s.io "prod": the object has been modified')
    assert server.api.count() == 1


def test_not_found_is_not_found(server):
    with client(server) as api, pytest.raises(errors.NotFound) as caught:
        api.get_cluster("prod", "nope")
    assert str(caught.value) == (
        f'Kubernetes API {server.url}: get Cluster prod/nope: 404 Not Found: clusters.cluster.x-k8s.io "nope" not found'
    )
    assert caught.value.code == "NotFound"


def test_a_response_body_never_reaches_the_message(server):
    leaked = {"kind": "Secret", "data": {"value": "c2VjcmV0LWtleQ=="}}
    server.api.fail(500, times=None, body=leaked)
    with client(server, attempts=1) as api, pytest.raises(errors.Unavailable) as caught:
        api.secret_value("prod", "prod-kubeconfig", "value")
    assert "c2VjcmV0" not in str(caught.value)
    assert str(caught.value) == f"Kubernetes API {server.url}: get Secret prod/prod-kubeconfig: 500 Internal Server Error"


# --------------------------------------------------------------------------- kubeconfigs


def test_embedded_credentials_go_to_a_private_directory_removed_on_close(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    config = yaml.safe_load(fx.workload_kubeconfig("prod"))
    api = KubeClient(Kubeconfig("test", text=yaml.safe_dump(config)))  # no request is made
    (private,) = tmp_path.iterdir()
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    files = list(private.iterdir())
    assert sorted(p.read_bytes().splitlines()[0] for p in files) == [
        b"-----BEGIN CERTIFICATE-----", b"-----BEGIN CERTIFICATE-----", b"-----BEGIN RSA PRIVATE KEY-----"
    ]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    api.close()
    assert list(tmp_path.iterdir()) == []


def test_a_kubeconfig_path_list_is_merged_as_kubectl_does(server, tmp_path):
    config = server.kubeconfig()
    first = tmp_path / "a.yaml"
    first.write_text(yaml.safe_dump({**config, "users": []}))
    second = tmp_path / "b.yaml"
    second.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "users": config["users"]}))
    with KubeClient(Kubeconfig("KUBECONFIG", path=f"{first}{os.pathsep}{second}")) as api:
        assert api.endpoint == server.url
        assert len(api.nodes()) == 2


def test_broken_yaml_is_bad_input_that_never_quotes_the_file():
    text = "apiVersion: v1\nusers:\n- name: x\n  user: {client-key-data: c2VjcmV0LWtleQ==\n"
    with pytest.raises(errors.BadCredentials) as caught:
        KubeClient(Kubeconfig("--kubeconfig admin.yaml", text=text))
    assert str(caught.value) == "kubeconfig: --kubeconfig admin.yaml: not valid YAML (line 5, column 1)"
    assert caught.value.exit_code == 2


def test_an_unknown_context_is_bad_input(server):
    with pytest.raises(errors.BadCredentials) as caught:
        KubeClient(Kubeconfig("KUBECONFIG", text=yaml.safe_dump(server.kubeconfig()), context="nope"))
    assert "KUBECONFIG:" in str(caught.value) and "nope" in str(caught.value)


def test_the_kubeconfig_text_is_not_in_a_repr():
    assert "secret" not in repr(Kubeconfig("stack", text="users: secret"))


def test_no_temporary_directory_is_left_when_the_kubeconfig_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with pytest.raises(errors.BadCredentials):
        KubeClient(Kubeconfig("x", text="[]"))
    assert list(Path(tmp_path).iterdir()) == []


@pytest.mark.parametrize("content", ["root:x:0:0:root:/root:/bin/bash\n", "- a\n- b\n", "clusters: 3\n"])
def test_a_file_that_is_no_kubeconfig_is_bad_input(tmp_path, content):
    # The SDK's loader fails with a TypeError on these (kubernetes/config/kube_config.py KubeConfigMerger).
    path = tmp_path / "passwd"
    path.write_text(content)
    with pytest.raises(errors.BadCredentials) as caught:
        KubeClient(Kubeconfig("KUBECONFIG", path=str(path)))
    assert str(caught.value) == (
        "kubeconfig: KUBECONFIG: not a kubeconfig (expected a mapping with clusters, users and contexts)"
    )
    assert caught.value.exit_code == 2
