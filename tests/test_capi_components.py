"""How CAPI providers are fetched, substituted, labelled and recorded (pure)."""

from __future__ import annotations

import pytest

from clusterctl_py import versions
from clusterctl_py.components.capi import provider_documents
from clusterctl_py.render import capi_components as cc
from tests.support.crds import CAPI_CRDS, CrdCatalog, require_reference


SOURCE = "https://example/x.yaml"


# drone/envsubst, which clusterctl substitutes with: readme.md's table, and
# funcs.go toDefault (an unset variable reads as empty; `:=` and `:-` give the
# default for an empty value and assign nothing); parse/parse_test.go for `$$`.
@pytest.mark.parametrize(
    "text, values, expected",
    [
        ("a: ${A}", {"A": "x"}, "a: x"),
        ("a: ${A}", {"A": ""}, "a: "),
        ("b: ${B:=bee}", {}, "b: bee"),
        ("b: ${B:=bee}", {"B": ""}, "b: bee"),
        ("b: ${B:=bee}", {"B": "1"}, "b: 1"),
        ("c: ${C:-see}", {}, "c: see"),
        ("c: ${C:-see}", {"C": ""}, "c: see"),
        ("c: ${C:-see}", {"C": "2"}, "c: 2"),
        ("d: ${D:=}", {"D": ""}, "d: "),
        ("e: ${E:=1} ${E}", {}, "e: 1 "),
        ("f: $${NOT_A_VAR} $$HOME", {}, "f: ${NOT_A_VAR} $HOME"),
    ],
)
def test_envsubst_substitutes_like_drone_envsubst(text, values, expected):
    assert cc.envsubst(text, values, source=SOURCE) == expected


def test_every_missing_required_variable_is_named():
    with pytest.raises(cc.MissingVariables) as info:
        cc.envsubst("${ZED}\n${ALPHA}\n${OPT:=1}\n${ZED}\n", {}, source=SOURCE)
    assert info.value.names == ["ALPHA", "ZED"]
    assert str(info.value) == "https://example/x.yaml: variables without a default and not set: ALPHA, ZED"


# What clusterctl refuses before substituting (kubernetes-sigs/cluster-api
# cmd/clusterctl/client/yamlprocessor/simple_processor.go: traverse keeps a
# variable's first occurrence, Process counts an empty default as none; a
# variable set to "" is set, as its viper reader allows empty env values).
@pytest.mark.parametrize(
    "text, values, missing",
    [
        ("${A} ${A:=1}", {}, ["A"]),
        ("${A:=1} ${A}", {}, []),
        ("${E:=}", {}, ["E"]),
        ("${E:-}", {}, ["E"]),
        ("${E:=}", {"E": ""}, []),
        ("${R}", {"R": ""}, []),
    ],
)
def test_required_variables_as_clusterctl_decides(text, values, missing):
    if missing:
        with pytest.raises(cc.MissingVariables) as info:
            cc.envsubst(text, values, source=SOURCE)
        assert info.value.names == missing
    else:
        cc.envsubst(text, values, source=SOURCE)


def test_provider_table_follows_clusterctl_conventions():
    by_label = {p.manifest_label: p for p in cc.PROVIDERS}
    assert set(by_label) == {"cluster-api", "bootstrap-kubeadm", "control-plane-kubeadm", "infrastructure-hetzner", "addon-helm"}
    assert by_label["infrastructure-hetzner"].components_url() == (
        f"https://github.com/syself/cluster-api-provider-hetzner/releases/download/{versions.CAPH}/infrastructure-components.yaml"
    )


@pytest.mark.parametrize("base", ["https://mirror.example/gh", "https://mirror.example/gh/"])
def test_mirror_replaces_github_with_or_without_trailing_slash(base):
    core = next(p for p in cc.PROVIDERS if p.manifest_label == "cluster-api")
    assert core.components_url(base) == (
        f"https://mirror.example/gh/kubernetes-sigs/cluster-api/releases/download/{versions.CAPI}/core-components.yaml"
    )
    # clusterctl installs its inventory CRD itself, from cluster-api's own tree at the tag.
    path = "cmd/clusterctl/config/crd/bases/clusterctl.cluster.x-k8s.io_providers.yaml"
    assert cc.inventory_crd_url(base) == f"https://mirror.example/gh/kubernetes-sigs/cluster-api/raw/{versions.CAPI}/{path}"
    assert cc.inventory_crd_url() == f"https://github.com/kubernetes-sigs/cluster-api/raw/{versions.CAPI}/{path}"


