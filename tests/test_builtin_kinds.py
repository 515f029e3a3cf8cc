"""The validator's built-in kinds checked through the apiserver's OpenAPI (kubernetes-validate)
plus the Go checks that schema leaves out: each rule must catch what the apiserver refuses."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.support.crds import CrdCatalog

CATALOG = CrdCatalog([])  # built-in kinds need no reference folder


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app.kubernetes.io/name": "web"}},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "web"}},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "web", "tier": "front"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx",
                            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                            "livenessProbe": {"httpGet": {"path": "/", "port": "http"}},
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                        }
                    ]
                },
            },
        },
    }


def container(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]["containers"][0]


def test_valid_builtin_objects_pass():
    assert CATALOG.validate(deployment()) == []
    assert CATALOG.validate({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa", "namespace": "shop"}}) == []
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "r", "namespace": "shop"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    }
    assert CATALOG.validate(role) == []
    for kind in ("ServiceAccount", "Role", "RoleBinding", "Deployment"):
        assert kind in {k for _, k in CATALOG.served}


def test_builtin_objects_get_the_objectmeta_checks():
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": None,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
    }
    assert CATALOG.validate(binding) == ["RoleBinding/<unnamed> metadata: required field missing"]
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa", "labels": {"APP.example/x": "y"}}}
    assert CATALOG.validate(sa) == ['ServiceAccount/sa metadata.labels["APP.example/x"]: invalid label key \'APP.example/x\': prefix must be a DNS-1123 subdomain']


def test_strict_schema_rejects_unknown_and_mistyped_fields():
    obj = deployment()
    container(obj)["imagePullPolicy"] = "Always"
    container(obj)["imagepullpolicy"] = "Always"
    obj["spec"]["replicas"] = "1"
    assert CATALOG.validate(obj) == [
        "Deployment/web spec.replicas: expected integer or null, got string '1'",
        "Deployment/web spec.template.spec.containers[0].imagepullpolicy: unknown field",
    ]
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"}, "rules": [{"resources": ["pods"]}]}
    assert CATALOG.validate(role) == ["Role/r rules[0].verbs: required field missing"]


def test_selector_must_match_the_template_labels():
    obj = deployment()
    obj["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"] = "a"
    assert CATALOG.validate(obj) == ["Deployment/web spec.template.metadata.labels: `selector` does not match template `labels`"]
    obj["spec"]["selector"] = {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "back"]}]}
    assert CATALOG.validate(obj) == []
    obj["spec"]["selector"] = {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}
    assert CATALOG.validate(obj) == ["Deployment/web spec.template.metadata.labels: `selector` does not match template `labels`"]
    obj["spec"]["selector"] = {"matchLabels": {}}
    assert CATALOG.validate(obj) == ["Deployment/web spec.selector: empty selector is invalid for deployment"]


def test_template_labels_are_checked():
    obj = deployment()
    obj["spec"]["template"]["metadata"]["labels"]["tier"] = "-front"
    (problem,) = CATALOG.validate(obj)
    assert problem.startswith("Deployment/web spec.template.metadata.labels.tier: invalid label value '-front'")


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda c: c.update(name="Web"), "spec.template.spec.containers[0].name: 'Web' is not a DNS-1123 label"),
        (lambda c: c["ports"][0].update(name="HTTP"), "spec.template.spec.containers[0].ports[0].name: 'HTTP' is not an IANA_SVC_NAME"),
        (lambda c: c["ports"][0].update(name="http-metrics-port"), "ports[0].name: 'http-metrics-port' is not an IANA_SVC_NAME"),
        (lambda c: c["ports"][0].update(protocol="tcp"), "ports[0].protocol: 'tcp' is not one of TCP, UDP, SCTP"),
        (lambda c: c["livenessProbe"]["httpGet"].update(port="Http"), "livenessProbe.httpGet.port: 'Http' is not an IANA_SVC_NAME"),
        (lambda c: c["resources"]["requests"].update(CPU="1"), "resources.requests.CPU: 'CPU' is not a container resource"),
        (lambda c: c["resources"]["requests"].update(memory="64mi"), "resources.requests.memory: '64mi' is not a quantity"),
        (lambda c: c["resources"]["limits"].update(memory="128MI"), "resources.limits.memory: '128MI' is not a quantity"),
        (lambda c: c["resources"]["requests"].update(memory="256Mi"), "resources.requests.memory: must be less than or equal to memory limit of 128Mi"),
        (lambda c: c["resources"]["requests"].update(cpu="-1"), "resources.requests.cpu: '-1' must be greater than or equal to 0"),
    ],
)
def test_pod_template_rules(change, problem):
    obj = deployment()
    change(container(obj))
    (found,) = CATALOG.validate(obj)
    assert found.startswith("Deployment/web ") and problem in found


def test_duplicate_container_and_port_names():
    obj = deployment()
    second = copy.deepcopy(container(obj))
    obj["spec"]["template"]["spec"]["containers"].append(second)
    assert CATALOG.validate(obj) == [
        "Deployment/web spec.template.spec.containers[1].name: duplicate container name 'web'",
        "Deployment/web spec.template.spec.containers[1].ports[0].name: duplicate port name 'http'",
    ]


def test_storage_class_is_checked_against_the_apiservers_schema():
    sc = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": "fast"},
        "provisioner": "csi.example.com",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }
    assert CATALOG.validate(sc) == []
    missing = {k: v for k, v in sc.items() if k != "provisioner"}
    assert CATALOG.validate(missing) == ["StorageClass/fast provisioner: required field missing"]
    assert CATALOG.validate({**sc, "allowVolumeExpansion": "yes"}) == [
        "StorageClass/fast allowVolumeExpansion: expected boolean or null, got string 'yes'"
    ]
