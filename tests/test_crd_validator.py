"""The CRD validator itself: it must catch what kubectl's strict validation would, and nothing less."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from clusterctl_py import spec as spec_mod
from clusterctl_py.render import render_cluster
from tests.conftest import platform_data
from tests.support import crds as crds_mod
from tests.support.crds import CAPH_CRDS, CAPI_CRDS, CERT_MANAGER_CRDS, PINNED, CrdCatalog, require_reference

# Every release folder the project pins (flux holds three distinct components);
# versions.py does not pin the platform components yet, so their folders are named here.
ALL_PINNED = (
    *PINNED,
    CERT_MANAGER_CRDS,
    "knative-serving/v1.23.0",
    "knative-operator/v1.23.0",
    "cloudnative-pg/v1.30.0",
    "flux",
)


@pytest.fixture(scope="module")
def catalog() -> CrdCatalog:
    return CrdCatalog.load(require_reference(*PINNED), PINNED)


def ref(kind: str, name: str, group: str = "infrastructure.cluster.x-k8s.io") -> dict[str, str]:
    return {"apiGroup": group, "kind": kind, "name": name}


def cluster(**spec_extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "cluster.x-k8s.io/v1beta2",
        "kind": "Cluster",
        "metadata": {"name": "prod", "namespace": "prod", "labels": {"cluster.x-k8s.io/cluster-name": "prod"}},
        "spec": {
            "clusterNetwork": {"pods": {"cidrBlocks": ["10.244.0.0/16"]}},
            "infrastructureRef": ref("HetznerCluster", "prod"),
            "controlPlaneRef": ref("KubeadmControlPlane", "prod-control-plane", "controlplane.cluster.x-k8s.io"),
            **spec_extra,
        },
    }


def hcloud_template() -> dict[str, Any]:
    return {
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
        "kind": "HCloudMachineTemplate",
        "metadata": {"name": "prod-cp", "namespace": "prod"},
        "spec": {"template": {"spec": {"type": "cpx22", "imageName": "ubuntu-24.04"}}},
    }


def control_plane(**spec_extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "controlplane.cluster.x-k8s.io/v1beta2",
        "kind": "KubeadmControlPlane",
        "metadata": {"name": "prod-control-plane", "namespace": "prod"},
        "spec": {
            "version": "v1.33.4",
            "replicas": 3,
            "machineTemplate": {"spec": {"infrastructureRef": ref("HCloudMachineTemplate", "prod-cp")}},
            **spec_extra,
        },
    }


def machine_deployment(**spec_extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "cluster.x-k8s.io/v1beta2",
        "kind": "MachineDeployment",
        "metadata": {"name": "prod-md", "namespace": "prod"},
        "spec": {
            "clusterName": "prod",
            "selector": {"matchLabels": {"pool": "general"}},
            "template": {
                "metadata": {"labels": {"pool": "general"}},
                "spec": {
                    "clusterName": "prod",
                    "bootstrap": {"configRef": ref("KubeadmConfigTemplate", "k", "bootstrap.cluster.x-k8s.io")},
                    "infrastructureRef": ref("HCloudMachineTemplate", "h"),
                },
            },
            **spec_extra,
        },
    }


# --------------------------------------------------------------------------- CAPI core


def test_minimal_cluster_passes(catalog):
    assert catalog.validate(cluster()) == []


def test_misspelled_field_fails_and_names_its_path(catalog):
    obj = cluster()
    obj["spec"]["clusterNetwork"] = {"pod": {"cidrBlocks": ["10.244.0.0/16"]}}
    assert catalog.validate(obj) == ["Cluster/prod spec.clusterNetwork.pod: unknown field"]


def test_misspelled_top_level_field_fails(catalog):
    obj = cluster()
    obj["sepc"] = obj.pop("spec")
    assert catalog.validate(obj) == ["Cluster/prod sepc: unknown field", "Cluster/prod spec: required field missing"]


def test_patterns_use_go_end_of_text(catalog):
    # Python's `$` matches before a trailing newline; RE2's (the apiserver's) does not.
    obj = cluster(infrastructureRef=ref("HetznerCluster", "prod\n"))
    assert catalog.validate(obj) == [
        r"Cluster/prod spec.infrastructureRef.name: 'prod\n' does not match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\Z'"
    ]


@pytest.mark.parametrize("surge", [1, "25%"])
def test_int_or_string_accepts_both(catalog, surge):
    rollout = {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge}}}
    assert catalog.validate(machine_deployment(rollout=rollout)) == []


@pytest.mark.parametrize("surge", [1.5, True, ["1"]])
def test_int_or_string_rejects_other_types(catalog, surge):
    rollout = {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge}}}
    (problem,) = catalog.validate(machine_deployment(rollout=rollout))
    assert problem.startswith("MachineDeployment/prod-md spec.rollout.strategy.rollingUpdate.maxSurge: expected integer or string, got ")


def test_preserve_unknown_fields_region_accepts_anything(catalog):
    # ClusterVariable.value is apiextensionsv1.JSON: `x-kubernetes-preserve-unknown-fields: true`, no type.
    value = {"anything": {"nested": [1, "two", None]}, "camelCase": True}
    topology = {"classRef": {"name": "hetzner"}, "version": "v1.33.4", "variables": [{"name": "a", "value": value}, {"name": "b", "value": 3}]}
    assert catalog.validate(cluster(topology=topology)) == []
    # ...but the object around it is still strict.
    topology["variables"][0]["vaule"] = 1
    assert catalog.validate(cluster(topology=topology)) == ["Cluster/prod spec.topology.variables[0].vaule: unknown field"]


def test_list_type_map_rejects_duplicate_keys(catalog):
    topology = {"classRef": {"name": "hetzner"}, "version": "v1.33.4", "variables": [{"name": "a", "value": 1}, {"name": "a", "value": 2}]}
    assert catalog.validate(cluster(topology=topology)) == [
        "Cluster/prod spec.topology.variables[1]: duplicate entry (name='a') in a list-type=map; first at index 0"
    ]


def test_missing_required_field_names_the_field(catalog):
    obj = machine_deployment()
    del obj["spec"]["clusterName"], obj["spec"]["template"]["spec"]["infrastructureRef"]
    assert catalog.validate(obj) == [
        "MachineDeployment/prod-md spec.clusterName: required field missing",
        "MachineDeployment/prod-md spec.template.spec.infrastructureRef: required field missing",
    ]


def test_deprecated_versions_validate_but_are_flagged(catalog):
    assert ("cluster.x-k8s.io/v1beta1", "Cluster") in catalog.deprecated
    assert ("cluster.x-k8s.io/v1beta2", "Cluster") not in catalog.deprecated
    old = {"apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "Cluster", "metadata": {"name": "old"}, "spec": {"paused": True}}
    assert catalog.validate(old) == []
    assert ("cluster.x-k8s.io/v1beta1", "Cluster") in catalog.served


# --------------------------------------------------------------------------- KubeadmControlPlane


def test_control_plane_passes(catalog):
    assert catalog.validate(control_plane()) == []


def test_wrong_type_fails(catalog):
    assert catalog.validate(control_plane(replicas="three")) == [
        "KubeadmControlPlane/prod-control-plane spec.replicas: expected integer, got string 'three'"
    ]


def test_int32_range_is_checked(catalog):
    (problem,) = catalog.validate(control_plane(replicas=2**31))
    assert problem == "KubeadmControlPlane/prod-control-plane spec.replicas: 2147483648 is not a valid int32"


def test_a_field_named_format_is_a_field_not_a_keyword(catalog):
    # KubeadmConfigSpec has a property called `format`: converting the schema must not drop it.
    assert catalog.validate(control_plane(kubeadmConfigSpec={"format": "cloud-config"})) == []
    assert catalog.validate(control_plane(kubeadmConfigSpec={"format": "yaml"})) == [
        "KubeadmControlPlane/prod-control-plane spec.kubeadmConfigSpec.format: 'yaml' is not one of ['cloud-config', 'ignition']"
    ]


# --------------------------------------------------------------------------- CAPH and CAAPH


def test_hcloud_machine_template_passes(catalog):
    assert catalog.validate(hcloud_template()) == []


def test_hcloud_machine_template_requires_type(catalog):
    obj = hcloud_template()
    del obj["spec"]["template"]["spec"]["type"]
    assert catalog.validate(obj) == ["HCloudMachineTemplate/prod-cp spec.template.spec.type: required field missing"]


def test_unserved_version_fails_clearly(catalog):
    obj = hcloud_template()
    obj["apiVersion"] = "infrastructure.cluster.x-k8s.io/v1beta2"  # CAPH v1.1.8 serves v1beta1 only
    (problem,) = catalog.validate(obj)
    assert problem.startswith("HCloudMachineTemplate/prod-cp: apiVersion infrastructure.cluster.x-k8s.io/v1beta2 is not served")
    assert problem.endswith("(served: v1beta1)")


def test_helm_chart_proxy_rejects_misspelled_fields(catalog):
    proxy = {
        "apiVersion": "addons.cluster.x-k8s.io/v1alpha1",
        "kind": "HelmChartProxy",
        "metadata": {"name": "cilium", "namespace": "prod"},
        "spec": {"clusterSelector": {"matchLabels": {"cni": "cilium"}}, "repoURL": "https://helm.cilium.io", "chartName": "cilium", "valuesTemplate": "a: b"},
    }
    assert catalog.validate(proxy) == []
    proxy["spec"]["chartNmae"] = "typo"
    assert catalog.validate(proxy) == ["HelmChartProxy/cilium spec.chartNmae: unknown field"]


# --------------------------------------------------------------------------- metadata


def test_label_value_longer_than_63_fails(catalog):
    obj = cluster()
    obj["metadata"]["labels"]["example.com/team"] = "x" * 64
    (problem,) = catalog.validate(obj)
    assert problem.startswith('Cluster/prod metadata.labels["example.com/team"]: invalid label value \'xxx')
    assert "(64 characters): at most 63" in problem
    obj["metadata"]["labels"]["example.com/team"] = "x" * 63
    assert catalog.validate(obj) == []


@pytest.mark.parametrize(
    "meta, path",
    [
        ({"name": "prod", "labels": {"Bad_Prefix/x": "y"}}, 'metadata.labels["Bad_Prefix/x"]'),
        ({"name": "prod", "labels": {"a": "-dash"}}, "metadata.labels.a"),
        ({"name": "prod", "labels": {"a": 1}}, "metadata.labels.a"),
        ({"name": "prod", "annotations": {"a/b/c": "x"}}, 'metadata.annotations["a/b/c"]'),
        ({"name": "Prod"}, "metadata.name"),
        ({"name": "x" * 254}, "metadata.name"),
        ({"name": "prod", "namespace": "a.b"}, "metadata.namespace"),
        ({"name": "prod", "nmae": "typo"}, "metadata.nmae"),
        ({"name": "prod", "creationTimestamp": None}, "metadata.creationTimestamp"),
        ({"namespace": "prod"}, "metadata.name"),
        ({"name": "prod", "ownerReferences": [{"apiVersion": "v1", "kind": "Secret", "name": "s"}]}, "metadata.ownerReferences[0].uid"),
    ],
)
def test_metadata_is_checked(catalog, meta, path):
    obj = cluster()
    obj["metadata"] = meta
    problems = catalog.validate(obj)
    assert len(problems) == 1 and re.match(rf"Cluster/\S+ {re.escape(path)}: ", problems[0]), problems


def test_valid_metadata_passes(catalog):
    obj = cluster()
    obj["metadata"] = {
        "name": "prod.eu-1",
        "namespace": "team-a",
        "labels": {"example.com/team": "shop", "node-role.kubernetes.io/web": "", "tier": "A_b.c-9"},
        "annotations": {"pulumi.com/waitFor": "condition=Available", "note": "any text\nat all"},
        "finalizers": ["example.com/cleanup"],
    }
    assert catalog.validate(obj) == []


# --------------------------------------------------------------------------- kinds without a CRD


def test_unknown_kind_fails(catalog):
    assert catalog.validate({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"}}) == [
        "Thing/t: no schema for example.com/v1 Thing: neither a loaded CRD nor a built-in kind"
    ]
    # A built-in group without a built-in schema is not waved through either.
    daemonset = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"}, "spec": {}}
    assert catalog.validate(daemonset) == ["DaemonSet/d: no schema for apps/v1 DaemonSet: neither a loaded CRD nor a built-in kind"]
    assert catalog.validate({"kind": "Thing", "metadata": {"name": "t"}}) == [
        "Thing/t: apiVersion and kind must be non-empty strings, got None and 'Thing'"
    ]


def test_namespace_builtin(catalog):
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "labels": {"a": "b"}}}
    assert catalog.validate(ns) == []
    ns["metadata"]["name"] = "prod.eu"  # a namespace name is a DNS label, not a subdomain
    ns["spec"] = {"finalizer": ["kubernetes"]}
    problems = catalog.validate(ns)
    assert [p.split(":")[0] for p in problems] == ["Namespace/prod.eu metadata.name", "Namespace/prod.eu spec.finalizer"]


def test_secret_builtin(catalog):
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hcloud", "namespace": "prod"}, "type": "Opaque"}
    secret |= {"data": {"token": "aGk="}, "stringData": {"hcloud": "plain text"}}
    assert catalog.validate(secret) == []
    bad = copy.deepcopy(secret) | {"data": {"token": "not base64!", "bad key": "aGk="}, "stringData": {"n": 1}}
    assert catalog.validate(bad) == ["Secret/hcloud stringData.n: expected string, got integer 1"]
    del bad["stringData"]
    assert catalog.validate(bad) == [
        "Secret/hcloud data.token: value is not valid base64 (use stringData for plain text)",
        'Secret/hcloud data["bad key"]: invalid key: at most 253 alphanumerics, \'-\', \'_\' or \'.\'',
    ]
    typo = copy.deepcopy(secret)
    typo["stringdata"] = typo.pop("stringData")
    assert catalog.validate(typo) == ["Secret/hcloud stringdata: unknown field"]
    tls = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t"}, "type": "kubernetes.io/tls", "stringData": {"tls.crt": "x"}}
    assert catalog.validate(tls) == ["Secret/t data: a kubernetes.io/tls Secret needs key tls.key"]


def test_configmap_builtin(catalog):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a.yaml": "x: 1"}}
    assert catalog.validate(cm) == []
    cm["data"]["n"] = 3
    assert catalog.validate(cm) == ["ConfigMap/c data.n: expected string, got integer 3"]


# --------------------------------------------------------------------------- API behaviour


def test_assert_valid_lists_every_problem(catalog):
    catalog.assert_valid([cluster(), hcloud_template(), control_plane()])
    with pytest.raises(AssertionError) as info:
        catalog.assert_valid([cluster(), control_plane(replicas="three"), {"apiVersion": "x/v1", "kind": "Y", "metadata": {"name": "y"}}])
    text = str(info.value)
    assert text.startswith("2 schema problem(s) in 3 object(s):\n")
    assert "KubeadmControlPlane/prod-control-plane spec.replicas:" in text and "Y/y: no schema for x/v1 Y" in text


def test_catalogs_are_cached_and_order_insensitive():
    root = require_reference(*PINNED)
    first = CrdCatalog.load(root, PINNED)
    assert CrdCatalog.load(root / "crds", reversed(PINNED)) is first
    assert CrdCatalog.load(str(root), list(PINNED)) is first


def test_two_releases_of_one_provider_conflict():
    # v1.14.0 is the next release, kept for upgrade work; it must differ from the pin.
    assert CAPI_CRDS != "cluster-api/v1.14.0"
    root = require_reference(CAPI_CRDS, "cluster-api/v1.14.0")
    with pytest.raises(ValueError, match=rf"\.cluster\.x-k8s\.io is defined by both .*/{re.escape(CAPI_CRDS)}/.* and .*/v1\.14\.0/"):
        CrdCatalog.load(root, [CAPI_CRDS, "cluster-api/v1.14.0"])


def test_non_crd_documents_are_skipped():
    root = require_reference("knative-serving/v1.23.0")
    catalog = CrdCatalog.load(root, ["knative-serving/v1.23.0"])  # has configmaps/ next to the CRDs
    assert {kind for _, kind in catalog.served} == {
        *("Configuration", "DomainMapping", "Revision", "Route", "Service"),
        *("Namespace", "Secret", "ConfigMap", "ServiceAccount", "Role", "RoleBinding", "Deployment", "StorageClass"),
    }


def test_every_pinned_schema_converts():
    root = require_reference(*ALL_PINNED)
    catalog = CrdCatalog.load(root, ALL_PINNED)
    for api, kind in sorted(catalog.served):
        problems = catalog.validate({"apiVersion": api, "kind": kind, "metadata": {"name": "x"}})
        assert not [p for p in problems if "no schema" in p or "not served" in p], problems


def test_nullable_and_bare_objects(tmp_path: Path):
    # No pinned CRD uses `nullable`, so a tiny one pins the conversion down.
    spec = {
        "type": "object",
        "properties": {
            "mode": {"type": "string", "enum": ["a", "b"], "nullable": True},
            "count": {"type": "integer"},
            "empty": {"type": "object"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    catalog = _widget_catalog(tmp_path, spec, unserved=("v0",))

    def widget(api: str = "example.com/v1", **spec: Any) -> dict[str, Any]:
        return {"apiVersion": api, "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}

    assert catalog.validate(widget(mode=None, labels={"free": "form"}, empty={})) == []
    assert catalog.validate(widget(mode="c", count=None, empty={"x": 1})) == [
        "Widget/w spec.count: expected integer, got null None",
        "Widget/w spec.empty.x: unknown field",
        "Widget/w spec.mode: 'c' is not one of ['a', 'b', None]",
    ]
    assert catalog.validate(widget("example.com/v0")) == [
        f"Widget/w: apiVersion example.com/v0 is not served by the Widget CRD in {(tmp_path / 'example' / 'crd.yaml').resolve()} (served: v1)"
    ]


def test_reference_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv(crds_mod.ENV, str(tmp_path))
    assert crds_mod.reference_dir() == tmp_path.resolve()
    with pytest.raises(pytest.skip.Exception, match=rf"{re.escape(CAPH_CRDS)} not found; set CLUSTERCTL_PY_REFERENCE"):
        require_reference(CAPH_CRDS)
    monkeypatch.setenv(crds_mod.ENV, str(tmp_path / "missing"))
    assert crds_mod.reference_dir() is None
    with pytest.raises(pytest.skip.Exception, match=r"path .*missing not found; set CLUSTERCTL_PY_REFERENCE"):
        require_reference()


@pytest.mark.parametrize("ci", ["true", "1"])
def test_in_ci_a_missing_reference_fails_instead_of_skipping(tmp_path, monkeypatch, ci):
    def outcome(*subdirs: str) -> tuple[type, str]:
        # A skip must not escape: it would skip this test instead of failing it.
        with pytest.raises((pytest.fail.Exception, pytest.skip.Exception)) as info:
            require_reference(*subdirs)
        return info.type, str(info.value)

    monkeypatch.setenv("CI", ci)
    monkeypatch.setenv(crds_mod.ENV, str(tmp_path / "missing"))
    kind, message = outcome()
    assert kind is pytest.fail.Exception
    assert re.fullmatch(r"upstream CRDs unavailable: path \S*missing not found; set CLUSTERCTL_PY_REFERENCE to the reference folder that contains crds/ \(CI is set, so this fails instead of skipping\)", message)
    monkeypatch.setenv(crds_mod.ENV, str(tmp_path))
    kind, message = outcome(CAPH_CRDS)
    assert kind is pytest.fail.Exception and f"{CAPH_CRDS} not found; set CLUSTERCTL_PY_REFERENCE to a reference folder with crds/" in message
    monkeypatch.setenv("CI", "false")
    assert outcome(CAPH_CRDS)[0] is pytest.skip.Exception


def test_pinned_folders_follow_versions_py():
    from clusterctl_py import versions

    assert PINNED == (f"cluster-api/{versions.CAPI}", f"caph/{versions.CAPH}", f"caaph/{versions.CAAPH}")
    assert CERT_MANAGER_CRDS == f"cert-manager/{versions.CERT_MANAGER}"
    # No test names a pinned provider folder itself (a bump in versions.py would leave it behind).
    # test_stack_cluster.py belongs to the cluster-stack work of issue 6; it switches to PINNED there.
    tests = Path(__file__).parent
    sources = {f.name: f.read_text(encoding="utf-8") for f in sorted(tests.rglob("*.py")) if f.name != "test_stack_cluster.py"}
    offenders = {folder: [name for name, text in sources.items() if folder in text] for folder in (*PINNED, CERT_MANAGER_CRDS)}
    assert not any(offenders.values()), f"pinned folders hard-coded (use tests.support.crds): {offenders}"


# --------------------------------------------------------------------------- CEL rules


def _rendered(kind: str, index: int = 0) -> dict[str, Any]:
    spec = spec_mod.parse(platform_data())
    return copy.deepcopy([o for o in render_cluster(spec, spec.cluster("prod")) if o["kind"] == kind][index])


def test_rendered_objects_reach_cel_rules_and_pass(catalog):
    # The rules below are real: a rendered KubeadmControlPlane passes through the extraArgs rules.
    kcp = _rendered("KubeadmControlPlane")
    assert kcp["spec"]["kubeadmConfigSpec"]["clusterConfiguration"]["apiServer"]["extraArgs"]
    assert catalog.validate(kcp) == []


def test_duplicate_extra_args_break_the_cel_rule(catalog):
    # cluster-api bootstrap/kubeadm/api/v1beta2: "extraArgs name must be unique".
    kcp = _rendered("KubeadmControlPlane")
    args = kcp["spec"]["kubeadmConfigSpec"]["clusterConfiguration"]["controllerManager"]["extraArgs"]
    args.append({"name": args[0]["name"], "value": "other"})
    assert catalog.validate(kcp) == [
        "KubeadmControlPlane/prod-control-plane spec.kubeadmConfigSpec.clusterConfiguration.controllerManager.extraArgs: extraArgs name must be unique"
    ]


def test_duplicate_kubelet_extra_args_in_a_bootstrap_template(catalog):
    template = _rendered("KubeadmConfigTemplate", 1)  # the arm pool: cloud-provider and node-labels
    registration = template["spec"]["template"]["spec"]["joinConfiguration"]["nodeRegistration"]
    registration["kubeletExtraArgs"].append({"name": "node-labels", "value": "tier=web"})
    name = template["metadata"]["name"]
    assert catalog.validate(template) == [
        f"KubeadmConfigTemplate/{name} spec.template.spec.joinConfiguration.nodeRegistration.kubeletExtraArgs: kubeletExtraArgs name must be unique"
    ]


def test_machine_health_check_may_not_watch_capi_owned_conditions(catalog):
    mhc = _rendered("MachineHealthCheck")
    mhc["spec"]["checks"]["unhealthyMachineConditions"] = [
        {"type": "Ready", "status": "False", "timeoutSeconds": 300},
        {"type": "EtcdMemberHealthy", "status": "False", "timeoutSeconds": 300},
    ]
    assert catalog.validate(mhc) == [
        "MachineHealthCheck/prod-control-plane-unhealthy spec.checks.unhealthyMachineConditions[0].type: "
        "type must not be one of: Ready, Available, HealthCheckSucceeded, OwnerRemediated, ExternallyRemediated"
    ]


@pytest.mark.parametrize(
    "cooldown, problem",
    [
        ("-5m", "cooldown must be non-negative"),
        # Not a duration: CEL's duration() fails, which the apiserver reports as an evaluation error.
        ("soon", "evaluating rule: cooldown must be non-negative"),
    ],
)
def test_hcloud_remediation_cooldown_rule(catalog, cooldown, problem):
    template = _rendered("HCloudRemediationTemplate")
    template["spec"]["template"]["spec"]["strategy"]["cooldown"] = cooldown
    (line,) = catalog.validate(template)
    assert line.startswith("HCloudRemediationTemplate/prod-control-plane-remediation spec.template.spec.strategy.cooldown: ")
    assert line.endswith(problem)
    template["spec"]["template"]["spec"]["strategy"]["cooldown"] = "0s"
    assert catalog.validate(template) == []


def test_disk_setup_partitions_rules(catalog):
    kcp = _rendered("KubeadmControlPlane")
    kcp["spec"]["kubeadmConfigSpec"]["diskSetup"] = {
        "partitions": [
            {"device": "/dev/sdb"},
            {"device": "/dev/sdc", "diskLayout": [{"percentage": 100, "partitionType": "ext4"}]},
            {"device": "/dev/sdd", "diskLayout": [{"percentage": 100, "partitionType": "LinuxSwap"}]},
        ]
    }
    path = "KubeadmControlPlane/prod-control-plane spec.kubeadmConfigSpec.diskSetup.partitions"
    assert catalog.validate(kcp) == [
        f"{path}[0]: exactly one of the fields in [layout diskLayout] must be set",
        f"{path}[1].diskLayout[0].partitionType: partitionType must be one of Linux, LinuxSwap, LinuxRAID, LVM, Fat32, NTFS, LinuxExtended or a full GPT partition GUID",
    ]


def test_schema_errors_block_cel_rules(catalog):
    # As in the apiserver: a wrongly typed object is not run through CEL, and is reported once.
    kcp = _rendered("KubeadmControlPlane")
    kcp["spec"]["replicas"] = "three"
    args = kcp["spec"]["kubeadmConfigSpec"]["clusterConfiguration"]["apiServer"]["extraArgs"]
    args.append({"name": args[0]["name"], "value": "other"})
    assert catalog.validate(kcp) == ["KubeadmControlPlane/prod-control-plane spec.replicas: expected integer, got string 'three'"]
    kcp["spec"]["replicas"] = 3
    assert catalog.validate(kcp) == [
        "KubeadmControlPlane/prod-control-plane spec.kubeadmConfigSpec.clusterConfiguration.apiServer.extraArgs: extraArgs name must be unique"
    ]


def test_every_pinned_cel_rule_is_evaluated_or_is_a_transition_rule():
    root = require_reference(*ALL_PINNED)
    rules = CrdCatalog.load(root, ALL_PINNED).cel_rules()
    assert rules and all(r.rule and r.path is not None for r in rules)
    skipped = {(r.kind, r.path, r.rule): r.skipped for r in rules if r.skipped}
    # Any other reason (a Kubernetes CEL library, a rule that does not compile) needs a decision: say it here.
    assert all(why.startswith("transition rule (uses oldSelf)") for why in skipped.values()), skipped
    assert all("oldSelf" in rule for _, _, rule in skipped)
    assert not [r for r in rules if "oldSelf" in r.rule and not r.skipped]


def _widget_catalog(
    tmp_path: Path, spec_schema: dict[str, Any], root_rules: list[dict[str, str]] = (), unserved: tuple[str, ...] = ()
) -> CrdCatalog:
    """A Widget CRD served at v1 with `spec_schema`, also stored (not served) at each of `unserved`."""
    schema = {"type": "object", "properties": {"spec": spec_schema}}
    if root_rules:
        schema["x-kubernetes-validations"] = list(root_rules)
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets"},
            "scope": "Namespaced",
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}},
                *({"name": v, "served": False, "storage": False, "schema": {"openAPIV3Schema": schema}} for v in unserved),
            ],
        },
    }
    (tmp_path / "example").mkdir()
    (tmp_path / "example" / "crd.yaml").write_text(yaml.safe_dump(crd))
    return CrdCatalog.load(tmp_path, ["example"])


def _widget(name: str = "w", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, "labels": {"a": "b"}}, "spec": spec}


def test_cel_semantics_of_the_apiserver(tmp_path):
    catalog = _widget_catalog(
        tmp_path,
        {
            "type": "object",
            "properties": {
                "mode": {"type": "string", "default": "safe"},
                "size": {"type": "integer", "nullable": True, "x-kubernetes-validations": [{"rule": "self > 0"}]},
                "owner": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "owner is immutable"}]},
                "tags": {
                    "type": "object",
                    "additionalProperties": {"type": "string", "x-kubernetes-validations": [{"rule": "self.size() <= 3", "messageExpression": "'tag ' + self + ' is too long'"}]},
                },
            },
            "x-kubernetes-validations": [
                {"rule": "self.mode == 'safe' || has(self.size)", "message": "size is required unless mode is safe"},
                {"rule": "self.missing == 1", "message": "reads an absent field"},
            ],
        },
        root_rules=[{"rule": "self.metadata.name.startsWith('w') && !has(self.metadata.labels)", "message": "name must start with w"}],
    )
    # Defaults are filled in before the rules run; a transition rule is not run on create; a
    # null value is not validated; the root sees metadata.name but not labels.
    assert catalog.validate(_widget(owner="me", size=None, missing=1)) == ["Widget/w spec.missing: unknown field"]
    problems = catalog.validate(_widget("x", mode="fast", size=0, owner="me", tags={"a": "abc", "b": "abcd"}))
    assert problems == [
        "Widget/x: name must start with w",
        "Widget/x spec: no such key: missing evaluating rule: reads an absent field",
        "Widget/x spec.size: failed rule: self > 0",
        "Widget/x spec.tags.b: tag abcd is too long",
    ]
    # mode defaults to "safe", so size may be left out; set to anything else, it may not.
    assert catalog.validate(_widget()) == ["Widget/w spec: no such key: missing evaluating rule: reads an absent field"]
    assert catalog.validate(_widget(mode="fast")) == [
        "Widget/w spec: size is required unless mode is safe",
        "Widget/w spec: no such key: missing evaluating rule: reads an absent field",
    ]
    whys = {r.rule: r.skipped for r in catalog.cel_rules()}
    assert whys["self == oldSelf"].startswith("transition rule (uses oldSelf)")
    assert [r.path for r in catalog.cel_rules()] == ["", "spec", "spec", "spec.owner", "spec.size", "spec.tags{*}"]


@pytest.mark.parametrize(
    "rule, why",
    [
        ("self.isSorted()", "calls isSorted: Kubernetes CEL libraries, not standard CEL"),
        ("quantity(self).isGreaterThan(quantity('1Gi'))", "calls isGreaterThan, quantity: Kubernetes CEL libraries, not standard CEL"),
        ("self.?x.orValue(1) == 1", "does not compile with common-expression-language: "),
    ],
)
def test_rules_that_cannot_be_evaluated_are_never_taken_as_passed(tmp_path, rule, why):
    catalog = _widget_catalog(tmp_path, {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "x-kubernetes-validations": [{"rule": rule}]})
    (listed,) = catalog.cel_rules()
    assert listed.skipped.startswith(why) and listed.on_create
    assert catalog.validate(_widget(x=1)) == [f"Widget/w spec: CEL rule not evaluated offline ({listed.skipped}): {rule}"]
