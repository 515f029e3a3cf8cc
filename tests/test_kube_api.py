"""The Kubernetes API emulator (tests/support/kube_api.py) and its objects, driven by the real `kubernetes` client.

The client tests trust this emulator to answer as an apiserver does, so
what they rely on is checked here: selectors, list envelopes, create's 201,
discovery, the faults, and that the objects it is loaded with are valid
for the pinned CRDs.
"""

from __future__ import annotations

import json

import pytest
import urllib3
from kubernetes import client, config

from tests.support import capi_objects as fx
from tests.support.crds import PINNED, CrdCatalog, require_reference
from tests.support.kube_api import label_selector_matches, namespace, serve

SERVER_SET = ("uid", "creationTimestamp", "generation", "resourceVersion")


def _as_applied(obj: dict) -> dict:
    """The object without what the apiserver sets itself (the catalog checks what a client may send)."""
    return {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k not in SERVER_SET}}


def test_fixture_objects_are_valid_for_the_pinned_crds():
    catalog = CrdCatalog.load(require_reference(*PINNED), PINNED)
    objs = fx.workload_cluster(
        pools=(fx.Pool("general", 3, not_ready=1, provisioning=1, min_size=1, max_size=5), fx.Pool("arm", 2, version="v1.32.8")),
        cp_not_ready=1,
        cp_version="v1.32.8",
    ) + fx.providers()
    catalog.assert_valid(_as_applied(o) for o in objs)
    kinds = {o["kind"] for o in objs}
    assert kinds >= {
        "Cluster", "HetznerCluster", "KubeadmControlPlane", "MachineDeployment", "MachineSet", "Machine",
        "HCloudMachine", "MachineHealthCheck", "HelmReleaseProxy", "Deployment", "Secret", "Provider",
    }


def test_machines_carry_what_describe_shows():
    objs = fx.workload_cluster(pools=(fx.Pool("general", 2, provisioning=1),))
    workers = [o for o in objs if o["kind"] == "Machine" and "cluster.x-k8s.io/deployment-name" in o["metadata"]["labels"]]
    running, pending = sorted(workers, key=lambda m: "nodeRef" in m["status"], reverse=True)
    assert running["status"]["nodeRef"]["name"].startswith("prod-general-")
    assert running["status"]["nodeInfo"]["kubeletVersion"] == "v1.33.4"
    assert "nodeRef" not in pending["status"]
    ready = {c["type"]: c for c in pending["status"]["conditions"]}["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "NotReady")


@pytest.fixture
def api():
    with serve(fx.workload_cluster("prod") + fx.workload_cluster("staging", namespace="prod") + fx.providers()) as server:
        yield server


def _client(server) -> client.ApiClient:
    cfg = client.Configuration()
    config.load_kube_config_from_dict(server.kubeconfig(), client_configuration=cfg, persist_config=False)
    cfg.retries = False
    return client.ApiClient(cfg)


def test_lists_honour_the_label_selector_and_carry_kind_and_api_version(api):
    objects = client.CustomObjectsApi(_client(api))
    listed = objects.list_namespaced_custom_object(
        "cluster.x-k8s.io", "v1beta2", "prod", "machines", label_selector="cluster.x-k8s.io/cluster-name=staging"
    )
    assert (listed["kind"], listed["apiVersion"]) == ("MachineList", "cluster.x-k8s.io/v1beta2")
    assert {m["metadata"]["labels"]["cluster.x-k8s.io/cluster-name"] for m in listed["items"]} == {"staging"}
    assert len(listed["items"]) == 5  # 3 control plane + 2 workers

    cp = objects.list_namespaced_custom_object(
        "cluster.x-k8s.io", "v1beta2", "prod", "machines",
        label_selector="cluster.x-k8s.io/cluster-name=prod,cluster.x-k8s.io/control-plane",
    )
    assert len(cp["items"]) == 3


def test_a_declared_kind_without_objects_lists_empty(api):
    listed = client.CustomObjectsApi(_client(api)).list_namespaced_custom_object(
        "cluster.x-k8s.io", "v1beta2", "elsewhere", "machinehealthchecks"
    )
    assert listed["items"] == []


def test_field_selector_finds_a_cluster_in_any_namespace(api):
    listed = client.CustomObjectsApi(_client(api)).list_cluster_custom_object(
        "cluster.x-k8s.io", "v1beta2", "clusters", field_selector="metadata.name=staging"
    )
    assert [(c["metadata"]["namespace"], c["metadata"]["name"]) for c in listed["items"]] == [("prod", "staging")]


def test_create_answers_201_with_the_object(api):
    api.add(namespace("prod"))
    objects = client.CustomObjectsApi(_client(api))
    body = {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineHealthCheck", "metadata": {"name": "mhc", "namespace": "prod"},
            "spec": {"clusterName": "prod", "selector": {}}}
    created, status, _ = objects.create_namespaced_custom_object_with_http_info("cluster.x-k8s.io", "v1beta2", "prod", "machinehealthchecks", body)
    assert status == 201
    assert created["metadata"]["name"] == "mhc" and created["metadata"]["uid"]
    assert objects.get_namespaced_custom_object("cluster.x-k8s.io", "v1beta2", "prod", "machinehealthchecks", "mhc")["spec"]["clusterName"] == "prod"


def test_a_create_in_a_namespace_that_does_not_exist_is_404_namespace_not_found(api):
    core = client.CoreV1Api(_client(api))
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "nowhere"}}
    with pytest.raises(client.ApiException) as caught:
        core.create_namespaced_secret("nowhere", body)
    assert caught.value.status == 404
    status = json.loads(caught.value.body)
    assert (status["reason"], status["message"]) == ("NotFound", 'namespaces "nowhere" not found')
    # Nothing was stored; a namespace every cluster has takes it.
    assert core.list_namespaced_secret("nowhere").items == []
    assert [n.metadata.name for n in core.list_namespace().items] == ["default", "kube-node-lease", "kube-public", "kube-system"]
    assert core.create_namespaced_secret("default", {**body, "metadata": {"name": "s", "namespace": "default"}}).metadata.name == "s"
    # A Namespace is read by name like any cluster-scoped object.
    assert core.read_namespace("kube-system").metadata.name == "kube-system"
    with pytest.raises(client.ApiException) as missing:
        core.read_namespace("nowhere")
    assert (missing.value.status, json.loads(missing.value.body)["message"]) == (404, 'namespaces "nowhere" not found')


