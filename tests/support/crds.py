"""Offline validation of rendered Kubernetes objects against upstream CRD schemas.

Why: kubectl and Pulumi apply with strict field validation, so a misspelled or
mistyped field fails on a real cluster. This module makes it fail in the test
suite first, with no cluster, from the CRDs vendored under `reference/crds/`.

How: each *served* version's `openAPIV3Schema` (OpenAPI 3.0, structural) is
converted to JSON Schema Draft 4 and checked with `jsonschema`:

* `nullable: true` allows null; `x-kubernetes-int-or-string` allows an integer
  or a string; `x-kubernetes-preserve-unknown-fields` keeps an object open;
* every other object rejects unknown keys unless it is a map
  (`additionalProperties` given) - so an object schema without properties only
  accepts `{}`, which is what the apiserver's pruning leaves of it;
* `pattern` keeps Go RE2 semantics: `$` means end of text (Python's `$` also
  matches before a trailing newline, so `"name\\n"` would slip through);
* formats int32, int64, byte and date-time are checked, other formats ignored;
* `x-kubernetes-list-type: set|map` lists reject duplicate items or keys, as
  the apiserver does.

Top-level `metadata` is checked by a built-in ObjectMeta schema (name and
namespace syntax, label and annotation keys and values, known keys only). v1
Namespace, Secret and ConfigMap have small built-in schemas. v1 ServiceAccount,
rbac Role and RoleBinding, apps/v1 Deployment and storage.k8s.io/v1 StorageClass use kubernetes-validate's
strict schemas (the apiserver's OpenAPI) at the management cluster's minor;
as those leave out the apiserver's Go checks, a Deployment also gets the ones
that matter for a pod template: selector against template labels, template
labels, container and port names, probe port names, port protocols, resource
names and quantities, requests within limits. Any other (apiVersion, kind) is
an error, so nothing passes unvalidated.

CEL rules (`x-kubernetes-validations`) run as the apiserver runs them on
create, with `common-expression-language` (cel-rust): on the object with the
schema's defaults filled in, only once it passes the schema (schema errors
block them), on every present non-null value, with `self` (at the object's
root `self.metadata` holds name and generateName only). A false rule reports
its `message` (or `messageExpression`, or "failed rule: <rule>"); an error
reports "<error> evaluating rule: <message or rule>". Not every rule can run:

* transition rules (they read `oldSelf`) apply to updates only, so they are
  skipped here, as the apiserver skips them on create;
* rules that call the Kubernetes CEL libraries (lists, regex, url, quantity,
  ip/cidr, format, semver, cel-go's strings/sets/optionals) or need
  `optionalOldSelf` cannot be evaluated; an object that reaches one gets a
  "CEL rule not evaluated offline" problem, so it is never taken as valid.

`CrdCatalog.cel_rules()` lists every rule with the reason it is skipped.
String formats are not converted (the apiserver gives `date-time` fields to
CEL as timestamps, `duration` as durations, `byte` as bytes): no pinned rule
reads such a field; one that compares them as those types gets a "no such
overload" evaluation error here.

Not checked: admission webhooks (e.g. CAPI's immutability and cross-field
checks), labels in nested template metadata other than a Deployment's, RBAC
rule semantics, nor the rest of the apiserver's Go validation of pod specs.

Pinned folders (`PINNED`, `CAPI_CRDS`, ...) follow `clusterctl_py.versions`.
Without the reference folder the tests that need it skip, except in CI
(`CI=true`), where they fail.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

import cel
import pytest
import yaml
from jsonschema import Draft4Validator, Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from kubernetes.utils.quantity import parse_quantity
from kubernetes_validate import utils as kv_utils
from packaging.version import Version
from referencing import Registry, Resource

from clusterctl_py import versions

ENV = "CLUSTERCTL_PY_REFERENCE"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_REFERENCE = REPO.parent / "shared" / "reference"

# CRD folders (under reference/crds/) of the releases clusterctl_py pins: a
# version bump in versions.py moves the conformance tests with it.
CAPI_CRDS = f"cluster-api/{versions.CAPI}"
CAPH_CRDS = f"caph/{versions.CAPH}"
CAAPH_CRDS = f"caaph/{versions.CAAPH}"
CERT_MANAGER_CRDS = f"cert-manager/{versions.CERT_MANAGER}"
PINNED = (CAPI_CRDS, CAPH_CRDS, CAAPH_CRDS)
"""What the cluster stack applies: Cluster API, CAPH and CAAPH objects."""
KNATIVE_OPERATOR_CRDS = f"knative-operator/{versions.KNATIVE_SERVING}"
FLUX_OPERATOR_CRDS = f"flux/flux-operator-{versions.FLUX_OPERATOR}"
PLATFORM = (CERT_MANAGER_CRDS, KNATIVE_OPERATOR_CRDS, FLUX_OPERATOR_CRDS)
"""What the platform stack applies of its own: ClusterIssuers, KnativeServing, FluxInstance."""

FieldPath = tuple[str | int, ...]
Problem = tuple[FieldPath, str]

_ENVELOPE = ("apiVersion", "kind", "metadata")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# --------------------------------------------------------------------------- reference folder


def reference_dir() -> Path | None:
    """The `reference` folder holding `crds/`: $CLUSTERCTL_PY_REFERENCE, else ../shared/reference; None if absent."""
    env = os.environ.get(ENV)
    path = Path(env).expanduser() if env else DEFAULT_REFERENCE
    return path.resolve() if path.is_dir() else None


def in_ci() -> bool:
    """CI sets CI=true; there a missing reference is a broken checkout, not an optional extra."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _unavailable(message: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"{message} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(message)


