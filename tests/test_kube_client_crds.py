"""clusterctl_py.clients.kube as the stored-version migration's API (CrdMigrationApi), against the emulator.

What each call sends (verb, path, paging, the resourceVersion that guards a
write) and what the API then holds; and the migration itself through the
real client when objects change or go away between its list and its writes.
"""

from __future__ import annotations

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from clusterctl_py.clients import errors
from clusterctl_py.clients.kube import Crd, KubeClient, Kubeconfig
from clusterctl_py.ops import crd_migration as cm
from tests.support import crd_objects as co
from tests.support.kube_api import serve

MACHINES = ("cluster.x-k8s.io", "v1beta2", "machines")


def client(server, **options) -> KubeClient:
    return KubeClient(Kubeconfig("test", text=yaml.safe_dump(server.kubeconfig())), sleep=lambda s: None, **options)


def other_writer(server) -> k8s.CustomObjectsApi:
    """Another client of the same API (a controller, a user with kubectl)."""
    cfg = k8s.Configuration()
    k8s_config.load_kube_config_from_dict(server.kubeconfig(), client_configuration=cfg, persist_config=False)
    cfg.retries = False
    return k8s.CustomObjectsApi(k8s.ApiClient(cfg))


def stored_machine(server, name: str, namespace: str = "default") -> dict:
    return other_writer(server).get_namespaced_custom_object(*MACHINES[:2], namespace, MACHINES[2], name)


def without_version(obj: dict) -> dict:
    return {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}}


@pytest.fixture
def server():
    objects = [
        co.machines_crd(co.CAPI_V1_12, stored=["v1alpha4", "v1beta1", "v1beta2"]),
        co.certificates_crd(stored=["v1"]),
        co.cluster_issuers_crd(stored=["v1"]),
        *(co.machine(f"m-{i}") for i in range(1, 5)),
        co.machine("m-5", namespace="staging"),
        co.cluster_issuer("selfsigned"),
    ]
    with serve(objects) as s:
        yield s


def test_the_installed_crds_are_one_list_request_with_their_stored_versions(server):
    with client(server) as api:
        crds = {c.name: c for c in api.list_crds()}
    machines = crds["machines.cluster.x-k8s.io"]
    assert (machines.kind, machines.plural, machines.group) == ("Machine", "machines", "cluster.x-k8s.io")
    assert machines.stored_versions == ("v1alpha4", "v1beta1", "v1beta2")
    assert machines.storage == "v1beta2"
    assert machines.resource_version  # the lock set_stored_versions sends back
    assert crds["clusterissuers.cert-manager.io"].stored_versions == ("v1",)
    assert [(e.method, e.path) for e in server.api.log] == [("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")]


def test_objects_of_a_kind_are_listed_in_every_namespace_a_page_at_a_time(server):
    with client(server, list_page=2) as api:
        listed = api.list_objects(*MACHINES)
    assert [(o.namespace, o.name) for o in listed] == [
        ("default", "m-1"), ("default", "m-2"), ("default", "m-3"), ("default", "m-4"), ("staging", "m-5"),
    ]
    assert all(o.resource_version for o in listed)
    pages = [e for e in server.api.log if e.plural == "machines"]
    assert [e.path for e in pages] == ["/apis/cluster.x-k8s.io/v1beta2/machines"] * 3
    assert [e.params.get("limit") for e in pages] == ["2", "2", "2"]
    assert "continue" not in pages[0].params and all(e.params.get("continue") for e in pages[1:])


def test_a_rewrite_puts_the_object_back_as_listed(server):
    with client(server) as api:
        m1 = next(o for o in api.list_objects(*MACHINES) if o.name == "m-1")
        before = stored_machine(server, "m-1")
        api.rewrite(*MACHINES, m1)
    put = server.api.log[-1]
    assert (put.method, put.verb, put.path, put.answer) == ("PUT", "update", "/apis/cluster.x-k8s.io/v1beta2/namespaces/default/machines/m-1", 200)
    after = stored_machine(server, "m-1")
    assert without_version(after) == without_version(before)
    assert after["metadata"]["resourceVersion"] != before["metadata"]["resourceVersion"]  # it was written


def test_a_cluster_scoped_object_is_rewritten_at_its_cluster_path(server):
    with client(server) as api:
        (issuer,) = api.list_objects("cert-manager.io", "v1", "clusterissuers")
        assert issuer.namespace is None
        api.rewrite("cert-manager.io", "v1", "clusterissuers", issuer)
    put = server.api.log[-1]
    assert (put.method, put.path, put.answer) == ("PUT", "/apis/cert-manager.io/v1/clusterissuers/selfsigned", 200)