def test_discovery_names_the_kinds(api):
    raw = client.CustomObjectsApi(_client(api)).get_api_resources("infrastructure.cluster.x-k8s.io", "v1beta1", _preload_content=False)
    kinds = {r["name"]: r["kind"] for r in json.loads(raw.data)["resources"]}
    assert kinds["hetznerclusters"] == "HetznerCluster"


def test_an_injected_429_carries_retry_after_and_a_status_body(api):
    api.api.fail(429, retry_after=7, message="too many requests, please try again later")
    core = client.CoreV1Api(_client(api))
    with pytest.raises(client.ApiException) as caught:
        core.read_namespaced_secret("prod-kubeconfig", "prod")
    assert caught.value.status == 429
    assert caught.value.headers["Retry-After"] == "7"
    assert json.loads(caught.value.body)["message"] == "too many requests, please try again later"
    assert core.read_namespaced_secret("prod-kubeconfig", "prod").data["value"]  # only the next request failed


def test_down_refuses_connections_until_up(api):
    core = client.CoreV1Api(_client(api))
    api.down()
    with pytest.raises(urllib3.exceptions.HTTPError):
        core.list_node()
    api.up()
    assert core.list_node().items == []


def test_the_log_counts_each_request(api):
    objects = client.CustomObjectsApi(_client(api))
    objects.list_namespaced_custom_object("cluster.x-k8s.io", "v1beta2", "prod", "machines")
    objects.get_namespaced_custom_object("cluster.x-k8s.io", "v1beta2", "prod", "clusters", "prod")
    assert (api.api.count(), api.api.count("list", "machines"), api.api.count("get", "clusters")) == (2, 1, 1)


@pytest.mark.parametrize(
    "selector, expected",
    [
        ("a=1", True), ("a==1", True), ("a!=1", False), ("a in (1, 2)", True), ("a notin (1,2)", False),
        ("b", True), ("!b", False), ("!c", True), ("a=1,c", False), ("a=1, b=", True),
    ],
)
def test_label_selector_syntax(selector, expected):
    assert label_selector_matches(selector, {"a": "1", "b": ""}) is expected


def test_an_update_replaces_the_object_but_not_its_status_and_the_status_subresource_only_the_status(api):
    # kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions, "Status subresource".
    objects = client.CustomObjectsApi(_client(api))
    args = ("cluster.x-k8s.io", "v1beta2", "prod", "clusters", "prod")
    cluster = objects.get_namespaced_custom_object(*args)
    sent = {**cluster, "spec": {**cluster["spec"], "paused": True}, "status": {"phase": "Deleting"}}
    updated = objects.replace_namespaced_custom_object(*args, sent)
    assert updated["spec"]["paused"] is True and updated["status"] == cluster["status"]
    assert updated["metadata"]["resourceVersion"] != cluster["metadata"]["resourceVersion"]
    status = objects.replace_namespaced_custom_object_status(*args, {**updated, "spec": {}, "status": {"phase": "Deleting"}})
    assert status["status"] == {"phase": "Deleting"} and status["spec"] == updated["spec"]


def test_a_write_with_a_stale_resource_version_is_refused_as_the_apiserver_words_it(api):
    objects = client.CustomObjectsApi(_client(api))
    args = ("cluster.x-k8s.io", "v1beta2", "prod", "clusters", "prod")
    cluster = objects.get_namespaced_custom_object(*args)
    objects.patch_namespaced_custom_object(*args, {"metadata": {"labels": {"a": "b"}}})
    for write in (
        lambda: objects.replace_namespaced_custom_object(*args, cluster),
        lambda: objects.patch_namespaced_custom_object(*args, {"metadata": {"resourceVersion": cluster["metadata"]["resourceVersion"]}}),
    ):
        with pytest.raises(client.ApiException) as caught:
            write()
        body = json.loads(caught.value.body)
        assert (caught.value.status, body["reason"]) == (409, "Conflict")
        assert body["message"] == (
            'Operation cannot be fulfilled on clusters.cluster.x-k8s.io "prod": the object has been modified; '
            "please apply your changes to the latest version and try again"
        )


def test_a_list_with_a_limit_comes_in_pages_in_key_order(api):
    objects = client.CustomObjectsApi(_client(api))
    every = objects.list_cluster_custom_object("cluster.x-k8s.io", "v1beta2", "machines")["items"]
    keys = [f'{m["metadata"]["namespace"]}/{m["metadata"]["name"]}' for m in every]
    assert keys == sorted(keys) and len(keys) > 4  # etcd's key order, /registry/<resource>/<namespace>/<name>
    first = objects.list_cluster_custom_object("cluster.x-k8s.io", "v1beta2", "machines", limit=4)
    assert first["metadata"]["remainingItemCount"] == len(keys) - 4
    rest = objects.list_cluster_custom_object("cluster.x-k8s.io", "v1beta2", "machines", _continue=first["metadata"]["continue"])
    assert "continue" not in rest["metadata"]
    assert [f'{m["metadata"]["namespace"]}/{m["metadata"]["name"]}' for m in first["items"] + rest["items"]] == keys