def require_reference(*subdirs: str) -> Path:
    """`reference_dir()`; when it (or `crds/<subdir>`) is missing, skip the calling test, or fail it in CI."""
    root = reference_dir()
    if root is None:
        where = os.environ.get(ENV) or DEFAULT_REFERENCE
        _unavailable(f"upstream CRDs unavailable: path {where} not found; set {ENV} to the reference folder that contains crds/")
    crds = _crds_root(root)
    for sub in subdirs:
        if not (crds / sub).is_dir():
            _unavailable(f"upstream CRDs unavailable: path {crds / sub} not found; set {ENV} to a reference folder with crds/{sub}")
    return root


def _crds_root(root: Path) -> Path:
    """Accept either the reference folder or its `crds/` folder."""
    return root / "crds" if (root / "crds").is_dir() else root


# --------------------------------------------------------------------------- names and ObjectMeta

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_DATA_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_METADATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["apiVersion", "kind", "name", "uid"],
                "additionalProperties": False,
                "properties": {
                    **{k: {"type": "string"} for k in ("apiVersion", "kind", "name", "uid")},
                    "controller": {"type": "boolean"},
                    "blockOwnerDeletion": {"type": "boolean"},
                },
            },
        },
    },
}


def _name_problem(value: str, *, label: bool) -> str | None:
    """DNS-1123 label (max 63) or subdomain (max 253), as the apiserver requires of names."""
    if label:
        ok = len(value) <= 63 and _DNS_LABEL.fullmatch(value)
        return None if ok else f"{value!r} is not a DNS-1123 label (lowercase alphanumerics and '-', at most 63 characters)"
    ok = len(value) <= 253 and _DNS_SUBDOMAIN.fullmatch(value)
    return None if ok else f"{value!r} is not a DNS-1123 subdomain (lowercase alphanumerics, '-' and '.', at most 253 characters)"


def _qualified_name_problem(key: str) -> str | None:
    """Label, annotation and finalizer keys: `[prefix/]name`, prefix a DNS subdomain, name at most 63."""
    prefix, slash, name = key.rpartition("/")
    if slash and not (len(prefix) <= 253 and _DNS_SUBDOMAIN.fullmatch(prefix)):
        return f"key {key!r}: prefix must be a DNS-1123 subdomain"
    if not (len(name) <= 63 and _QUALIFIED_NAME.fullmatch(name)):
        return f"key {key!r}: name must be at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric"
    return None


def _label_problems(labels: Mapping[str, str], at: FieldPath) -> list[Problem]:
    problems: list[Problem] = []
    for key, value in labels.items():
        if msg := _qualified_name_problem(key):
            problems.append((at + (key,), f"invalid label {msg}"))
        if len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
            problems.append(
                (at + (key,), f"invalid label value {_short(value)} ({len(value)} characters): at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric")
            )
    return problems


def _metadata_problems(meta: Any, *, namespace_kind: bool) -> list[Problem]:
    """ObjectMeta rules the CRD schemas leave out (they only say `metadata: {type: object}`)."""
    if meta is None:
        return [(("metadata",), "required field missing")]
    problems = _schema_problems(_METADATA_VALIDATOR, meta, ("metadata",))
    if problems or not isinstance(meta, Mapping):
        return problems  # syntax checks below assume the right types
    if "name" not in meta and "generateName" not in meta:
        problems.append((("metadata", "name"), "required field missing"))
    if "name" in meta and (msg := _name_problem(meta["name"], label=namespace_kind)):
        problems.append((("metadata", "name"), msg))
    if "namespace" in meta and (msg := _name_problem(meta["namespace"], label=True)):
        problems.append((("metadata", "namespace"), msg))
    problems += _label_problems(meta.get("labels") or {}, ("metadata", "labels"))
    annotations = meta.get("annotations") or {}
    for key in annotations:
        if msg := _qualified_name_problem(key):
            problems.append((("metadata", "annotations", key), f"invalid annotation {msg}"))
    if sum(len(k) + len(v) for k, v in annotations.items()) > 256 * 1024:
        problems.append((("metadata", "annotations"), "annotations exceed 256 KiB in total"))
    for i, finalizer in enumerate(meta.get("finalizers") or []):
        if msg := _qualified_name_problem(finalizer):
            problems.append((("metadata", "finalizers", i), f"invalid finalizer {msg}"))
    return problems


# --------------------------------------------------------------------------- built-in kinds

