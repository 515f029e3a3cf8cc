"""How CAPI providers are fetched, substituted, labelled and recorded (pure)."""

from __future__ import annotations

import pytest

from clusterctl_py import versions
from clusterctl_py.components.capi import provider_documents
from clusterctl_py.render import capi_components as cc
from tests.support.crds import CAPI_CRDS, CrdCatalog, require_reference


def test_envsubst_forms():
    text = "a: ${A}\nb: ${B:=bee}\nc: ${C:-see}\nd: $${NOT_A_VAR}\n"
    assert cc.envsubst(text, {"A": "x"}) == "a: x\nb: bee\nc: see\nd: ${NOT_A_VAR}\n"
    assert cc.envsubst(text, {"A": "x", "B": "1", "C": "2"}) == "a: x\nb: 1\nc: 2\nd: ${NOT_A_VAR}\n"
    # An empty value falls back to the default, as in drone/envsubst.
    assert "b: bee" in cc.envsubst(text, {"A": "x", "B": ""})


def test_every_missing_required_variable_is_named():
    with pytest.raises(cc.MissingVariables) as info:
        cc.envsubst("${ZED}\n${ALPHA}\n${OPT:=1}\n${ZED}\n", {}, source="https://example/x.yaml")
    assert info.value.names == ["ALPHA", "ZED"]
    assert str(info.value) == "https://example/x.yaml: variables without a default and not set: ALPHA, ZED"


def test_provider_table_follows_clusterctl_conventions():
    by_label = {p.manifest_label: p for p in cc.PROVIDERS}
    assert set(by_label) == {"cluster-api", "bootstrap-kubeadm", "control-plane-kubeadm", "infrastructure-hetzner", "addon-helm"}
    assert by_label["infrastructure-hetzner"].components_url() == (
        f"https://github.com/syself/cluster-api-provider-hetzner/releases/download/{versions.CAPH}/infrastructure-components.yaml"
    )
    assert by_label["cluster-api"].components_url("https://mirror.example/gh/") == (
        f"https://mirror.example/gh/kubernetes-sigs/cluster-api/releases/download/{versions.CAPI}/core-components.yaml"
    )


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


def test_token_secret_carries_the_move_label():
    secret = cc.token_secret("prod", "t" * 64)
    assert secret["metadata"] == {"name": "hcloud", "namespace": "prod", "labels": {"clusterctl.cluster.x-k8s.io/move": ""}}
    assert secret["stringData"] == {"hcloud": "t" * 64}
