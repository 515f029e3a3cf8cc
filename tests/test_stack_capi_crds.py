"""CRDs survive provider upgrades: stacks/capi under Pulumi's mocks, with the real upstream CRDs.

Deleting a CRD deletes every object of its kind (every Cluster, Machine,
Certificate). Under mocks a ConfigGroup's or Chart's children are not
registered (the provider binary builds them), so these tests rebuild each CRD
child the way pulumi-kubernetes does and run the transforms the program gave
its parent over it.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import threading
from pathlib import Path

import pulumi
import pytest
import yaml

from clusterctl_py import versions
from clusterctl_py.render import capi_components as cc
from tests.support import crds as crd_support
from tests.support import suc
from tests.test_stack_capi import Assets, _apply, groups, run

CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
DEPLOYMENT_TYPE = "kubernetes:apps/v1:Deployment"
INVENTORY_CRD_PATH = "cmd/clusterctl/config/crd/bases/clusterctl.cluster.x-k8s.io_providers.yaml"

# A later release of each: CAPI v1.14.0 has its real CRDs in the reference;
# the others only need a different tag (their CRDs are served unchanged).
NEXT = {"CAPI": "v1.14.0", "CAPH": "v1.1.9", "CAAPH": "v0.6.5", "CERT_MANAGER": "v1.22.0"}


def _without_descriptions(node):
    """Descriptions are most of a CRD's size and nothing here reads them."""
    if isinstance(node, dict):
        return {k: _without_descriptions(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [_without_descriptions(v) for v in node]
    return node


@functools.lru_cache(maxsize=None)
def _crd_texts(folder: Path) -> tuple[str, ...]:
    docs = [d for p in sorted(folder.glob("*.yaml")) for d in yaml.load_all(p.read_text(), Loader=yaml.CSafeLoader) if d]
    return tuple(yaml.dump(_without_descriptions(d), Dumper=yaml.CSafeDumper) for d in docs)


def _crd_docs(folder: Path) -> list[dict]:
    return [yaml.load(t, Loader=yaml.CSafeLoader) for t in _crd_texts(folder)]


def _components(namespace: str, crds: list[dict]) -> str:
    """A components file shaped like a release's: namespace, CRDs, controller."""
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "controller-manager", "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": "m"}},
            "template": {"metadata": {"labels": {"app": "m"}}, "spec": {"containers": [{"name": "manager", "image": "registry.example/m:1"}]}},
        },
    }
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}, *crds, deployment]
    return yaml.dump_all(docs, Dumper=yaml.CSafeDumper)


@functools.lru_cache(maxsize=None)
def _release_files(capi: str, caph: str, caaph: str) -> dict[str, str]:
    next_capi = f"cluster-api/{NEXT['CAPI']}"
    root = crd_support.require_reference(crd_support.CAPI_CRDS, next_capi, crd_support.CAPH_CRDS, crd_support.CAAPH_CRDS) / "crds"
    capi_dir = root / (next_capi if capi == NEXT["CAPI"] else crd_support.CAPI_CRDS)
    assets = [
        ("kubernetes-sigs/cluster-api", capi, "core-components.yaml", "capi-system", capi_dir / "core"),
        ("kubernetes-sigs/cluster-api", capi, "bootstrap-components.yaml", "capi-kubeadm-bootstrap-system", capi_dir / "bootstrap-kubeadm"),
        ("kubernetes-sigs/cluster-api", capi, "control-plane-components.yaml", "capi-kubeadm-control-plane-system", capi_dir / "controlplane-kubeadm"),
        ("syself/cluster-api-provider-hetzner", caph, "infrastructure-components.yaml", "caph-system", root / crd_support.CAPH_CRDS),
        ("kubernetes-sigs/cluster-api-addon-provider-helm", caaph, "addon-components.yaml", "caaph-system", root / crd_support.CAAPH_CRDS),
    ]
    files = {f"/gh/{repo}/releases/download/{tag}/{asset}": _components(ns, _crd_docs(folder)) for repo, tag, asset, ns, folder in assets}
    # v1.14.0's reference has no clusterctl folder; the inventory CRD did not change.
    inventory = (root / crd_support.CAPI_CRDS / "clusterctl" / "clusterctl.cluster.x-k8s.io_providers.yaml").read_text()
    files[f"/gh/kubernetes-sigs/cluster-api/raw/{capi}/{INVENTORY_CRD_PATH}"] = inventory
    return files


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    """Serves the pinned releases and the next ones; returns the base URL."""
    files = {
        **_release_files(versions.CAPI, versions.CAPH, versions.CAAPH),
        **_release_files(NEXT["CAPI"], NEXT["CAPH"], NEXT["CAAPH"]),
        **suc.release_files("/gh"),
    }
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (Assets,), {"files": files, "asked": []}))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield f"http://127.0.0.1:{httpd.server_address[1]}/gh"
    httpd.shutdown()


@pytest.fixture(scope="module")
def pinned(releases):
    """The program run once at the pinned versions: (mocks, monitor)."""
    mocks, monitor, _ = run(releases)
    return mocks, monitor


def _bump(monkeypatch) -> None:
    """Pin the next releases, as an edit of clusterctl_py/versions.py would."""
    tags = {"CoreProvider": NEXT["CAPI"], "BootstrapProvider": NEXT["CAPI"], "ControlPlaneProvider": NEXT["CAPI"],
            "InfrastructureProvider": NEXT["CAPH"], "AddonProvider": NEXT["CAAPH"]}
    for name, tag in NEXT.items():
        monkeypatch.setattr(versions, name, tag)
    monkeypatch.setattr(cc, "PROVIDERS", tuple(dataclasses.replace(p, version=tags[p.type]) for p in cc.PROVIDERS))