_BUILTIN_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("v1", "Namespace"): {
        "properties": {
            "spec": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"finalizers": {"type": "array", "items": {"type": "string"}}},
            }
        }
    },
    ("v1", "Secret"): {
        "properties": {"type": {"type": "string"}, "immutable": {"type": "boolean"}, "data": _STRING_MAP, "stringData": _STRING_MAP}
    },
    ("v1", "ConfigMap"): {"properties": {"immutable": {"type": "boolean"}, "data": _STRING_MAP, "binaryData": _STRING_MAP}},
}

# Keys the apiserver requires per Secret type (any one of a tuple suffices), counting data and stringData.
_SECRET_KEYS: dict[str, list[tuple[str, ...]]] = {
    "kubernetes.io/tls": [("tls.crt",), ("tls.key",)],
    "kubernetes.io/dockerconfigjson": [(".dockerconfigjson",)],
    "kubernetes.io/dockercfg": [(".dockercfg",)],
    "kubernetes.io/ssh-auth": [("ssh-privatekey",)],
    "kubernetes.io/basic-auth": [("username", "password")],
}


def _is_base64(value: str) -> bool:
    """Strict, padded standard base64, as Go's encoding/json decodes []byte."""
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _data_keys_problems(field: str, data: Mapping[str, str], *, base64_values: bool) -> list[Problem]:
    problems: list[Problem] = []
    for key, value in data.items():
        if len(key) > 253 or not _DATA_KEY.fullmatch(key):
            problems.append(((field, key), "invalid key: at most 253 alphanumerics, '-', '_' or '.'"))
        if base64_values and not _is_base64(value):
            problems.append(((field, key), "value is not valid base64 (use stringData for plain text)"))
    return problems