def test_an_object_written_since_the_list_is_a_conflict_and_keeps_the_other_write(server):
    with client(server) as api:
        m2 = next(o for o in api.list_objects(*MACHINES) if o.name == "m-2")
        other_writer(server).patch_namespaced_custom_object(*MACHINES[:2], "default", MACHINES[2], "m-2", {"spec": {"version": "v1.34.1"}})
        with pytest.raises(errors.Conflict) as caught:
            api.rewrite(*MACHINES, m2)
    assert "409" in str(caught.value)
    assert 'machines.cluster.x-k8s.io "m-2": the object has been modified' in str(caught.value)
    assert stored_machine(server, "m-2")["spec"]["version"] == "v1.34.1"  # not overwritten by the stale copy


def test_an_object_deleted_since_the_list_is_not_found_and_not_recreated(server):
    with client(server) as api:
        m3 = next(o for o in api.list_objects(*MACHINES) if o.name == "m-3")
        other_writer(server).delete_namespaced_custom_object(*MACHINES[:2], "default", MACHINES[2], "m-3")
        with pytest.raises(errors.NotFound):
            api.rewrite(*MACHINES, m3)
    with pytest.raises(k8s.ApiException) as gone:
        stored_machine(server, "m-3")
    assert gone.value.status == 404


def test_stored_versions_are_set_through_the_status_subresource(server):
    with client(server) as api:
        machines = next(c for c in api.list_crds() if c.name == "machines.cluster.x-k8s.io")
        api.set_stored_versions(machines, ["v1beta2"])
        after = next(c for c in api.list_crds() if c.name == "machines.cluster.x-k8s.io")
    patch = [e for e in server.api.log if e.method == "PATCH"]
    assert [(e.path, e.answer) for e in patch] == [
        ("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/machines.cluster.x-k8s.io/status", 200)
    ]
    assert after.stored_versions == ("v1beta2",)
    assert after.versions == machines.versions


def test_stored_versions_of_a_crd_changed_since_it_was_read_are_not_overwritten(server):
    with client(server) as api:
        machines = next(c for c in api.list_crds() if c.name == "machines.cluster.x-k8s.io")
        extensions = k8s.ApiextensionsV1Api(other_writer(server).api_client)
        extensions.patch_custom_resource_definition("machines.cluster.x-k8s.io", {"metadata": {"labels": {"touched": "yes"}}})
        with pytest.raises(errors.Conflict):
            api.set_stored_versions(machines, ["v1beta2"])
        after = next(c for c in api.list_crds() if c.name == "machines.cluster.x-k8s.io")
    assert after.stored_versions == ("v1alpha4", "v1beta1", "v1beta2")


def test_the_migration_through_the_client_skips_what_changed_or_went_away_since_its_list(server):
    writer = other_writer(server)
    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        if len(lines) == 1:  # after the list, before the first write: a controller and a user act
            writer.patch_namespaced_custom_object(*MACHINES[:2], "default", MACHINES[2], "m-2", {"metadata": {"labels": {"touched": "yes"}}})
            writer.delete_namespaced_custom_object(*MACHINES[:2], "default", MACHINES[2], "m-3")
            server.api.clear_log()

    new = [Crd("machines.cluster.x-k8s.io", "cluster.x-k8s.io", "Machine", "machines", cm.crds_in([co.machines_crd()])[0].versions)]
    with client(server) as api:
        done = cm.migrate(api, new, progress=progress)
        after = next(c for c in api.list_crds() if c.name == "machines.cluster.x-k8s.io")
    assert [(m.kind, m.storage, m.dropped) for m in done] == [("Machine", "v1beta2", ("v1alpha4",))]
    writes = [(e.method, e.path.rsplit("/", 1)[-1], e.answer) for e in server.api.log if e.method in ("PUT", "PATCH")]
    assert writes == [
        ("PUT", "m-1", 200), ("PUT", "m-2", 409), ("PUT", "m-3", 404), ("PUT", "m-4", 200), ("PUT", "m-5", 200),
        ("PATCH", "status", 200),
    ]
    assert after.stored_versions == ("v1beta2",)
    assert stored_machine(server, "m-2")["metadata"]["labels"]["touched"] == "yes"
    assert lines[-1] == "crd migration 1/1: Machine: done, storedVersions [v1beta2]"
