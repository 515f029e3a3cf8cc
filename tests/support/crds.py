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
Namespace, Secret and ConfigMap have small built-in schemas; any other
(apiVersion, kind) is an error, so nothing passes unvalidated.

Not checked: CEL rules (`x-kubernetes-validations`) are NOT evaluated
(cel-python is not a dependency), nor admission webhooks (e.g. CAPI's
immutability and cross-field checks), nor labels in nested template metadata.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import yaml
from jsonschema import Draft4Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

ENV = "CLUSTERCTL_PY_REFERENCE"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_REFERENCE = REPO.parent / "shared" / "reference"

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


def require_reference(*subdirs: str) -> Path:
    """`reference_dir()`, or skip the calling test when it (or `crds/<subdir>`) is missing."""
    root = reference_dir()
    if root is None:
        where = os.environ.get(ENV) or DEFAULT_REFERENCE
        pytest.skip(f"upstream CRDs unavailable: path {where} not found; set {ENV} to the reference folder that contains crds/")
    crds = _crds_root(root)
    for sub in subdirs:
        if not (crds / sub).is_dir():
            pytest.skip(f"upstream CRDs unavailable: path {crds / sub} not found; set {ENV} to a reference folder with crds/{sub}")
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
    for key, value in (meta.get("labels") or {}).items():
        if msg := _qualified_name_problem(key):
            problems.append((("metadata", "labels", key), f"invalid label {msg}"))
        if len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
            problems.append(
                (("metadata", "labels", key), f"invalid label value {_short(value)} ({len(value)} characters): at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric")
            )
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
        self.served: frozenset[tuple[str, str]] = frozenset(pairs) | frozenset(_BUILTIN_SCHEMAS)
        """(apiVersion, kind) pairs this catalog validates."""
        self.deprecated: Mapping[tuple[str, str], str] = MappingProxyType(
            {p: e.get("deprecationWarning") or f"{p[0]} {p[1]} is deprecated" for p, e in pairs.items() if e.get("deprecated")}
        )
        """Served but deprecated (apiVersion, kind) -> the CRD's warning; they validate, but apply warns."""

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
        elif crd is not None:
            served = ", ".join(sorted(crd.served)) or "none"
            problems.append(((), f"apiVersion {api} is not served by the {kind} CRD in {crd.source} (served: {served})"))
        elif (api, kind) in _BUILTIN_VALIDATORS:
            found = _schema_problems(_BUILTIN_VALIDATORS[api, kind], body)
            problems += found or _builtin_problems(kind, body)
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