@dataclasses.dataclass(frozen=True)
class Child:
    parent: str  # the ConfigGroup's or Chart's name
    identity: tuple[str, str, str]  # what its URN is made of: parent URN, type, name
    body: dict


def crd_children(mocks, monitor) -> dict[str, Child]:
    """Every CRD the install applies, keyed by CRD name, as pulumi-kubernetes registers it.

    A child of a ConfigGroup (and of a Chart, which registers through the same
    code) is named `<resourcePrefix>:<metadata.name>` (cluster-scoped), the
    prefix defaulting to the component's name, with the component as parent
    (pulumi/pulumi-kubernetes provider/pkg/provider/yaml/v2/yaml.go register,
    configgroup.go, helm/v4/chart.go). The chart's CRDs are not visible under
    mocks: the cert-manager CRDs of the reference stand in for them.
    """
    children: dict[str, Child] = {}

    def add(parent: str, prefix: str, doc: dict) -> None:
        name = doc["metadata"]["name"]
        assert name not in children, f"{name} is applied twice"
        children[name] = Child(parent, (monitor.named(parent).urn, CRD_TYPE, f"{prefix}:{name}"), doc)

    for name, group in groups(mocks).items():
        for doc in yaml.load_all(group.inputs.get("yaml") or "", Loader=yaml.CSafeLoader):
            if doc and doc["kind"] == "CustomResourceDefinition":
                add(name, group.inputs.get("resourcePrefix") or name, doc)
    chart = mocks.named("capi-cert-manager")
    root = crd_support.require_reference(crd_support.CERT_MANAGER_CRDS) / "crds"
    for doc in _crd_docs(root / crd_support.CERT_MANAGER_CRDS):
        add(chart.name, chart.inputs.get("resourcePrefix") or chart.name, doc)
    return children


def _as_child(child: Child, type_: str = CRD_TYPE, body: dict | None = None) -> pulumi.ResourceTransformArgs:
    return pulumi.ResourceTransformArgs(
        custom=True, type_=type_, name=child.identity[2], props=body or child.body, opts=pulumi.ResourceOptions()
    )


def test_every_crd_of_the_install_is_retained_when_pulumi_would_delete_it(pinned):
    mocks, monitor = pinned
    children = crd_children(mocks, monitor)
    # CAPI core 13, kubeadm bootstrap 2 and control plane 2, CAPH 11, CAAPH 2, inventory 1, cert-manager 4,
    # system-upgrade-controller's Plan 1.
    assert len(children) == 36
    assert {c.parent for c in children.values()} == {
        "capi-cluster-api", "capi-bootstrap-kubeadm", "capi-control-plane-kubeadm", "capi-infrastructure-hetzner",
        "capi-addon-helm", "capi-clusterctl-inventory-crd", "capi-cert-manager", "k3s-upgrade-crd",
    }
    not_retained = []
    for name, child in sorted(children.items()):
        result = _apply(mocks.args[child.parent].transforms, _as_child(child))
        if result is None or result.opts.retain_on_delete is not True:
            not_retained.append(f"{name} (in {child.parent})")
    assert not not_retained, "CRDs Pulumi may delete: " + ", ".join(not_retained)


def test_controllers_are_not_retained_so_destroy_removes_them(pinned):
    mocks, monitor = pinned
    deployment = yaml.load_all(groups(mocks)["capi-cluster-api"].inputs["yaml"], Loader=yaml.CSafeLoader)
    (body,) = [d for d in deployment if d["kind"] == "Deployment"]
    child = next(c for c in crd_children(mocks, monitor).values() if c.parent == "capi-cluster-api")
    result = _apply(mocks.args["capi-cluster-api"].transforms, _as_child(child, DEPLOYMENT_TYPE, body))
    assert result is None or not result.opts.retain_on_delete


def _bundles(monitor) -> dict[str, str]:
    return {r.name: r.urn for r in monitor.requests if r.type in ("kubernetes:yaml/v2:ConfigGroup", "kubernetes:helm.sh/v4:Chart")}


def test_a_version_bump_updates_each_crd_in_place(releases, pinned, monkeypatch):
    """Same URN before and after the bump: Pulumi diffs and updates; a new URN
    would be a create plus a delete of the old one."""
    mocks, monitor = pinned
    before = crd_children(mocks, monitor)
    components_before = _bundles(monitor)
    # The chart, five providers, five inventory records, the inventory CRD, SUC's CRD and controller.
    assert len(components_before) == 14

    _bump(monkeypatch)
    mocks, monitor, _ = run(releases)
    after = crd_children(mocks, monitor)

    assert {name: c.identity for name, c in after.items()} == {name: c.identity for name, c in before.items()}
    assert _bundles(monitor) == components_before
    # The bump is real: the new release's CRDs differ, and the inventory records it.
    assert after["clusters.cluster.x-k8s.io"].body != before["clusters.cluster.x-k8s.io"].body
    assert mocks.named("capi-cert-manager").inputs["version"] == NEXT["CERT_MANAGER"]
    records = {r["metadata"]["name"]: r["version"] for n, g in groups(mocks).items() if n.startswith("capi-inventory-") for r in g.inputs["objs"]}
    assert records["cluster-api"] == NEXT["CAPI"] and records["infrastructure-hetzner"] == NEXT["CAPH"]


def test_a_new_install_adopts_the_crds_a_destroy_left_behind(pinned):
    # pulumi-kubernetes >= 4.29 fails to create an object that exists unless the
    # provider upserts (its CHANGELOG, #2926); retained CRDs always exist then.
    mocks, _ = pinned
    assert mocks.named("capi-management").inputs["upsertExistingObjects"] == "true"