def test_components_are_labelled_like_clusterctl_init():
    provider = next(p for p in cc.PROVIDERS if p.name == "hetzner")
    text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: caph-system\n  labels: {a: b}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: caph-system}\ndata: {v: '${V:=1}'}\n"
    import yaml

    docs = list(yaml.safe_load_all(provider_documents(provider, text, {})))
    assert [d["metadata"]["labels"] for d in docs] == [
        {"a": "b", "clusterctl.cluster.x-k8s.io": "", "cluster.x-k8s.io/provider": "infrastructure-hetzner"},
        {"clusterctl.cluster.x-k8s.io": "", "cluster.x-k8s.io/provider": "infrastructure-hetzner"},
    ]
    assert docs[1]["data"] == {"v": "1"}


def test_inventory_validates_against_clusterctl_crd():
    root = require_reference(f"{CAPI_CRDS}/clusterctl")
    catalog = CrdCatalog.load(root, [f"{CAPI_CRDS}/clusterctl"])
    records = [cc.inventory(p) for p in cc.PROVIDERS]
    catalog.assert_valid(records)
    assert {(r["providerName"], r["type"]) for r in records} == {
        ("cluster-api", "CoreProvider"),
        ("kubeadm", "BootstrapProvider"),
        ("kubeadm", "ControlPlaneProvider"),
        ("hetzner", "InfrastructureProvider"),
        ("helm", "AddonProvider"),
    }


def test_inventory_is_labelled_like_clusterctl_init():
    # kubernetes-sigs/cluster-api cmd/clusterctl/client/repository/components.go
    # InventoryObject: the common labels plus the core label set to "inventory".
    hetzner = next(p for p in cc.PROVIDERS if p.name == "hetzner")
    record = cc.inventory(hetzner)
    assert record["metadata"] == {
        "name": "infrastructure-hetzner",
        "namespace": "caph-system",
        "labels": {
            "clusterctl.cluster.x-k8s.io": "",
            "cluster.x-k8s.io/provider": "infrastructure-hetzner",
            "clusterctl.cluster.x-k8s.io/core": "inventory",
        },
    }
    assert (record["apiVersion"], record["kind"], record["version"]) == ("clusterctl.cluster.x-k8s.io/v1alpha3", "Provider", versions.CAPH)


def test_inventory_crd_keeps_its_own_metadata_and_gains_the_init_labels():
    # kubernetes-sigs/cluster-api cmd/clusterctl/client/cluster/inventory.go
    # createObj: the CRD as published, its own labels kept, plus the core
    # label set to "inventory" (and the common label, as on everything
    # clusterctl installs).
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": "providers.clusterctl.cluster.x-k8s.io",
            "annotations": {"controller-gen.kubebuilder.io/version": "v0.18.0"},
            "labels": {"app": "published"},
        },
        "spec": {"group": "clusterctl.cluster.x-k8s.io"},
    }
    labelled = cc.label_inventory_crd(crd)
    assert labelled == {
        **crd,
        "metadata": {
            "name": "providers.clusterctl.cluster.x-k8s.io",
            "annotations": {"controller-gen.kubebuilder.io/version": "v0.18.0"},
            "labels": {"app": "published", "clusterctl.cluster.x-k8s.io": "", "clusterctl.cluster.x-k8s.io/core": "inventory"},
        },
    }
    assert crd["metadata"]["labels"] == {"app": "published"}, "the fetched document is left as it was"


def test_token_secret_carries_the_move_label():
    meta = cc.token_secret_metadata("hcloud", "prod", {"cluster.x-k8s.io/cluster-name": "prod"})
    assert meta == {
        "name": "hcloud",
        "namespace": "prod",
        "labels": {"cluster.x-k8s.io/cluster-name": "prod", "clusterctl.cluster.x-k8s.io/move": ""},
    }
