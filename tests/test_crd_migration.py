"""Stored-version migration before a release is applied (clusterctl's rule), with cases from real releases.

The version lists below are the `spec.versions` (name, served, storage) of the
Cluster CRD as released, read from kubernetes-sigs/cluster-api
config/crd/bases/cluster.x-k8s.io_clusters.yaml at each tag; cert-manager's
from its upgrade notes (v1.6 stopped serving v1alpha2, v1alpha3 and v1beta1,
v1.7 removed them: cert-manager.io/docs/releases/upgrading/remove-deprecated-apis).
"""

from __future__ import annotations

import pytest
import yaml

from clusterctl_py.clients.errors import Conflict, NotFound, Unavailable
from clusterctl_py.clients.kube import Crd, CrdVersion, ListedObject, crd_from_object
from clusterctl_py.ops import crd_migration as cm
from tests.support import crds as crd_support

CLUSTER_CRD_VERSIONS = {
    "v0.4.0": [("v1alpha3", True, False), ("v1alpha4", True, True)],
    "v1.5.0": [("v1alpha3", False, False), ("v1alpha4", True, False), ("v1beta1", True, True)],
    # v1.6.0 removed v1alpha3 (v1.6.2 restored it, kubernetes-sigs/cluster-api#10051).
    "v1.6.0": [("v1alpha4", False, False), ("v1beta1", True, True)],
    "v1.10.0": [("v1alpha3", False, False), ("v1alpha4", False, False), ("v1beta1", True, True)],
    # v1.11.0 made v1beta2 the storage version, v1beta1 still served.
    "v1.11.0": [("v1alpha3", False, False), ("v1alpha4", False, False), ("v1beta1", True, False), ("v1beta2", True, True)],
    "v1.12.0": [("v1alpha3", False, False), ("v1alpha4", False, False), ("v1beta1", True, False), ("v1beta2", True, True)],
    # v1.13.0 removed v1alpha3 and v1alpha4.
    "v1.13.0": [("v1beta1", True, False), ("v1beta2", True, True)],
}


def crd(name: str, kind: str, versions, stored=(), rv: str | None = None) -> Crd:
    plural, group = name.split(".", 1)
    return Crd(name, group, kind, plural, tuple(CrdVersion(*v) for v in versions), tuple(stored), rv)


def clusters(release: str, stored=(), rv: str | None = None) -> Crd:
    return crd("clusters.cluster.x-k8s.io", "Cluster", CLUSTER_CRD_VERSIONS[release], stored, rv)


# --------------------------------------------------------------------------- the decision


def test_v1_11_moves_storage_to_v1beta2_without_a_migration():
    # Everything is stored as v1beta1, which v1.11 still has.
    assert cm.plan_migrations([clusters("v1.10.0", ["v1beta1"])], [clusters("v1.11.0")]) == []


def test_the_upgrade_after_v1_11_rewrites_what_is_still_stored_as_v1beta1():
    # Applying v1.11 leaves storedVersions [v1beta1, v1beta2].
    (m,) = cm.plan_migrations([clusters("v1.11.0", ["v1beta1", "v1beta2"])], [clusters("v1.12.0")])
    assert (m.crd, m.kind, m.group, m.plural) == ("clusters.cluster.x-k8s.io", "Cluster", "cluster.x-k8s.io", "clusters")
    assert (m.via, m.storage, m.stale, m.dropped) == ("v1beta2", "v1beta2", ("v1beta1",), ())


def test_a_cluster_from_v0_3_is_migrated_before_v1_6_drops_v1alpha3():
    # Created on v0.3 (storage v1alpha3), upgraded through v0.4 and v1.x: every storage version is still listed.
    (m,) = cm.plan_migrations([clusters("v1.5.0", ["v1alpha3", "v1alpha4", "v1beta1"])], [clusters("v1.6.0")])
    assert (m.via, m.storage, m.stale, m.dropped) == ("v1beta1", "v1beta1", ("v1alpha3", "v1alpha4"), ("v1alpha3",))


