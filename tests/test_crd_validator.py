"""The conformance harness itself: it must catch what kubectl's strict validation would."""

from __future__ import annotations

import pytest

from tests.support.crds import CrdCatalog, require_reference

PINNED = ("cluster-api/v1.13.5", "caph/v1.1.8", "caaph/v0.6.4")


@pytest.fixture(scope="module")
def catalog() -> CrdCatalog:
    return CrdCatalog.load(require_reference(*PINNED), PINNED)


def md(**spec_extra) -> dict:
    return {
        "apiVersion": "cluster.x-k8s.io/v1beta2",
        "kind": "MachineDeployment",
        "metadata": {"name": "md", "namespace": "ns", "labels": {"a": "b"}},
        "spec": {
            "clusterName": "c",
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {
                    "clusterName": "c",
                    "bootstrap": {"configRef": {"apiGroup": "bootstrap.cluster.x-k8s.io", "kind": "KubeadmConfigTemplate", "name": "k"}},
                    "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "HCloudMachineTemplate", "name": "h"},
                },
            },
            **spec_extra,
        },
    }


def test_valid_object_passes(catalog):
    assert catalog.validate(md()) == []


@pytest.mark.parametrize("surge", [1, "25%"])
def test_int_or_string_accepts_both(catalog, surge):
    rollout = {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge}}}
    assert catalog.validate(md(rollout=rollout)) == []


def test_wrong_type_is_reported_with_its_path(catalog):
    problems = catalog.validate(md(replicas="three"))
    assert problems and problems[0].startswith("MachineDeployment/md spec.replicas:")


def test_missing_required_field(catalog):
    obj = md()
    del obj["spec"]["clusterName"]
    assert any("'clusterName' is a required property" in p for p in catalog.validate(obj))


def test_helm_chart_proxy_rejects_misspelled_fields(catalog):
    proxy = {
        "apiVersion": "addons.cluster.x-k8s.io/v1alpha1",
        "kind": "HelmChartProxy",
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"clusterSelector": {}, "repoURL": "https://x", "chartName": "c", "valuesTemplate": "a: b"},
    }
    assert catalog.validate(proxy) == []
    proxy["spec"]["chartNmae"] = "typo"
    assert "HelmChartProxy/p spec.chartNmae: unknown field" in catalog.validate(proxy)


def test_metadata_is_checked(catalog):
    obj = md()
    obj["metadata"]["labels"] = {"a": "x" * 64}
    obj["metadata"]["nmae"] = "typo"
    problems = catalog.validate(obj)
    assert any("invalid label value" in p for p in problems)
    assert any("nmae" in p for p in problems)


def test_unknown_kinds_and_builtins(catalog):
    assert catalog.validate({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}}) == [
        "Thing/t: no schema for example.com/v1 Thing"
    ]
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque", "data": {"k": "not base64!"}}
    assert catalog.validate(secret)
    secret["data"] = {"k": "aGk="}
    assert catalog.validate(secret) == []