def _builtin_problems(kind: str, obj: Mapping[str, Any]) -> list[Problem]:
    """Secret and ConfigMap rules beyond their JSON schema (only called once types are right)."""
    if kind == "Secret":
        data, string_data = obj.get("data") or {}, obj.get("stringData") or {}
        problems = _data_keys_problems("data", data, base64_values=True)
        problems += _data_keys_problems("stringData", string_data, base64_values=False)
        keys = set(data) | set(string_data)
        for alternatives in _SECRET_KEYS.get(obj.get("type", "Opaque"), []):
            if not keys & set(alternatives):
                problems.append((("data",), f"a {obj['type']} Secret needs key {' or '.join(alternatives)}"))
        return problems
    if kind == "ConfigMap":
        data, binary = obj.get("data") or {}, obj.get("binaryData") or {}
        problems = _data_keys_problems("data", data, base64_values=False)
        problems += _data_keys_problems("binaryData", binary, base64_values=True)
        problems += [(("binaryData", k), "key also present in data") for k in sorted(set(data) & set(binary))]
        if sum(len(k) + len(v) for k, v in data.items()) + sum(len(k) + len(v) * 3 // 4 for k, v in binary.items()) > 1024 * 1024:
            problems.append(((), "ConfigMap exceeds 1 MiB"))
        return problems
    return []


# --------------------------------------------------------------------------- built-in kinds from the apiserver's OpenAPI

# Every object validated here lands in the management cluster, which runs k3s at versions.K3S.
KUBERNETES_MINOR = ".".join(versions.K3S.removeprefix("v").split(".")[:2])
# kubernetes-validate's strict schemas are the apiserver's OpenAPI, which leaves
# out what the apiserver checks in Go (names, label syntax, quantities, enums):
# ObjectMeta goes through _metadata_problems, a Deployment through _deployment_problems.
_OPENAPI_KINDS = frozenset(
    {
        ("v1", "ServiceAccount"),
        ("rbac.authorization.k8s.io/v1", "Role"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ("apps/v1", "Deployment"),
        ("storage.k8s.io/v1", "StorageClass"),
    }
)


@lru_cache(maxsize=None)
def _openapi_folder() -> tuple[str, Registry]:
    """kubernetes-validate's strict schemas of the newest release not newer than KUBERNETES_MINOR, and their shared definitions."""
    minor = Version(KUBERNETES_MINOR)
    release = max((v for v in kv_utils.all_versions() if Version(kv_utils.major_minor(v)) <= minor), key=Version)
    folder = f"kubernetes-json-schema/v{release}-local-strict"
    definitions = kv_utils.schema_contents(f"{folder}/_definitions.json", KUBERNETES_MINOR)
    return folder, Registry().with_resource(definitions["$id"], Resource.from_contents(definitions))


@lru_cache(maxsize=None)
def _openapi_validator(api: str, kind: str) -> Validator:
    folder, registry = _openapi_folder()
    # kubernetes-validate's file naming: rbac.authorization.k8s.io/v1 -> rbac-v1
    suffix = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api)
    schema = dict(kv_utils.schema_contents(f"{folder}/{kind.lower()}-{suffix}.json", KUBERNETES_MINOR))
    schema["properties"] = {k: v for k, v in schema.get("properties", {}).items() if k not in _ENVELOPE}
    schema["required"] = [r for r in schema.get("required", []) if r not in _ENVELOPE]
    return Draft202012Validator(schema, registry=registry, format_checker=_FORMATS)


_IANA_SVC_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


def _port_name_problem(name: Any) -> str | None:
    """IANA_SVC_NAME, as the apiserver requires of port names and named probe ports (IsValidPortName)."""
    ok = isinstance(name, str) and len(name) <= 15 and _IANA_SVC_NAME.fullmatch(name) and "--" not in name and re.search("[a-z]", name)
    return None if ok else f"{_short(name)} is not an IANA_SVC_NAME (at most 15 lowercase alphanumerics or '-', with a letter, no '--')"


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A LabelSelector's verdict on a set of labels."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        verdict = {"In": labels.get(key) in values, "NotIn": labels.get(key) not in values, "Exists": key in labels, "DoesNotExist": key not in labels}
        if not verdict.get(op, False):
            return False
    return True


def _resources_problems(resources: Mapping[str, Any], at: FieldPath) -> list[Problem]:
    """Container resource names and quantities, and requests within limits (ValidateResourceRequirements)."""
    problems: list[Problem] = []
    parsed = {}
    for field in ("limits", "requests"):
        for name, value in (resources.get(field) or {}).items():
            where = at + (field, name)
            if "/" not in name and name not in _CONTAINER_RESOURCES and not name.startswith("hugepages-"):
                problems.append((where, f"{name!r} is not a container resource: cpu, memory, ephemeral-storage, hugepages-<size> or a domain-prefixed name"))
                continue
            try:
                quantity = parse_quantity(value)
            except ValueError:
                problems.append((where, f"{_short(value)} is not a quantity"))
                continue
            if quantity < 0:
                problems.append((where, f"{_short(value)} must be greater than or equal to 0"))
            parsed[field, name] = quantity
    for (field, name), quantity in parsed.items():
        if field == "requests" and quantity > parsed.get(("limits", name), quantity):
            problems.append((at + (field, name), f"must be less than or equal to {name} limit of {resources['limits'][name]}"))
    return problems


def _deployment_problems(body: Mapping[str, Any]) -> list[Problem]:
    """What the apiserver checks in Go of a Deployment's selector and pod template
    (kubernetes/kubernetes pkg/apis/apps/validation, pkg/apis/core/validation): only once its schema passed."""
    spec = body.get("spec") or {}
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    problems = _label_problems(labels, ("spec", "template", "metadata", "labels"))
    selector = spec.get("selector") or {}
    if not (selector.get("matchLabels") or selector.get("matchExpressions")):
        problems.append((("spec", "selector"), "empty selector is invalid for deployment"))
    elif not _selects(selector, labels):
        problems.append((("spec", "template", "metadata", "labels"), "`selector` does not match template `labels`"))
    pod = template.get("spec") or {}
    names: set[str] = set()
    port_names: set[str] = set()
    for field in ("initContainers", "containers"):
        for i, container in enumerate(pod.get(field) or []):
            at = ("spec", "template", "spec", field, i)
            name = container.get("name", "")
            if msg := _name_problem(name, label=True):
                problems.append((at + ("name",), msg))
            elif name in names:
                problems.append((at + ("name",), f"duplicate container name {name!r}"))
            names.add(name)
            for j, port in enumerate(container.get("ports") or []):
                if "name" in port:
                    if msg := _port_name_problem(port["name"]):
                        problems.append((at + ("ports", j, "name"), msg))
                    elif port["name"] in port_names:
                        problems.append((at + ("ports", j, "name"), f"duplicate port name {port['name']!r}"))
                    port_names.add(port["name"])
                if port.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
                    problems.append((at + ("ports", j, "protocol"), f"{_short(port['protocol'])} is not one of TCP, UDP, SCTP"))
            for probe in _PROBES:
                for action in ("httpGet", "tcpSocket"):
                    port = ((container.get(probe) or {}).get(action) or {}).get("port")
                    if isinstance(port, str) and (msg := _port_name_problem(port)):
                        problems.append((at + (probe, action, "port"), msg))
            problems += _resources_problems(container.get("resources") or {}, at + ("resources",))
    return problems


# --------------------------------------------------------------------------- OpenAPI v3 -> Draft 4

_DROPPED = {
    "description", "example", "externalDocs", "title", "nullable",
    "x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource",
    "x-kubernetes-validations", "x-kubernetes-map-type",
}  # fmt: skip
_SCHEMA_MAPS = {"properties", "patternProperties", "definitions"}  # name -> schema: never treat names as keywords
_SCHEMA_VALUES = {"items", "additionalProperties", "not"}
_SCHEMA_LISTS = {"allOf", "anyOf", "oneOf"}
_INT_OR_STRING = [{"type": "integer"}, {"type": "string"}]


def _go_pattern(pattern: str) -> str:
    """RE2's `$` (outside classes) and `\\z` are end of text; Python's equivalent is `\\Z`."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            pair = pattern[i : i + 2]
            out.append(r"\Z" if pair == r"\z" and not in_class else pair)
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            for literal in ("^", "]"):  # `[^]...]` and `[]...]`: a leading ']' is literal
                if pattern[i : i + 1] == literal:
                    out.append(literal)
                    i += 1
            continue
        elif ch == "$":
            ch = r"\Z"
        out.append(ch)
        i += 1
    return "".join(out)


def _to_draft4(node: Mapping[str, Any]) -> dict[str, Any]:
    """Convert one structural-schema node; literal values (enum, default, required) are copied, not walked."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        if key in _SCHEMA_MAPS:
            out[key] = {name: _to_draft4(sub) for name, sub in value.items()}
        elif key in _SCHEMA_VALUES:
            out[key] = _to_draft4(value) if isinstance(value, Mapping) else value
        elif key in _SCHEMA_LISTS:
            out[key] = [_to_draft4(sub) for sub in value]
        elif key == "pattern":
            out[key] = _go_pattern(value)
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
        if out.get("anyOf") == _INT_OR_STRING:
            del out["anyOf"]  # redundant with the type list, and gives worse messages
    if node.get("x-kubernetes-embedded-resource") and "properties" in out:
        out["properties"] = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}, **out["properties"]}
    if node.get("type") == "object" and "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if node.get("nullable"):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif isinstance(out.get("type"), list):
            out["type"] = [*out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def _root_schema(openapi: Mapping[str, Any]) -> dict[str, Any]:
    """The CRD schema minus apiVersion/kind/metadata, which `validate` checks itself."""
    schema = _to_draft4(openapi)
    props = schema.get("properties", {})
    for key in _ENVELOPE:
        props.pop(key, None)
    required = [r for r in schema.pop("required", []) if r not in _ENVELOPE]
    if required:
        schema["required"] = required
    return schema


def _list_type(validator: Validator, list_type: str, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    """The apiserver rejects duplicates in `set` lists and duplicate keys in `map` lists."""
    if not isinstance(instance, list) or list_type not in ("set", "map"):
        return
    item_props = (schema.get("items") or {}).get("properties", {})
    keys = schema.get("x-kubernetes-list-map-keys", [])
    seen: dict[str, int] = {}
    for i, item in enumerate(instance):
        if list_type == "map":
            if not isinstance(item, Mapping):
                continue
            ident = {k: item.get(k, item_props.get(k, {}).get("default")) for k in keys}
        else:
            ident = item
        token = json.dumps(ident, sort_keys=True)
        if token in seen:
            what = ", ".join(f"{k}={v!r}" for k, v in ident.items()) if list_type == "map" else _short(item)
            yield ValidationError(f"duplicate entry ({what}) in a list-type={list_type}; first at index {seen[token]}", path=[i])
        else:
            seen[token] = i


_FORMATS = FormatChecker(formats=())
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d(:\d\d(\.\d+)?)?([Zz]|[+-]\d\d:?\d\d)?")


@_FORMATS.checks("int32")
def _int32(value: object) -> bool:
    return not isinstance(value, int) or isinstance(value, bool) or -(2**31) <= value < 2**31


@_FORMATS.checks("int64")
def _int64(value: object) -> bool:
    return not isinstance(value, int) or isinstance(value, bool) or -(2**63) <= value < 2**63


@_FORMATS.checks("byte")
def _byte(value: object) -> bool:
    return not isinstance(value, str) or _is_base64(value)


@_FORMATS.checks("date-time")
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_DATE_TIME.fullmatch(value))


_Validator = validators.extend(Draft4Validator, {"x-kubernetes-list-type": _list_type})


def _validator(schema: Mapping[str, Any]) -> Validator:
    return _Validator(schema, format_checker=_FORMATS)


_METADATA_VALIDATOR = _validator(_METADATA_SCHEMA)
_BUILTIN_VALIDATORS = {
    key: _validator({"type": "object", "additionalProperties": False, **schema}) for key, schema in _BUILTIN_SCHEMAS.items()
}

# --------------------------------------------------------------------------- messages


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json_type(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _message(err: ValidationError) -> str:
    """jsonschema's messages repeat the whole instance; keep them one line and short."""
    v, value, inst = err.validator, err.validator_value, err.instance
    if v == "type":
        wanted = " or ".join(value) if isinstance(value, list) else value
        return f"expected {wanted}, got {_json_type(inst)} {_short(inst)}"
    if v == "enum":
        return f"{_short(inst)} is not one of {value}"
    if v == "pattern":
        return f"{_short(inst)} does not match {value!r}"
    if v in ("maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties"):
        return f"size {len(inst)} violates {v} {value}"
    if v == "format":
        return f"{_short(inst)} is not a valid {value}"
    if v == "x-kubernetes-list-type":
        return err.message
    text = err.message.splitlines()[0] if err.message else str(v)
    return text if len(text) <= 160 else text[:157] + "..."


def _schema_problems(validator: Validator, instance: Any, prefix: FieldPath = ()) -> list[Problem]:
    """All errors as (path, message); unknown and missing fields name the field itself."""
    problems: list[Problem] = []
    for err in validator.iter_errors(instance):
        path = prefix + tuple(err.absolute_path)
        if err.validator == "additionalProperties" and err.validator_value is False and isinstance(err.instance, Mapping):
            known = err.schema.get("properties", {})
            problems += [(path + (k,), "unknown field") for k in err.instance if k not in known]
        elif err.validator == "required" and isinstance(err.instance, Mapping):
            problems += [(path + (k,), "required field missing") for k in err.validator_value if k not in err.instance]
        else:
            problems.append((path, _message(err)))
    return list(dict.fromkeys(problems))  # `required` yields one error per missing key; each lists all


def _render_path(path: FieldPath) -> str:
    """`spec.sshKeys.hcloud[0].name`; keys that are not identifiers go in brackets: `labels["a.io/b"]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


# --------------------------------------------------------------------------- CEL rules (x-kubernetes-validations)

# What common-expression-language (cel-rust) implements natively besides the
# operators: standard CEL. The apiserver adds Kubernetes libraries (lists,
# regex, url, quantity, ip/cidr, format, semver, cel-go's strings/sets/
# optional extensions); a rule calling any of them is not evaluated here.
_STANDARD_CEL = frozenset(
    {"size", "matches", "contains", "startsWith", "endsWith", "int", "uint", "double", "string", "bytes",
     "timestamp", "duration", "type", "dyn", "getFullYear", "getMonth", "getDate", "getDayOfMonth",
     "getDayOfWeek", "getDayOfYear", "getHours", "getMinutes", "getSeconds", "getMilliseconds"}
)  # fmt: skip
_TRANSITION = "transition rule (uses oldSelf): the apiserver evaluates it on updates only"


def _is_operator(function: str) -> bool:
    # cel-rust names operators `_+_`, `!_`, `-_`, `@in`, `@not_strictly_false`; macros expand into these.
    return function.startswith(("_", "@", "!", "-"))


@dataclass(frozen=True)
class CelRule:
    """One `x-kubernetes-validations` entry of a served CRD version, and whether it is evaluated here."""

    kind: str
    api_version: str
    path: str  # schema path of the node that holds the rule; `[*]` list items, `{*}` map values; "" the object
    rule: str
    message: str  # the CRD's message, "" if it gives none
    skipped: str | None  # why it is not evaluated on create; None when it is

    @property
    def on_create(self) -> bool:
        """False for transition rules: the apiserver has no old object on create and does not run them."""
        return self.skipped != _TRANSITION

    @property
    def reported(self) -> str:
        """The apiserver's message for a false rule (ruleMessageOrDefault in apiextensions-apiserver's cel/validation.go)."""
        return self.message or f"failed rule: {self.rule}"

    @property
    def error_string(self) -> str:
        """How the apiserver names the rule in an evaluation error (ruleErrorString)."""
        return self.message or self.rule


def _compile(entry: Mapping[str, Any]) -> tuple[Any, str | None]:
    """(program, None) or (None, why it is skipped)."""
    if entry.get("optionalOldSelf"):
        return None, "optionalOldSelf rule: needs CEL optionals, which common-expression-language does not evaluate"
    try:
        program = cel.compile(entry["rule"])
    except (ValueError, RuntimeError) as exc:
        return None, f"does not compile with common-expression-language: {str(exc).splitlines()[0]}"
    if "oldSelf" in program.variables():
        return None, _TRANSITION
    extensions = sorted(f for f in program.functions() if not _is_operator(f) and f not in _STANDARD_CEL)
    if extensions:
        return None, f"calls {', '.join(extensions)}: Kubernetes CEL libraries, not standard CEL"
    return program, None


@dataclass
class _CelNode:
    """The CEL rules of one schema node and of the nodes below it that have any (a pruned copy of the schema)."""

    rules: list[tuple[CelRule, Any, Any]]  # (rule, program or None, messageExpression program or None)
    properties: dict[str, _CelNode]
    items: _CelNode | None
    values: _CelNode | None  # additionalProperties
    resource_root: bool  # the object itself or an embedded resource: `self.metadata` holds name and generateName only


def _cel_tree(schema: Mapping[str, Any], kind: str, api: str, path: str = "", root: bool = True) -> _CelNode | None:
    rules = []
    for entry in schema.get("x-kubernetes-validations") or []:
        program, skipped = _compile(entry)
        message = None
        if program is not None and entry.get("messageExpression"):
            message, _ = _compile({"rule": entry["messageExpression"]})
        rule = CelRule(kind, api, path, entry["rule"].strip(), (entry.get("message") or "").strip(), skipped)
        rules.append((rule, program, message))
    props = {}
    for name, sub in (schema.get("properties") or {}).items():
        if (node := _cel_tree(sub, kind, api, f"{path}.{name}" if path else name, bool(sub.get("x-kubernetes-embedded-resource")))) is not None:
            props[name] = node
    items = schema.get("items")
    items_node = _cel_tree(items, kind, api, f"{path}[*]", bool(items.get("x-kubernetes-embedded-resource"))) if isinstance(items, Mapping) else None
    extra = schema.get("additionalProperties")
    values_node = _cel_tree(extra, kind, api, f"{path}{{*}}", bool(extra.get("x-kubernetes-embedded-resource"))) if isinstance(extra, Mapping) else None
    if not (rules or props or items_node or values_node):
        return None
    return _CelNode(rules, props, items_node, values_node, root)


def _walk_rules(node: _CelNode | None) -> Iterator[CelRule]:
    if node is None:
        return
    yield from (rule for rule, _, _ in node.rules)
    for child in (*node.properties.values(), node.items, node.values):
        yield from _walk_rules(child)


def _defaulted(value: Any, schema: Mapping[str, Any]) -> Any:
    """A copy of `value` with the schema's defaults filled in, as the apiserver does before it validates."""
    if isinstance(value, Mapping):
        props = schema.get("properties") or {}
        out = dict(value)
        for name, sub in props.items():
            if name not in out and "default" in sub:
                out[name] = copy.deepcopy(sub["default"])
        extra = schema.get("additionalProperties")
        for name in out:
            sub = props.get(name) or (extra if isinstance(extra, Mapping) else None)
            if sub is not None:
                out[name] = _defaulted(out[name], sub)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [_defaulted(item, schema["items"]) for item in value]
    return value


def _cel_error(exc: Exception) -> str:
    if isinstance(exc, KeyError):  # cel-rust reports a missing field as a Python KeyError
        return f"no such key: {exc.args[0] if exc.args else exc}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _cel_problems(node: _CelNode, value: Any, path: FieldPath) -> Iterator[Problem]:
    """Every rule on every present, non-null value, like the apiserver's CEL validator on create."""
    if value is None:
        return  # the apiserver validates non-null values only
    self_value = value
    if node.resource_root and isinstance(value, Mapping) and isinstance(value.get("metadata"), Mapping):
        self_value = {**value, "metadata": {k: v for k, v in value["metadata"].items() if k in ("name", "generateName")}}
    for rule, program, message in node.rules:
        if not rule.on_create:
            continue
        if program is None:  # never counted as passed: the object is not known to be valid
            yield path, f"CEL rule not evaluated offline ({rule.skipped}): {rule.rule}"
            continue
        try:
            result = program.execute({"self": self_value})
        except Exception as exc:  # noqa: BLE001 - any evaluation error is the apiserver's "evaluating rule" error
            yield path, f"{_cel_error(exc)} evaluating rule: {rule.error_string}"
            continue
        if result is not True:
            yield path, _message_expression(message, self_value) or rule.reported
    if isinstance(value, Mapping):
        for key, sub in value.items():
            child = node.properties.get(key) or node.values
            if child is not None:
                yield from _cel_problems(child, sub, path + (key,))
    elif isinstance(value, list) and node.items is not None:
        for i, item in enumerate(value):
            yield from _cel_problems(node.items, item, path + (i,))


def _message_expression(program: Any, self_value: Any) -> str | None:
    """The evaluated messageExpression; None (use the rule's message) when it fails, as the apiserver falls back."""
    if program is None:
        return None
    try:
        text = program.execute({"self": self_value})
    except Exception:  # noqa: BLE001
        return None
    return text.strip() if isinstance(text, str) and text.strip() and "\n" not in text.strip() else None


# --------------------------------------------------------------------------- CRDs and the catalog


@dataclass(frozen=True, eq=False)  # hashed by identity: one instance per CRD document (cached per file)
class _Crd:
    group: str
    kind: str
    source: Path
    served: Mapping[str, Mapping[str, Any]]  # version name -> the CRD's version entry


@lru_cache(maxsize=None)
def _crds_in_file(path: Path) -> tuple[_Crd, ...]:
    """Every CRD document in one YAML file (other documents, e.g. ConfigMaps, are skipped)."""
    with path.open(encoding="utf-8") as f:
        docs = list(yaml.load_all(f, Loader=_YAML_LOADER))
    crds = []
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc["spec"]
        served = {v["name"]: v for v in spec["versions"] if v.get("served")}
        crds.append(_Crd(spec["group"], spec["names"]["kind"], path, MappingProxyType(served)))
    return tuple(crds)


@lru_cache(maxsize=None)
def _crd_validator(crd: _Crd, version: str) -> Validator:
    """Built on first use, once per (group, version, kind): most loaded versions are never validated against."""
    return _validator(_root_schema(crd.served[version]["schema"]["openAPIV3Schema"]))


@lru_cache(maxsize=None)
def _crd_cel(crd: _Crd, version: str) -> _CelNode | None:
    """The version's CEL rules, compiled once; None when it has none."""
    return _cel_tree(crd.served[version]["schema"]["openAPIV3Schema"], crd.kind, f"{crd.group}/{version}")


@lru_cache(maxsize=None)
def _load(crds_root: Path, subdirs: tuple[str, ...]) -> CrdCatalog:
    files: dict[Path, None] = {}
    for sub in subdirs:
        folder = crds_root / sub
        if not folder.is_dir():
            raise FileNotFoundError(f"no CRD folder {folder}")
        files.update(dict.fromkeys(p.resolve() for p in sorted(folder.rglob("*.yaml"))))
    return CrdCatalog([crd for path in files for crd in _crds_in_file(path)])


class CrdCatalog:
    """Validators for the served versions of a chosen set of CRD folders, plus built-in v1 kinds."""

    def __init__(self, crds: Iterable[_Crd]) -> None:
        by_kind: dict[tuple[str, str], _Crd] = {}
        for crd in crds:
            other = by_kind.setdefault((crd.group, crd.kind), crd)
            if other is not crd:  # e.g. two releases of one provider: which one would the cluster run?
                raise ValueError(f"{crd.kind}.{crd.group} is defined by both {other.source} and {crd.source}")
        self._crds = by_kind
        pairs = {(f"{c.group}/{v}", c.kind): entry for c in by_kind.values() for v, entry in c.served.items()}
        self.served: frozenset[tuple[str, str]] = frozenset(pairs) | frozenset(_BUILTIN_SCHEMAS) | _OPENAPI_KINDS
        """(apiVersion, kind) pairs this catalog validates."""
        self.deprecated: Mapping[tuple[str, str], str] = MappingProxyType(
            {p: e.get("deprecationWarning") or f"{p[0]} {p[1]} is deprecated" for p, e in pairs.items() if e.get("deprecated")}
        )
        """Served but deprecated (apiVersion, kind) -> the CRD's warning; they validate, but apply warns."""

    def cel_rules(self) -> list[CelRule]:
        """Every `x-kubernetes-validations` rule of every served version, with why it is skipped where it is."""
        return [rule for crd in self._crds.values() for version in sorted(crd.served) for rule in _walk_rules(_crd_cel(crd, version))]

    @classmethod
    def load(cls, root: Path | str, subdirs: Iterable[str]) -> CrdCatalog:
        """CRDs from `*.yaml` under each `crds/<subdir>` (recursively); cached per (root, subdirs).

        `root` is the reference folder or its `crds/` folder. Choose the pinned
        release folders explicitly: several releases of one provider coexist.
        """
        return _load(_crds_root(Path(root)).resolve(), tuple(sorted(set(subdirs))))

    def validate(self, obj: Mapping[str, Any]) -> list[str]:
        """Every problem as `Kind/name path: message`; empty when kubectl would accept the object."""
        if not isinstance(obj, Mapping):
            return [f"<not an object>: expected a mapping, got {_json_type(obj)} {_short(obj)}"]
        api, kind, meta = obj.get("apiVersion"), obj.get("kind"), obj.get("metadata")
        name = (meta.get("name") or meta.get("generateName")) if isinstance(meta, Mapping) else None
        if name is None or name == "":
            name = "<unnamed>"
        elif not (isinstance(name, str) and name.isprintable() and " " not in name):
            name = _short(name)
        who = f"{kind or '<no kind>'}/{name}"
        if not (isinstance(api, str) and api and isinstance(kind, str) and kind):
            return [f"{who}: apiVersion and kind must be non-empty strings, got {_short(api)} and {_short(kind)}"]
        problems = _metadata_problems(meta, namespace_kind=(api, kind) == ("v1", "Namespace"))
        body = {k: v for k, v in obj.items() if k not in _ENVELOPE}
        group, _, version = api.rpartition("/")
        crd = self._crds.get((group, kind))
        if crd is not None and version in crd.served:
            problems += _schema_problems(_crd_validator(crd, version), body)
            # The apiserver runs CEL rules on a defaulted object that passed the schema; schema errors block them.
            if not problems and (rules := _crd_cel(crd, version)) is not None:
                schema = crd.served[version]["schema"]["openAPIV3Schema"]
                problems += _cel_problems(rules, _defaulted(obj, schema), ())
        elif crd is not None:
            served = ", ".join(sorted(crd.served)) or "none"
            problems.append(((), f"apiVersion {api} is not served by the {kind} CRD in {crd.source} (served: {served})"))
        elif (api, kind) in _BUILTIN_VALIDATORS:
            found = _schema_problems(_BUILTIN_VALIDATORS[api, kind], body)
            problems += found or _builtin_problems(kind, body)
        elif (api, kind) in _OPENAPI_KINDS:
            found = _schema_problems(_openapi_validator(api, kind), body)
            problems += found or (_deployment_problems(body) if kind == "Deployment" else [])
        else:
            problems.append(((), f"no schema for {api} {kind}: neither a loaded CRD nor a built-in kind"))
        problems.sort(key=lambda p: _render_path(p[0]))
        return [f"{who} {_render_path(path)}: {msg}" if path else f"{who}: {msg}" for path, msg in problems]

    def assert_valid(self, objs: Iterable[Mapping[str, Any]]) -> None:
        """Raise AssertionError listing every problem of every object."""
        objs = list(objs)
        problems = [p for obj in objs for p in self.validate(obj)]
        if problems:
            raise AssertionError(f"{len(problems)} schema problem(s) in {len(objs)} object(s):\n" + "\n".join(problems))