def test_v1_13_drops_a_v1alpha4_left_in_stored_versions():
    (m,) = cm.plan_migrations([clusters("v1.12.0", ["v1alpha4", "v1beta1", "v1beta2"])], [clusters("v1.13.0")])
    assert (m.storage, m.stale, m.dropped) == ("v1beta2", ("v1alpha4", "v1beta1"), ("v1alpha4",))


def test_a_release_without_the_current_storage_version_is_refused():
    # Straight from v0.4 (storage v1alpha4) to v1.13, which has no v1alpha4.
    with pytest.raises(cm.CrdMigrationError) as e:
        cm.plan_migrations([clusters("v0.4.0", ["v1alpha4"])], [clusters("v1.13.0")])
    assert str(e.value) == (
        "clusters.cluster.x-k8s.io: Cluster objects are stored as v1alpha4, which the new release no longer has"
        " (it has v1beta1, v1beta2); upgrade through a release that still has v1alpha4 first"
    )
    assert e.value.exit_code == 1


def test_every_refused_crd_is_named_on_its_own_line():
    machines = [("v1alpha4", True, True)]
    installed = [clusters("v0.4.0", ["v1alpha4"]), crd("machines.cluster.x-k8s.io", "Machine", machines, ["v1alpha4"])]
    new = [clusters("v1.13.0"), crd("machines.cluster.x-k8s.io", "Machine", CLUSTER_CRD_VERSIONS["v1.13.0"])]
    with pytest.raises(cm.CrdMigrationError) as e:
        cm.plan_migrations(installed, new)
    assert [line.split(":")[0] for line in e.value.lines()] == ["clusters.cluster.x-k8s.io", "machines.cluster.x-k8s.io"]


def test_cert_manager_1_7_needs_objects_stored_as_v1alpha2_rewritten():
    v1_6 = [("v1alpha2", False, False), ("v1alpha3", False, False), ("v1beta1", False, False), ("v1", True, True)]
    installed = crd("certificates.cert-manager.io", "Certificate", v1_6, ["v1alpha2", "v1"])
    (m,) = cm.plan_migrations([installed], [crd("certificates.cert-manager.io", "Certificate", [("v1", True, True)])])
    assert (m.via, m.storage, m.stale, m.dropped) == ("v1", "v1", ("v1alpha2",), ("v1alpha2",))


def test_objects_are_rewritten_through_a_served_version_when_storage_is_not_served():
    # A read or write through any served version stores in the storage version.
    installed = crd("things.example.com", "Thing", [("v1", True, False), ("v2", False, True)], ["v1", "v2"])
    (m,) = cm.plan_migrations([installed], [crd("things.example.com", "Thing", [("v2", True, True)])])
    assert (m.via, m.storage, m.dropped) == ("v1", "v2", ("v1",))


def test_new_kinds_and_kinds_the_release_leaves_out_are_not_migrated():
    installed = [clusters("v1.11.0", ["v1beta1", "v1beta2"])]
    new = [crd("machinedrainrules.cluster.x-k8s.io", "MachineDrainRule", [("v1beta2", True, True)])]
    assert cm.plan_migrations(installed, new) == []


def _reference_crds(folder: str, stored: list[str] | None = None) -> list[Crd]:
    root = crd_support.require_reference(folder) / "crds" / folder
    docs = [d for p in sorted(root.rglob("*.yaml")) for d in yaml.load_all(p.read_text(), Loader=yaml.CSafeLoader)]
    found = cm.crds_in(docs)
    assert found, f"no CRDs in {root}"
    if stored is None:
        return found
    return [Crd(c.name, c.group, c.kind, c.plural, c.versions, tuple(v for v in stored if v in {x.name for x in c.versions})) for c in found]


def test_the_pinned_capi_release_to_v1_14_from_the_real_crds():
    new = _reference_crds("cluster-api/v1.14.0")
    # A management cluster whose objects all went through v1beta2 needs nothing.
    assert cm.plan_migrations(_reference_crds(crd_support.CAPI_CRDS, ["v1beta2"]), new) == []
    # One that still lists v1beta1 gets every kind rewritten into v1beta2; v1.14 still has v1beta1.
    installed = _reference_crds(crd_support.CAPI_CRDS, ["v1beta1", "v1beta2"])
    migrations = cm.plan_migrations(installed, new)
    assert {m.kind for m in migrations} >= {"Cluster", "Machine", "MachineDeployment", "MachineSet", "KubeadmControlPlane", "KubeadmConfig"}
    assert {(m.storage, m.stale, m.dropped) for m in migrations} == {("v1beta2", ("v1beta1",), ())}


def test_crd_from_object_reads_status_and_resource_version():
    obj = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "clusters.cluster.x-k8s.io", "resourceVersion": "812"},
        "spec": {
            "group": "cluster.x-k8s.io",
            "names": {"kind": "Cluster", "plural": "clusters", "listKind": "ClusterList"},
            "versions": [{"name": "v1beta1", "served": True, "storage": False}, {"name": "v1beta2", "served": True, "storage": True}],
        },
        "status": {"storedVersions": ["v1beta1", "v1beta2"]},
    }
    c = crd_from_object(obj)
    assert c == clusters("v1.13.0", ["v1beta1", "v1beta2"], rv="812")
    assert c.storage == "v1beta2"


# --------------------------------------------------------------------------- the procedure, against a fake API


class FakeApi:
    """The Protocol as the kube client will answer it; records every call, keeps storedVersions."""

    def __init__(self, crds: list[Crd], objects: dict[str, list[str]], *, gone=(), written=(), fail_on=None):
        self.crds = {c.name: c for c in crds}
        self.objects = objects  # plural -> object names
        self.gone, self.written, self.fail_on = set(gone), set(written), fail_on
        self.calls: list[tuple] = []

    def list_crds(self):
        self.calls.append(("list_crds",))
        return list(self.crds.values())

    def list_objects(self, group, version, plural):
        self.calls.append(("list", plural, version))
        return [ListedObject("default", n, f"rv-{n}") for n in self.objects.get(plural, [])]

    def rewrite(self, group, version, plural, ref):
        self.calls.append(("rewrite", plural, version, ref.name, ref.resource_version))
        if ref.name == self.fail_on:
            raise Unavailable("connection refused", api="kubernetes")
        if ref.name in self.gone:
            raise NotFound("not found", api="kubernetes")
        if ref.name in self.written:
            raise Conflict("the object has been modified", api="kubernetes")

    def set_stored_versions(self, crd, stored_versions):
        self.calls.append(("stored", crd.name, tuple(stored_versions), crd.resource_version))
        c = self.crds[crd.name]
        self.crds[crd.name] = Crd(c.name, c.group, c.kind, c.plural, c.versions, tuple(stored_versions), c.resource_version)


def kinds(stored=("v1beta1", "v1beta2")):
    versions = CLUSTER_CRD_VERSIONS["v1.12.0"]
    return [
        crd("clusters.cluster.x-k8s.io", "Cluster", versions, stored, rv="10"),
        crd("machines.cluster.x-k8s.io", "Machine", versions, stored, rv="11"),
        crd("machinesets.cluster.x-k8s.io", "MachineSet", versions, stored, rv="12"),
    ]


def new_release():
    versions = CLUSTER_CRD_VERSIONS["v1.13.0"]
    return [crd(n, k, versions) for n, k in (("clusters.cluster.x-k8s.io", "Cluster"), ("machines.cluster.x-k8s.io", "Machine"), ("machinesets.cluster.x-k8s.io", "MachineSet"))]


def test_every_object_is_rewritten_before_stored_versions_is_set():
    api = FakeApi(kinds()[:2], {"clusters": ["prod"], "machines": ["m-1", "m-2", "m-3"]})
    done = cm.migrate(api, new_release(), progress=lambda line: None)
    assert [m.kind for m in done] == ["Cluster", "Machine"]
    assert api.calls == [
        ("list_crds",),
        ("list", "clusters", "v1beta2"),
        ("rewrite", "clusters", "v1beta2", "prod", "rv-prod"),
        ("stored", "clusters.cluster.x-k8s.io", ("v1beta2",), "10"),
        ("list", "machines", "v1beta2"),
        ("rewrite", "machines", "v1beta2", "m-1", "rv-m-1"),
        ("rewrite", "machines", "v1beta2", "m-2", "rv-m-2"),
        ("rewrite", "machines", "v1beta2", "m-3", "rv-m-3"),
        ("stored", "machines.cluster.x-k8s.io", ("v1beta2",), "11"),
    ]


def test_objects_deleted_or_written_since_the_list_are_left_as_they_are():
    # kubernetes-sigs/cluster-api cmd/clusterctl/client/cluster/crd_migration.go handleMigrateErr.
    api = FakeApi(kinds()[1:2], {"machines": ["m-1", "m-2", "m-3"]}, gone={"m-1"}, written={"m-2"})
    cm.migrate(api, new_release(), progress=lambda line: None)
    assert [c[3] for c in api.calls if c[0] == "rewrite"] == ["m-1", "m-2", "m-3"]
    assert api.calls[-1] == ("stored", "machines.cluster.x-k8s.io", ("v1beta2",), "11")


def test_a_failure_names_the_kind_and_that_nothing_after_it_was_applied():
    api = FakeApi(kinds(), {"clusters": ["prod"], "machines": ["m-1", "m-2"], "machinesets": ["ms-1"]}, fail_on="m-2")
    with pytest.raises(cm.CrdMigrationError) as e:
        cm.migrate(api, new_release(), progress=lambda line: None)
    assert e.value.lines() == [
        "crd migration of Machine (machines.cluster.x-k8s.io) failed: kubernetes: connection refused; not migrated: MachineSet;"
        " no CRD of the new release was applied, running it again resumes",
    ]
    assert isinstance(e.value.__cause__, Unavailable)
    stored = [c[1] for c in api.calls if c[0] == "stored"]
    assert stored == ["clusters.cluster.x-k8s.io"]  # Machine's storedVersions untouched: some objects may be old
    assert not [c for c in api.calls if c[1:2] == ("machinesets",)]


def test_running_again_resumes_with_the_kinds_not_done():
    api = FakeApi(kinds(), {"clusters": ["prod"], "machines": ["m-1", "m-2"], "machinesets": ["ms-1"]}, fail_on="m-2")
    with pytest.raises(cm.CrdMigrationError):
        cm.migrate(api, new_release(), progress=lambda line: None)
    api.fail_on, api.calls = None, []
    done = cm.migrate(api, new_release(), progress=lambda line: None)
    assert [m.kind for m in done] == ["Machine", "MachineSet"]
    assert [c[1] for c in api.calls if c[0] == "list"] == ["machines", "machinesets"]


def test_a_refused_release_writes_nothing():
    api = FakeApi([clusters("v0.4.0", ["v1alpha4"])], {"clusters": ["prod"]})
    with pytest.raises(cm.CrdMigrationError, match="stored as v1alpha4"):
        cm.migrate(api, new_release(), progress=lambda line: None)
    assert api.calls == [("list_crds",)]


def test_nothing_to_do_makes_no_write_and_no_line():
    lines: list[str] = []
    api = FakeApi(kinds(stored=("v1beta2",)), {"machines": ["m-1"]})
    assert cm.migrate(api, new_release(), progress=lines.append) == []
    assert api.calls == [("list_crds",)] and lines == []


def test_progress_names_the_kind_the_versions_and_the_count():
    lines: list[str] = []
    api = FakeApi(kinds(stored=("v1alpha4", "v1beta1", "v1beta2"))[1:2], {"machines": [f"m-{i}" for i in range(250)]})
    cm.migrate(api, new_release(), progress=lines.append)
    assert lines == [
        "crd migration 1/1: Machine (machines.cluster.x-k8s.io): rewriting 250 object(s) stored as v1alpha4, v1beta1 into v1beta2; the new release drops v1alpha4",
        "crd migration 1/1: Machine: 100/250 objects",
        "crd migration 1/1: Machine: 200/250 objects",
        "crd migration 1/1: Machine: done, storedVersions [v1beta2]",
    ]
